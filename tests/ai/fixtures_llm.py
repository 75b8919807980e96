"""Helpers for the llm node's end-to-end tests: one ``Case`` per provider (its local wire
server from ``tests/fakes``, a ``WorkflowRuntime`` whose secrets hold the server's key, a
spec builder pointing an llm node at the server), and a small JSON echo server the http
node can call as a tool. Test modules wrap ``provider_case`` and ``serve_echo`` in
fixtures of their own (importing fixtures would shadow them in every test signature).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from fakes import AnthropicServer, FakeProviderServer, GeminiServer, OpenAIServer, RecordedRequest
from helpers.tools import Calls

from workflow_compiler.compiler.cache import WorkflowCompiler
from workflow_compiler.nodes.base import ValidationContext
from workflow_compiler.runtime import RunEvent, RunResult, WorkflowRuntime
from workflow_compiler.services import DictResolver, DictSecrets, HttpPolicy, RuntimeServices
from workflow_compiler.tools.registry import Tool

PROVIDERS = ["openai", "anthropic", "gemini"]
#: the providers' API key in these tests: it must never show up in events, outputs or
#: checkpoints
API_KEY = "sk-gw-test-SECRET-key-7f3a9c"
KEY_SECRET = "llm_key"
MODELS = {"openai": "gpt-4o-mini", "anthropic": "claude-haiku-4-5", "gemini": "gemini-2.5-flash"}
SERVERS: dict[str, type[FakeProviderServer]] = {
    "openai": OpenAIServer, "anthropic": AnthropicServer, "gemini": GeminiServer}


@dataclass
class EchoServer:
    """An HTTP endpoint for http nodes used as tools: answers what it was sent, as JSON."""

    requests: list[dict[str, Any]] = field(default_factory=list)
    httpd: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self.httpd is not None
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"


def _echo_handler(owner: EchoServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            """quiet"""

        def _answer(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            parts = urlsplit(self.path)
            seen = {"method": self.command, "path": parts.path,
                    "query": {k: v[0] for k, v in parse_qs(parts.query).items()},
                    "json": json.loads(body) if body else None,
                    "auth": self.headers.get("Authorization")}
            owner.requests.append(seen)
            status = 500 if parts.path.endswith("/broken") else 200
            data = json.dumps({k: v for k, v in seen.items() if k != "auth"}).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = _answer  # noqa: N815  (http.server's method names)

    return Handler


@contextmanager
def serve_echo() -> Iterator[EchoServer]:
    server = EchoServer()
    server.httpd = ThreadingHTTPServer(("127.0.0.1", 0), _echo_handler(server))
    thread = threading.Thread(target=server.httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield server
    server.httpd.shutdown()
    server.httpd.server_close()
    thread.join(5)


def weather(city: str) -> dict[str, Any]:
    if city == "Atlantis":
        raise ValueError("no weather station in Atlantis")
    return {"city": city, "sky": "sunny"}


WEATHER = Tool("weather.now", "Current weather for a city.", weather, args_schema={
    "type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"],
    "additionalProperties": False})


@dataclass
class Case:
    """One provider under test: its local server and a runtime wired to it."""

    name: str
    server: FakeProviderServer
    runtime: WorkflowRuntime
    calls: Calls
    secrets: dict[str, str]

    @property
    def base_url(self) -> str:
        return f"{self.server.url}/v1" if self.name == "openai" else self.server.url

    def llm(self, node_id: str = "agent", **config: Any) -> dict[str, Any]:
        node: dict[str, Any] = {
            "id": node_id, "type": "llm", "provider": self.name, "model": MODELS[self.name],
            "base_url": self.base_url, "prompt": "What is the weather in Paris?",
            "provider_options": {"api_key_secret": KEY_SECRET},
            "retry": {"max_attempts": 3, "initial_interval": 0.01, "jitter": False},
        }
        node.update(config)
        return node

    def spec(self, *nodes: dict[str, Any], edges: list[dict[str, Any]] | None = None,
             outputs: dict[str, Any] | None = None) -> dict[str, Any]:
        return {"spec_version": "1", "name": f"ai-{self.name}", "nodes": list(nodes),
                "edges": edges or [], "outputs": outputs or {"out": "{{ nodes.agent }}"}}

    async def run(self, spec: dict[str, Any], inputs: dict[str, Any] | None = None
                  ) -> tuple[RunResult, list[RunEvent]]:
        events = [e async for e in self.runtime.stream(spec, inputs or {})]
        return await self.runtime.result(events[0].run_id), events

    async def resume(self, run_id: str, response: Any) -> tuple[RunResult, list[RunEvent]]:
        events = [e async for e in self.runtime.stream_resume(run_id, response)]
        return await self.runtime.result(run_id), events

    def offered_tools(self, index: int = 0) -> dict[str, dict[str, Any]]:
        """The tools generation request ``index`` offered: name -> its declaration, with
        the argument schema under ``parameters`` whatever the provider calls it."""
        body = self.generation_requests()[index].json
        if self.name == "openai":
            found = [t["function"] for t in body["tools"]]
        elif self.name == "anthropic":
            found = [{**t, "parameters": t["input_schema"]} for t in body["tools"]]
        else:
            found = [{**d, "parameters": d.get("parametersJsonSchema", d.get("parameters"))}
                     for t in body["tools"] for d in t["functionDeclarations"]]
        return {t["name"]: t for t in found}

    def generation_requests(self) -> list[RecordedRequest]:
        suffix = {"openai": "/chat/completions", "anthropic": "/v1/messages"}.get(self.name)
        return [r for r in self.server.requests
                if (r.path.endswith(suffix) if suffix else "Content" in r.path)]


def make_runtime(calls: Calls, secrets: dict[str, str], checkpointer: Any = None
                 ) -> WorkflowRuntime:
    tools = calls.tools()
    tools.register(WEATHER)
    services = RuntimeServices(tools=tools, resolver=DictResolver(),
                               secrets=DictSecrets(secrets),
                               http=HttpPolicy(allow_hosts=("127.0.0.1",)))
    compiler = WorkflowCompiler(context=ValidationContext(tool_names=tools.names()))
    return WorkflowRuntime(checkpointer=checkpointer, services=services, compiler=compiler)


@contextmanager
def provider_case(name: str) -> Iterator[Case]:
    """A ``Case`` for provider ``name``, its server running for the ``with`` block."""
    secrets = {KEY_SECRET: API_KEY, "http_token": "tok-SECRET-http-42"}
    calls = Calls()
    with SERVERS[name](api_key=API_KEY) as server:
        yield Case(name, server, make_runtime(calls, secrets), calls, secrets)
    assert not server.errors, f"the fake {name} server failed: {server.errors!r}"


def of_type(events: list[RunEvent], kind: str, node_id: str | None = None) -> list[RunEvent]:
    return [e for e in events if e.type == kind and (node_id is None or e.node_id == node_id)]


def dumped(value: Any) -> str:
    return json.dumps(value, default=str)
