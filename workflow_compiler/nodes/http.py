"""``http``: one HTTP request, with the SSRF guard, bounded time and size, parsed response.

The network rules live in ``workflow_compiler.net``; this module turns the node's config
into a request (rendering templates), decides which statuses fail and whether a failure is
worth retrying (and when: a ``Retry-After`` goes into the error in seconds, which the node
runner waits for, as it does for the llm node's rate limits), and shapes the output.
Request headers may hold secrets, so they are never put into an error, an event or the
output.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar
from urllib.parse import quote

from workflow_compiler.compiler.retry_after import retry_after_seconds
from workflow_compiler.errors import NodeExecutionError, SpecIssue
from workflow_compiler.expressions import is_template
from workflow_compiler.net.allowlist import AllowList, parse_entry
from workflow_compiler.net.fetch import (
    DEFAULT_DEADLINE_SECONDS,
    DEFAULT_TIMEOUT_SECONDS,
    FetchedResponse,
    FetchOptions,
    fetch,
)
from workflow_compiler.net.ssrf import SsrfGuard, parse_target
from workflow_compiler.nodes.base import NodeContext, NodeResult, ValidationContext, register
from workflow_compiler.spec.durations import parse_duration
from workflow_compiler.spec.models import HttpNode, NodeBase

ERROR_BODY_CHARS = 1000
RETRYABLE_CLIENT_STATUSES = frozenset({408, 425, 429})
_TOKEN = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")
_JSON_MEDIA = re.compile(r"^application/(?:[\w.+-]+\+)?json$")


def _issue(code: str, message: str, node: HttpNode, path: str, hint: str | None = None
           ) -> SpecIssue:
    return SpecIssue(code, message, path=path, node_id=node.id, hint=hint)


def _pointer_token(name: str) -> str:
    return name.replace("~", "~0").replace("/", "~1")


def _check_url(node: HttpNode, path: str) -> list[SpecIssue]:
    """A static URL must parse; a templated one must at least not start with a bad scheme."""
    url = node.url
    if not is_template(url):
        try:
            parse_target(url)
        except NodeExecutionError as exc:
            return [_issue("invalid_url", exc.message, node, f"{path}/url")]
        return []
    start = min(i for i in (url.find("{{"), url.find("{%")) if i >= 0)
    prefix = url[:start].lower()
    if not prefix or any(scheme.startswith(prefix) or prefix.startswith(scheme)
                         for scheme in ("http://", "https://")):
        return []
    return [_issue("invalid_url", f"URL {url!r} must start with http:// or https://", node,
                   f"{path}/url", hint="e.g. 'https://api.example.com/{{ inputs.path }}'")]


class HttpExecutor:
    type_name: ClassVar[str] = "http"
    config_model: ClassVar[type[NodeBase]] = HttpNode

    def validate(self, node: NodeBase, ctx: ValidationContext, path: str) -> list[SpecIssue]:
        assert isinstance(node, HttpNode)
        issues = _check_url(node, path)
        for index, entry in enumerate(node.allow_hosts):
            try:
                parse_entry(entry)
            except ValueError as exc:
                issues.append(_issue("invalid_allow_host", str(exc), node,
                                     f"{path}/allow_hosts/{index}"))
        for name in node.headers:
            if not _TOKEN.match(name):
                issues.append(_issue("invalid_header", f"{name!r} is not a valid header name",
                                     node, f"{path}/headers/{_pointer_token(name)}"))
        if node.json_body is not None and node.body is not None:
            issues.append(_issue("conflicting_body", "give either 'json' or 'body', not both",
                                 node, f"{path}/body"))
        return issues

    def output_schema(self, node: NodeBase) -> dict[str, Any] | None:
        assert isinstance(node, HttpNode)
        body: dict[str, Any] = {"type": "string"} if node.response == "text" else {}
        return {
            "type": "object",
            "properties": {
                "status": {"type": "integer", "minimum": 100, "maximum": 599},
                "headers": {"type": "object", "additionalProperties": {"type": "string"}},
                "body": body,
                "url": {"type": "string"},
            },
            "required": ["status", "headers", "body", "url"],
            "additionalProperties": False,
        }

    async def execute(self, ctx: NodeContext) -> NodeResult:
        node = ctx.node
        assert isinstance(node, HttpNode)
        return await perform(ctx, node)


@dataclass(frozen=True, slots=True)
class ModelArgs:
    """What a model supplies when it calls an http node as a tool (an ``ai_tool`` edge).

    Used as given, never rendered as templates: a model must not be able to make the node
    evaluate ``{{ secrets.x }}``. The node's own fixed values win over the model's.
    """

    query: Mapping[str, Any] = field(default_factory=dict)
    json: Any = None  # the request body, when the node fixes none
    path: str | None = None  # appended to a URL ending in "/"


async def perform(ctx: NodeContext, node: HttpNode, model: ModelArgs | None = None
                  ) -> NodeResult:
    """The request the node describes (plus what a model supplied), sent and parsed."""
    policy = ctx.services.http
    try:
        # Exemptions from the guard are the operator's alone: a spec (or whoever feeds an
        # API its specs) must not be able to open loopback or the metadata address. The
        # node's own list can only narrow where it may connect.
        allow = AllowList.parse(policy.allow_hosts)
        only = AllowList.parse(node.allow_hosts) if node.allow_hosts else None
    except ValueError as exc:
        raise NodeExecutionError(f"invalid allow_hosts entry: {exc}",
                                 code="invalid_allow_host") from None
    url = ctx.render(node.url)
    if not isinstance(url, str):
        raise NodeExecutionError(f"the URL must render to a string, not {_kind(url)}",
                                 code="invalid_url")
    if model is not None and model.path:
        url = append_path(url.strip(), model.path)
    headers = _render_headers(ctx, node)
    if not any(name.lower() == "user-agent" for name in headers):
        headers["User-Agent"] = policy.user_agent
    content = _render_content(ctx, node, headers)
    query = _render_query(ctx, node)
    if model is not None:
        for name, value in model.query.items():
            if name not in node.query:
                query.extend(_query_pairs(str(name), value))
        if model.json is not None and content is None and node.body is None:
            content = _encode_json(model.json, headers)
    timeout = parse_duration(node.timeout) if node.timeout is not None else None
    options = FetchOptions(
        timeout=timeout or DEFAULT_TIMEOUT_SECONDS,
        # With a node timeout the runtime bounds the whole attempt already.
        deadline=None if timeout else DEFAULT_DEADLINE_SECONDS,
        max_response_bytes=node.max_response_bytes,
        follow_redirects=node.follow_redirects,
        max_redirects=policy.max_redirects,
    )
    response = await fetch(SsrfGuard(allow, only=only), node.method, url.strip(), headers=headers,
                           params=query, content=content,
                           options=options)
    if node.fail_on_status and response.status >= 400:
        raise _status_error(response)
    return NodeResult({
        "status": response.status,
        "headers": response.headers,
        "body": _parse_body(response, node.response),
        "url": response.url,
    })


def _kind(value: object) -> str:
    return "null" if value is None else type(value).__name__


def _render_headers(ctx: NodeContext, node: HttpNode) -> dict[str, str]:
    """Rendered header values; null drops the header. Errors name the header, never the value."""
    headers: dict[str, str] = {}
    for name, template in node.headers.items():
        value = ctx.render(template)
        if value is None:
            continue
        if isinstance(value, dict | list):
            raise NodeExecutionError(f"header {name!r} must render to text, not {_kind(value)}",
                                     code="invalid_header")
        text = value if isinstance(value, str) else json.dumps(value)
        if any(ch in text for ch in "\r\n\0"):
            raise NodeExecutionError(f"header {name!r} contains a line break or NUL",
                                     code="invalid_header")
        headers[name] = text
    return headers


def _render_query(ctx: NodeContext, node: HttpNode) -> list[tuple[str, str]]:
    """Query pairs appended to any the URL already has; lists repeat the key, null skips it."""
    pairs: list[tuple[str, str]] = []
    for name, template in node.query.items():
        pairs.extend(_query_pairs(name, ctx.render(template)))
    return pairs


def _query_pairs(name: str, value: Any) -> list[tuple[str, str]]:
    pairs: list[tuple[str, str]] = []
    for item in value if isinstance(value, list) else [value]:
        if item is None:
            continue
        if isinstance(item, dict | list):
            raise NodeExecutionError(
                f"query parameter {name!r} must be a scalar or a list of scalars",
                code="invalid_query")
        pairs.append((name, item if isinstance(item, str) else json.dumps(item)))
    return pairs


def append_path(url: str, path: str) -> str:
    """``url`` (ending in "/") with a relative ``path`` appended, each segment escaped; a
    path cannot climb out (``..``), change the host or add a query."""
    if not isinstance(path, str):
        raise NodeExecutionError("'path' must be a string", code="invalid_url")
    if not url.endswith("/"):
        raise NodeExecutionError("this node's URL does not end in '/', so it takes no 'path'",
                                 code="invalid_url")
    segments = path.strip().lstrip("/").split("/")
    if any(s in ("..", ".") or "\\" in s for s in segments):
        raise NodeExecutionError(f"path {path!r} may not contain '.' or '..' segments",
                                 code="invalid_url")
    return url + "/".join(quote(s, safe="-._~!$&'()*+,;=:@") for s in segments)


def _render_content(ctx: NodeContext, node: HttpNode, headers: dict[str, str]) -> bytes | None:
    if node.json_body is not None and node.body is not None:
        raise NodeExecutionError("give either 'json' or 'body', not both",
                                 code="conflicting_body")
    if node.json_body is not None:
        return _encode_json(ctx.render(node.json_body), headers)
    if node.body is not None:
        value = ctx.render(node.body)
        if value is None:
            return None
        text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
        return text.encode()
    return None


def _encode_json(value: Any, headers: dict[str, str]) -> bytes:
    try:
        encoded = json.dumps(value, ensure_ascii=False, allow_nan=False,
                             separators=(",", ":")).encode()
    except (TypeError, ValueError) as exc:
        raise NodeExecutionError(f"the JSON body cannot be encoded: {exc}",
                                 code="invalid_body") from None
    if not any(name.lower() == "content-type" for name in headers):
        headers["Content-Type"] = "application/json"
    return encoded


def _parse_body(response: FetchedResponse, mode: str) -> Any:
    media = response.content_type.split(";", 1)[0].strip().lower()
    if mode == "text" or (mode == "auto" and not _JSON_MEDIA.match(media)):
        return response.text()
    if not response.content.strip():
        return None
    try:
        return json.loads(response.content.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        if mode == "auto":
            return response.text()  # mislabelled: the caller still gets the data
        raise NodeExecutionError(
            f"response from {response.url.split('?', 1)[0]} is not valid JSON: {exc}",
            code="invalid_json_response",
            details={"status": response.status, "body": response.text()[:ERROR_BODY_CHARS]},
        ) from None


def _status_error(response: FetchedResponse) -> NodeExecutionError:
    status = response.status
    retryable = status >= 500 or status in RETRYABLE_CLIENT_STATUSES
    where = response.url.split("?", 1)[0]
    details: dict[str, Any] = {"status": status, "body": response.text()[:ERROR_BODY_CHARS],
                               "url": where}
    if "retry-after" in response.headers:
        details["retry_after"] = response.headers["retry-after"]
        seconds = retry_after_seconds(details["retry_after"])
        if seconds is not None:  # the runner waits this long before the retry
            details["retry_after_s"] = seconds
    status_line = f"{status} {response.reason}" if response.reason else str(status)
    return NodeExecutionError(f"HTTP {status_line} from {where}", code="http_status",
                              retryable=retryable, details=details)


register(HttpExecutor())
