"""Spec v1 as Pydantic models: the single source of the JSON Schema and of typed access.

Validation of untrusted specs goes through ``workflow_compiler.validation``, which checks
nodes one by one so that every problem is reported at once with its JSON pointer; these
models are the per-part contracts it applies.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from workflow_compiler.spec.durations import parse_duration

NODE_ID_PATTERN = r"^[a-z][a-z0-9_]*$"
NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$"
MAX_NODE_ID_LENGTH = 64
#: the longest saved-workflow reference (``namespace/name``) and the largest version a
#: subworkflow may name: what the service stores (a namespace of up to 64 characters,
#: "/", a name of up to 128; 32-bit version numbers). Anything past them could never
#: resolve, so the spec refuses it instead of every run failing on it.
MAX_WORKFLOW_REFERENCE_LENGTH = 64 + 1 + 128
MAX_VERSION = 2**31 - 1

Duration = Annotated[
    str | float,
    Field(
        description="ISO-8601 duration ('PT30S', 'PT48H', 'P1D') or a number of seconds",
        examples=["PT30S", 30],
    ),
]


def _check_duration(value: object) -> object:
    if value is not None:
        parse_duration(value)
    return value


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class RetryPolicy(_Strict):
    """Retries for failures an executor marks retryable (timeouts, 5xx, connection errors)."""

    max_attempts: int = Field(3, ge=1, le=100, description="attempts including the first")
    initial_interval: float = Field(0.5, ge=0, le=3600, description="seconds before retry 1")
    backoff: float = Field(2.0, ge=1, le=10, description="multiplier per further retry")
    max_interval: float = Field(60.0, ge=0, le=86400, description="cap on any one wait")
    jitter: bool = True


class NodeBase(_Strict):
    id: str = Field(pattern=NODE_ID_PATTERN, max_length=MAX_NODE_ID_LENGTH)
    name: str | None = Field(None, max_length=200)
    description: str | None = Field(None, max_length=4000)
    retry: RetryPolicy | None = None
    timeout: Duration | None = None
    on_error: Literal["fail", "continue", "route"] = "fail"
    when: str | None = Field(
        None, description="skip the node unless this expression is true; successors still run"
    )
    join: Literal["all", "any"] = Field(
        "all",
        description="with several incoming edges: wait for all paths (default) or fire on the "
        "first live arrival",
    )

    _timeout_ok = field_validator("timeout")(classmethod(lambda cls, v: _check_duration(v)))

    @property
    def type_name(self) -> str:
        return str(getattr(self, "type"))  # noqa: B009  (each subclass declares `type`)


class TransformNode(NodeBase):
    """Builds any JSON value from templates."""

    type: Literal["transform"] = "transform"
    value: Any = Field(description="any JSON value; strings are templates")


class ConditionNode(NodeBase):
    type: Literal["condition"] = "condition"
    if_: str = Field(alias="if", description="expression; its truthiness picks port true/false")


class SwitchNode(NodeBase):
    type: Literal["switch"] = "switch"
    value: str = Field(description="expression whose value is matched against cases")
    cases: list[str | int | float | bool] = Field(min_length=1, max_length=200)
    default: str = Field("default", pattern=NODE_ID_PATTERN, description="the default port's name")


class MapBody(_Strict):
    nodes: list[dict[str, Any]] = Field(min_length=1, description="nodes, as at the top level")
    edges: list[dict[str, Any]] = Field(default_factory=list)
    output: Any = Field(None, description="template for each item's result; default: last node")


class MapNode(NodeBase):
    type: Literal["map"] = "map"
    items: str = Field(description="expression yielding the list to map over")
    body: MapBody
    concurrency: int = Field(4, ge=1, le=1000)
    max_items: int = Field(10000, ge=1, le=100000)


class SubworkflowNode(NodeBase):
    type: Literal["subworkflow"] = "subworkflow"
    workflow: str | None = Field(None, min_length=1, max_length=MAX_WORKFLOW_REFERENCE_LENGTH,
                                 description="a saved workflow: 'name' or 'namespace/name'")
    version: int | None = Field(None, ge=1, le=MAX_VERSION)
    spec: dict[str, Any] | None = Field(None, description="an inline spec")
    inputs: dict[str, Any] = Field(default_factory=dict, description="templated inputs")

    @model_validator(mode="after")
    def _one_source(self) -> SubworkflowNode:
        if (self.workflow is None) == (self.spec is None):
            raise ValueError("give exactly one of 'workflow' (a saved workflow) or 'spec'")
        if self.version is not None and self.workflow is None:
            raise ValueError("'version' applies only with 'workflow'")
        return self


class MemoryConfig(_Strict):
    key: str = Field(description="expression naming the conversation, e.g. '{{ inputs.user }}'")
    window: int = Field(20, ge=1, le=1000, description="messages kept")


class LlmNode(NodeBase):
    type: Literal["llm"] = "llm"
    provider: str = Field(description="openai, anthropic, gemini or fake")
    model: str = Field(min_length=1, max_length=200)
    system_prompt: str | None = None
    prompt: str | None = None
    messages: str | list[dict[str, Any]] | None = Field(
        None, description="chat messages in (a list or an expression yielding one)"
    )
    temperature: float | None = Field(None, ge=0, le=2)
    max_tokens: int | None = Field(None, ge=1, le=1_000_000)
    stop: list[str] | None = None
    output_schema: dict[str, Any] | None = None
    tools: list[str] = Field(default_factory=list)
    memory: MemoryConfig | None = None
    max_iterations: int = Field(10, ge=1, le=100, description="model calls in the tool loop")
    require_approval: list[str] = Field(
        default_factory=list,
        description="tools whose calls pause the run for an approval first",
    )
    approvers: list[str] = Field(
        default_factory=list, description="who may approve those calls; empty: anyone"
    )
    base_url: str | None = Field(
        None, description="an OpenAI-compatible (or proxy) endpoint, e.g. a local vLLM/Ollama"
    )
    provider_options: dict[str, Any] = Field(
        default_factory=dict,
        description="api_key_secret (name of the secret holding the key), "
        "structured_output_method, request_timeout, and provider parameters such as top_p",
    )


class ToolNode(NodeBase):
    type: Literal["tool"] = "tool"
    tool: str = Field(description="registered tool name")
    args: dict[str, Any] = Field(default_factory=dict, description="templated arguments")


class HttpNode(NodeBase):
    type: Literal["http"] = "http"
    method: Literal["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"] = "GET"
    url: str
    headers: dict[str, str] = Field(default_factory=dict)
    query: dict[str, Any] = Field(default_factory=dict)
    json_body: Any = Field(None, alias="json")
    body: str | None = None
    response: Literal["auto", "json", "text"] = "auto"
    fail_on_status: bool = Field(True, description="4xx/5xx fail the node (5xx is retryable)")
    allow_hosts: list[str] = Field(
        default_factory=list,
        description="the only hosts this node may reach (names, '*.suffix' wildcards, IP "
        "addresses or CIDR blocks), on every redirect hop too; empty: any host the SSRF "
        "guard allows. It narrows and never exempts: loopback, private, link-local and "
        "cloud metadata addresses stay refused unless the operator allows them "
        "(GRAPHWRIGHT_HTTP_ALLOW_HOSTS)",
        examples=[["api.example.com", "*.corp.example.com"]],
    )
    max_response_bytes: int = Field(10_000_000, ge=1, le=100_000_000)
    follow_redirects: bool = False


class NotifyChannel(_Strict):
    """Where to tell people that an approval waits for them.

    Spec version 1 fixes the shape and checks it; delivery is the worker's job and is not
    done yet (the channels travel in the pause's payload, so ``run.paused`` shows them to a
    deliverer). Values are taken as written, not as templates.
    """

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"allOf": [
            {"if": {"properties": {"channel": {"const": "webhook"}}},
             "then": {"required": ["url"],
                      "not": {"anyOf": [{"required": ["to"]}, {"required": ["subject"]}]}}},
            {"if": {"properties": {"channel": {"const": "email"}}},
             "then": {"required": ["to"], "not": {"required": ["url"]}}},
        ]},
    )

    channel: Literal["webhook", "email"] = Field(
        description="webhook: an HTTP POST of the pause to 'url'; email: a message to 'to'")
    url: str | None = Field(None, max_length=2048,
                            description="webhook only: an http(s) URL (delivered through "
                            "the SSRF guard)")
    to: list[str] | None = Field(None, min_length=1, max_length=50,
                                 description="email only: the recipients' addresses")
    subject: str | None = Field(None, max_length=200,
                                description="email only: the subject line")


class ApprovalNode(NodeBase):
    type: Literal["approval"] = "approval"
    question: str
    options: list[str] = Field(default_factory=list, description="custom options, each a port")
    approvers: list[str] = Field(default_factory=list, description="empty: anyone may answer")
    min_approvals: int = Field(1, ge=1, le=100, description="approvals that approve")
    max_rejections: int = Field(
        1, ge=1, le=100, description="rejections that reject; with named approvers and no "
        "timeout, min_approvals + max_rejections must be at most len(approvers) + 1, or a "
        "split vote could leave the node undecided forever")
    on_timeout: Literal["approve", "reject", "fail", "route"] = Field(
        "reject", description="what the node's 'timeout' decides; 'route' takes the timeout "
        "port, which then needs an edge")
    notify: list[NotifyChannel] = Field(
        default_factory=list, max_length=20,
        description="channels to tell the approvers (delivery: not done yet, see "
        "NotifyChannel)")

    @field_validator("options")
    @classmethod
    def _options_are_ports(cls, value: list[str]) -> list[str]:
        import re

        for option in value:
            if not re.match(NODE_ID_PATTERN, option):
                raise ValueError(f"option {option!r} must match {NODE_ID_PATTERN} (it is a port)")
            if option in {"approved", "rejected", "timeout", "approve", "reject", "error"}:
                raise ValueError(f"option {option!r} is reserved")
        if len(set(value)) != len(value):
            raise ValueError("options must be unique")
        return value


class InputNode(NodeBase):
    type: Literal["input"] = "input"
    prompt: str | None = None
    schema_: dict[str, Any] = Field(
        default_factory=lambda: {"type": "object"}, alias="schema",
        description="JSON Schema the response must satisfy",
    )


class WaitNode(NodeBase):
    type: Literal["wait"] = "wait"
    duration: Duration | None = None
    until: str | None = Field(None, description="ISO-8601 timestamp or an expression")
    cron: str | None = Field(None, description="five-field cron; waits for the next match (UTC)")

    _duration_ok = field_validator("duration")(classmethod(lambda cls, v: _check_duration(v)))

    @model_validator(mode="after")
    def _one_of(self) -> WaitNode:
        given = [k for k in ("duration", "until", "cron") if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError("give exactly one of 'duration', 'until' or 'cron'")
        return self


class SignalNode(NodeBase):
    type: Literal["signal"] = "signal"
    signal: str = Field(pattern=NAME_PATTERN, max_length=100, description="the signal's name")


AnyNode = Annotated[
    TransformNode | ConditionNode | SwitchNode | MapNode | SubworkflowNode | LlmNode | ToolNode
    | HttpNode | ApprovalNode | InputNode | WaitNode | SignalNode,
    Field(discriminator="type"),
]

NODE_MODELS: dict[str, type[NodeBase]] = {
    "transform": TransformNode,
    "condition": ConditionNode,
    "switch": SwitchNode,
    "map": MapNode,
    "subworkflow": SubworkflowNode,
    "llm": LlmNode,
    "tool": ToolNode,
    "http": HttpNode,
    "approval": ApprovalNode,
    "input": InputNode,
    "wait": WaitNode,
    "signal": SignalNode,
}


class Edge(_Strict):
    from_: str = Field(alias="from")
    to: str
    port: str = "out"
    kind: Literal["main", "ai_tool", "ai_memory"] = "main"


class Limits(_Strict):
    max_steps: int = Field(1000, ge=1, le=1_000_000)
    timeout: Duration | None = None

    _timeout_ok = field_validator("timeout")(classmethod(lambda cls, v: _check_duration(v)))


class WorkflowSpec(_Strict):
    spec_version: Literal["1"] = "1"
    name: str = Field(pattern=NAME_PATTERN, max_length=200)
    description: str | None = Field(None, max_length=10000)
    inputs: dict[str, Any] = Field(
        default_factory=lambda: {"type": "object"},
        description='JSON Schema of the inputs. A property declared "format": "file" (type '
        '"string" or none; or a list of them: "items": {"format": "file"}) is a file input: '
        "the caller gives a file reference (an uploaded file's id, @PATH on the CLI) and the "
        "run sees the file's descriptor: id, name, content_type, size, sha256, path",
    )
    nodes: list[AnyNode] = Field(min_length=1)
    edges: list[Edge] = Field(default_factory=list)
    outputs: dict[str, Any] = Field(default_factory=dict, description="templated outputs")
    limits: Limits = Field(default_factory=Limits)
    metadata: dict[str, Any] = Field(default_factory=dict)

    def node(self, node_id: str) -> NodeBase:
        for node in self.nodes:
            if node.id == node_id:
                return node
        raise KeyError(node_id)


def spec_json_schema() -> dict[str, Any]:
    """The JSON Schema of spec v1, as served by the API and ``graphwright schema``."""
    schema = WorkflowSpec.model_json_schema(by_alias=True)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = "https://graphwright.dev/schema/spec-v1.json"
    # Map bodies and inline subworkflows are typed as plain objects in the models (the
    # validator checks them recursively, with exact paths); give editors the real shapes.
    defs = schema.get("$defs", {})
    node_union = schema["properties"]["nodes"]["items"]
    if "MapBody" in defs:
        defs["MapBody"]["properties"]["nodes"]["items"] = node_union
        defs["MapBody"]["properties"]["edges"]["items"] = {"$ref": "#/$defs/Edge"}
    if "SubworkflowNode" in defs:
        defs["SubworkflowNode"]["properties"]["spec"] = {
            "anyOf": [{"$ref": "#"}, {"type": "null"}], "default": None,
            "description": "an inline spec",
        }
    return schema
