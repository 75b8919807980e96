"""``llm``: a chat-model call through a registered provider.

This issue ships the deterministic ``fake`` provider only; real providers, tools and memory
arrive with the AI-agent issue and plug into the same provider registry.
"""

from __future__ import annotations

from typing import Any, ClassVar

from workflow_compiler.errors import NodeExecutionError, SpecIssue
from workflow_compiler.nodes._common import check_json_schema, validation_errors
from workflow_compiler.nodes.base import NodeContext, NodeResult, ValidationContext, register
from workflow_compiler.providers.base import ChatRequest, get_provider, provider_names
from workflow_compiler.spec.models import LlmNode, NodeBase

TEXT_OUTPUT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"text": {"type": "string"}, "messages": {"type": "array"}},
    "additionalProperties": False,
}


class LlmExecutor:
    type_name: ClassVar[str] = "llm"
    config_model: ClassVar[type[NodeBase]] = LlmNode

    def validate(self, node: NodeBase, ctx: ValidationContext, path: str) -> list[SpecIssue]:
        assert isinstance(node, LlmNode)
        issues: list[SpecIssue] = []
        known = ctx.provider_names or provider_names()
        if node.provider not in known:
            issues.append(SpecIssue(
                "unknown_provider",
                f"provider {node.provider!r} is not available (available: "
                f"{', '.join(sorted(known))})",
                path=f"{path}/provider", node_id=node.id,
            ))
        if node.output_schema is not None:
            issues += check_json_schema(node.output_schema, node_id=node.id,
                                        path=f"{path}/output_schema")
        if node.prompt is None and node.messages is None:
            issues.append(SpecIssue("missing_field", "an llm node needs 'prompt' or 'messages'",
                                    path=f"{path}/prompt", node_id=node.id))
        if node.tools or node.memory is not None:
            issues.append(SpecIssue(
                "unsupported_feature",
                "llm tools and memory are not available yet in this version",
                path=f"{path}/{'tools' if node.tools else 'memory'}", node_id=node.id,
            ))
        return issues

    def output_schema(self, node: NodeBase) -> dict[str, Any] | None:
        assert isinstance(node, LlmNode)
        return node.output_schema if node.output_schema is not None else TEXT_OUTPUT_SCHEMA

    async def execute(self, ctx: NodeContext) -> NodeResult:
        node = ctx.node
        assert isinstance(node, LlmNode)
        provider = get_provider(node.provider)
        if provider is None:
            raise NodeExecutionError(f"provider {node.provider!r} is not available",
                                     code="unknown_provider")
        messages: list[dict[str, Any]] = []
        if node.system_prompt:
            messages.append({"role": "system", "content": str(ctx.render(node.system_prompt))})
        if node.messages is not None:
            given = ctx.render(node.messages)
            if not isinstance(given, list):
                raise NodeExecutionError("'messages' must evaluate to a list of messages",
                                         code="invalid_messages")
            messages.extend(m for m in given if isinstance(m, dict))
        if node.prompt:
            messages.append({"role": "user", "content": str(ctx.render(node.prompt))})
        request = ChatRequest(
            model=node.model, messages=messages, temperature=node.temperature,
            max_tokens=node.max_tokens, stop=node.stop, output_schema=node.output_schema,
            options={**node.provider_options, "_call": ctx.visit - 1 + ctx.attempt - 1},
        )
        response = await provider.chat(
            request, lambda text: ctx.emit("llm.token", {"text": text})
        )
        if node.output_schema is not None:
            errors = validation_errors(node.output_schema, response.structured)
            if errors:
                raise NodeExecutionError(
                    "the model's structured output does not match output_schema: "
                    + "; ".join(errors), code="invalid_model_output",
                )
            return NodeResult(response.structured, usage=response.usage)
        reply = {"role": "assistant", "content": response.text}
        return NodeResult({"text": response.text, "messages": [*messages, reply]},
                          usage=response.usage)


register(LlmExecutor())
