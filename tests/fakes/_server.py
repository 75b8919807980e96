"""A small threaded HTTP/1.1 server on 127.0.0.1 that the provider fakes build on.

Every response carries ``Connection: close``: SDK clients cached across tests (LangChain
keeps one httpx client per base URL for the whole process) then never hold a pooled
connection bound to a finished event loop, and ``close()`` has no idle keep-alive
connections to wait for. SSE bodies use chunked transfer encoding, one chunk per event.
"""

from __future__ import annotations

import contextlib
import json
import socket
import sys
import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self
from urllib.parse import parse_qs, urlsplit

from .script import ScriptedModel, Turn

__all__ = ["FakeProviderServer", "RecordedRequest", "Response", "SSEStream"]

_QUIET_ERRORS = (ConnectionError, TimeoutError)


@dataclass
class RecordedRequest:
    """One request as the server received it."""

    method: str
    path: str
    query: dict[str, list[str]]
    #: Header names lower-cased.
    headers: dict[str, str]
    body: bytes
    #: The parsed JSON body, or None when the body is empty or not JSON.
    json: Any = None
    #: Path parameters the provider router extracted (e.g. Gemini's model and method).
    params: dict[str, str] = field(default_factory=dict)
    #: ``time.monotonic()`` when the request was read (how long a client waited between two)
    received_at: float = field(default_factory=time.monotonic)

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())


class SSEStream:
    """Writes Server-Sent Events as HTTP chunks."""

    def __init__(self, handler: BaseHTTPRequestHandler, owner: FakeProviderServer) -> None:
        self._handler = handler
        self._owner = owner
        self._closed = False

    def send(self, data: Any, *, event: str | None = None, sep: str = "\n") -> None:
        """One event; ``data`` is JSON-encoded unless it is already a string."""
        if self._owner.chunk_delay and self._owner.sleep(self._owner.chunk_delay):
            raise ConnectionAbortedError("server closing")
        payload = data if isinstance(data, str) else json.dumps(data, separators=(",", ":"))
        lines = [f"event: {event}"] if event is not None else []
        lines.append(f"data: {payload}")
        self._write_chunk((sep.join(lines) + sep + sep).encode())

    def _write_chunk(self, data: bytes) -> None:
        self._handler.wfile.write(b"%X\r\n%s\r\n" % (len(data), data))

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._handler.wfile.write(b"0\r\n\r\n")


class Response:
    """How a provider handler answers: once, as JSON or as an SSE stream."""

    def __init__(self, handler: BaseHTTPRequestHandler, owner: FakeProviderServer) -> None:
        self._handler = handler
        self._owner = owner
        self.started = False

    def _start(self, status: int, content_type: str,
               headers: Mapping[str, str] | None, extra: Iterable[tuple[str, str]]) -> None:
        if self.started:
            raise RuntimeError("response already started")
        self.started = True
        h = self._handler
        h.send_response(status)
        h.send_header("Content-Type", content_type)
        h.send_header("Connection", "close")
        for name, value in extra:
            h.send_header(name, value)
        for name, value in (headers or {}).items():
            h.send_header(name, value)
        h.end_headers()

    def json(self, status: int, payload: Any, headers: Mapping[str, str] | None = None) -> None:
        data = json.dumps(payload).encode()
        self._start(status, "application/json", headers, [("Content-Length", str(len(data)))])
        self._handler.wfile.write(data)

    def sse(self, headers: Mapping[str, str] | None = None) -> SSEStream:
        self._start(200, "text/event-stream", headers,
                    [("Transfer-Encoding", "chunked"), ("Cache-Control", "no-cache")])
        return SSEStream(self._handler, self._owner)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _HTTPServer
    #: Socket timeout: a client that connects and never sends cannot pin a thread.
    timeout = 30

    def log_message(self, format: str, *args: Any) -> None:
        """Silence the per-request stderr log."""

    def do_GET(self) -> None:
        self._dispatch()

    def do_POST(self) -> None:
        self._dispatch()

    def do_DELETE(self) -> None:
        self._dispatch()

    def _dispatch(self) -> None:
        self.close_connection = True
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        url = urlsplit(self.path)
        try:
            parsed: Any = json.loads(body) if body else None
        except ValueError:
            parsed = None
        request = RecordedRequest(
            method=self.command,
            path=url.path,
            query=parse_qs(url.query),
            headers={k.lower(): v for k, v in self.headers.items()},
            body=body,
            json=parsed,
        )
        self.server.owner._serve(request, Response(self, self.server.owner))


class _HTTPServer(ThreadingHTTPServer):
    """One named thread per connection; ``close_all`` ends and joins them."""

    def __init__(self, owner: FakeProviderServer, address: tuple[str, int]) -> None:
        self.owner = owner
        self._connections: set[socket.socket] = set()
        self._handler_threads: list[threading.Thread] = []
        self._connections_lock = threading.Lock()
        super().__init__(address, _Handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        thread = threading.Thread(target=self.process_request_thread,
                                  args=(request, client_address),
                                  name=f"{self.owner.thread_prefix}connection", daemon=True)
        with self._connections_lock:
            self._connections.add(request)
            self._handler_threads = [t for t in self._handler_threads if t.is_alive()]
            self._handler_threads.append(thread)
        thread.start()

    def shutdown_request(self, request: Any) -> None:
        with self._connections_lock:
            self._connections.discard(request)
        super().shutdown_request(request)

    def close_all(self, timeout: float) -> None:
        """Unblock every open connection, then join the handler threads."""
        with self._connections_lock:
            connections = list(self._connections)
            threads = list(self._handler_threads)
        for conn in connections:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
        for thread in threads:
            thread.join(timeout)

    def handle_error(self, request: Any, client_address: Any) -> None:
        exc = sys.exc_info()[1]
        if exc is not None and not isinstance(exc, _QUIET_ERRORS):
            self.owner.errors.append(exc)


class FakeProviderServer:
    """Base class: lifecycle, recording and scripting. Subclasses implement ``dispatch``.

    Use as a context manager (or ``start()``/``close()``)::

        with OpenAIServer(api_key="sk-test") as server:
            server.script(text("hi"))
            ...
            assert server.requests[-1].json["messages"][-1]["content"] == "hello"
    """

    provider = "fake"

    def __init__(self, *, api_key: str = "test-key", model: ScriptedModel | None = None) -> None:
        self.api_key = api_key
        self.model = model if model is not None else ScriptedModel()
        self.requests: list[RecordedRequest] = []
        #: Exceptions raised inside the fake itself (a bug in the fake, not a scripted
        #: failure). Fixtures assert this stays empty.
        self.errors: list[BaseException] = []
        #: Seconds to wait between SSE events (to test cancellation mid-stream).
        self.chunk_delay = 0.0
        self._lock = threading.Lock()
        self._closing = threading.Event()
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle -------------------------------------------------------------------

    def start(self) -> Self:
        if self._httpd is not None:
            raise RuntimeError("already started")
        self._closing.clear()
        self._httpd = _HTTPServer(self, ("127.0.0.1", 0))
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05},
            name=f"{self.thread_prefix}server", daemon=True)
        self._thread.start()
        return self

    def close(self) -> None:
        httpd, thread = self._httpd, self._thread
        if httpd is None or thread is None:
            return
        self._closing.set()  # wakes handlers sleeping in a scripted delay
        httpd.shutdown()  # stops accepting; returns once serve_forever has exited
        thread.join(timeout=5)
        httpd.close_all(timeout=5)
        httpd.server_close()
        self._httpd = self._thread = None

    def threads(self) -> list[threading.Thread]:
        """This server's live threads (empty after ``close()``)."""
        return [t for t in threading.enumerate()
                if t.name.startswith(self.thread_prefix) and t.is_alive()]

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def thread_prefix(self) -> str:
        return f"fake-{self.provider}-{id(self):x}-"

    @property
    def port(self) -> int:
        if self._httpd is None:
            raise RuntimeError("server not started")
        return int(self._httpd.server_address[1])

    @property
    def url(self) -> str:
        """``http://127.0.0.1:PORT`` with no trailing slash."""
        return f"http://127.0.0.1:{self.port}"

    # -- scripting and inspection ------------------------------------------------------

    def script(self, *turns: Turn) -> None:
        self.model.script(*turns)

    def reset(self) -> None:
        self.model.clear()
        with self._lock:
            self.requests.clear()
        self.errors.clear()

    @property
    def last_request(self) -> RecordedRequest:
        if not self.requests:
            raise AssertionError(f"the fake {self.provider} server received no request")
        return self.requests[-1]

    def bodies(self, path_suffix: str = "") -> list[Any]:
        """JSON bodies of the recorded requests whose path ends with ``path_suffix``."""
        return [r.json for r in self.requests if r.path.endswith(path_suffix)]

    def sleep(self, seconds: float) -> bool:
        """Sleep; True if the server started closing meanwhile (abandon the answer)."""
        return self._closing.wait(seconds)

    # -- request handling ----------------------------------------------------------------

    def _serve(self, request: RecordedRequest, response: Response) -> None:
        with self._lock:
            self.requests.append(request)
        try:
            self.dispatch(request, response)
        except _QUIET_ERRORS:
            pass  # the client went away (e.g. it timed out): nothing to answer
        except Exception as exc:
            self.errors.append(exc)
            if not response.started:
                response.json(500, {"error": {"message": f"fake server bug: {exc!r}"}})

    def dispatch(self, request: RecordedRequest, response: Response) -> None:
        raise NotImplementedError

    def take_turn(self, last_user_text: str) -> Turn | None:
        """The next turn, after its scripted delay; None if the server closed meanwhile."""
        turn = self.model.next_turn(last_user_text)
        if turn.delay and self.sleep(turn.delay):
            return None
        return turn
