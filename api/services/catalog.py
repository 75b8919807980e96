"""What a spec author can use: node types (config schemas and ports), tools, models, and
the spec's own JSON Schema. Everything is read from the compiler's registries, so the
catalog cannot drift from what validation accepts. Node schemas are static and computed
once per process; tools come from the runtime serving the request (a service may
register its own)."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from pydantic import BaseModel, Field

from workflow_compiler.graph.ports import (
    AI_TOOL_SOURCES,
    BRANCHING_TYPES,
    INTERRUPT_TYPES,
    node_ports,
)
from workflow_compiler.nodes.base import registered_types
from workflow_compiler.providers.catalog import list_models
from workflow_compiler.runtime.runtime import WorkflowRuntime
from workflow_compiler.spec.models import spec_json_schema

_DESCRIPTIONS = {
    "transform": "builds any JSON value from templates",
    "condition": "routes on the 'if' expression: port true or false",
    "switch": "matches the 'value' expression against 'cases'",
    "map": "runs an inline body per item of 'items' in parallel (concurrency-limited); "
           "the output is the list of body outputs in item order",
    "subworkflow": "runs a saved workflow (by name, optional version) or an inline spec",
    "llm": "a provider-based agent: prompt, optional structured output, tools and memory",
    "tool": "calls a registered tool with templated args",
    "http": "an HTTP request with timeout, retries, response parsing and an SSRF guard",
    "approval": "pauses until approvers decide (thresholds, timeout, custom options)",
    "input": "pauses for data validated against 'schema'",
    "wait": "a durable timer: duration, until, or cron",
    "signal": "waits for a named external signal, with a timeout",
}

#: ports that depend on the node's configuration, explained for editors
_DYNAMIC_PORTS = {
    "switch": "one port per entry of 'cases' (its value as text), plus 'default' (or the "
              "name given in 'default')",
    "approval": "one more port per entry of 'options'",
}
_ERROR_PORT = "every type gains an 'error' port with on_error: route"


class NodeTypeInfo(BaseModel):
    type: str
    description: str
    ports: list[str] = Field(description="the ports every node of this type has")
    dynamic_ports: str | None = Field(
        default=None, description="how configuration adds ports, when it does")
    error_port: str = _ERROR_PORT
    pauses: bool = Field(description="lowers to interrupt(): the run pauses here")
    branching: bool = Field(description="its port depends on a decision (a loop may exit "
                                        "through it)")
    ai_tool_source: bool = Field(description="may be the source of an ai_tool edge")
    config_schema: dict[str, Any] = Field(description="JSON Schema of the node's config")


class NodeTypeList(BaseModel):
    items: list[NodeTypeInfo]


class ToolInfo(BaseModel):
    name: str
    description: str
    args_schema: dict[str, Any]
    output_schema: dict[str, Any] | None = None


class ToolList(BaseModel):
    items: list[ToolInfo]


class ModelInfo(BaseModel):
    name: str
    provider: str
    context_window: int = Field(description="tokens, input and output together")
    max_output_tokens: int | None
    tools: bool = Field(description="supports tool calling")
    structured_output: bool
    native_structured_output: bool = Field(
        description="the provider constrains decoding to a JSON Schema")
    description: str = ""


class ModelList(BaseModel):
    items: list[ModelInfo]


@lru_cache(maxsize=1)
def node_types() -> NodeTypeList:
    items = []
    for type_name, executor in sorted(registered_types().items()):
        model = executor.config_model
        items.append(NodeTypeInfo(
            type=type_name,
            description=_DESCRIPTIONS.get(type_name) or (model.__doc__ or "").strip(),
            ports=node_ports({"type": type_name}),
            dynamic_ports=_DYNAMIC_PORTS.get(type_name),
            pauses=type_name in INTERRUPT_TYPES, branching=type_name in BRANCHING_TYPES,
            ai_tool_source=type_name in AI_TOOL_SOURCES,
            config_schema=model.model_json_schema(by_alias=True)))
    return NodeTypeList(items=items)


def tools(runtime: WorkflowRuntime) -> ToolList:
    return ToolList(items=[ToolInfo.model_validate(t) for t in runtime.services.tools.describe()])


def models(provider: str | None) -> ModelList:
    return ModelList(items=[ModelInfo.model_validate(m) for m in list_models(provider)])


@lru_cache(maxsize=1)
def spec_schema() -> dict[str, Any]:
    return spec_json_schema()
