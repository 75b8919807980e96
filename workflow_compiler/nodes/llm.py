"""``llm``: a chat model through a provider (``openai``, ``anthropic``, ``gemini``, ``fake``),
with tools, structured output, token streaming and conversation memory.

The machinery lives in ``workflow_compiler.llm``; this module checks the node statically
and puts one execution together: settings and key, the messages (memory first), the tools,
then the agent loop and, with ``output_schema``, the structured answer.

Output: with ``output_schema`` the validated object; otherwise ``{"text", "messages"}``,
where ``messages`` is the conversation in and out as ``{role, content, tool_calls?}``
dicts. ``NodeResult.usage`` sums the tokens of every model call of the execution; a
failed execution carries the same count in its error (``AgentRun.charge``), so the tokens
of a node that fails are reported and counted too.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage

from workflow_compiler.errors import NodeExecutionError, SpecIssue
from workflow_compiler.nodes._common import check_json_schema
from workflow_compiler.nodes.base import NodeContext, NodeResult, ValidationContext, register
from workflow_compiler.spec.models import LlmNode, NodeBase

if TYPE_CHECKING:  # the llm machinery (LangChain) loads on first execution, not validation
    from workflow_compiler.llm.agent import AgentRun
    from workflow_compiler.providers.base import ModelSettings

TEXT_OUTPUT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"text": {"type": "string"}, "messages": {"type": "array"}},
    "additionalProperties": False,
}
#: appended when tools ran and a structured answer is wanted
FINAL_ANSWER_PROMPT = "Now give your final answer in the required structured format."


class LlmExecutor:
    type_name: ClassVar[str] = "llm"
    config_model: ClassVar[type[NodeBase]] = LlmNode
    #: the node's timeout is kept inside each model and tool call (``Steps``), so a
    #: timed-out attempt reports its tokens and a resumed one replays in order
    keeps_deadline: ClassVar[bool] = True

    def validate(self, node: NodeBase, ctx: ValidationContext, path: str) -> list[SpecIssue]:
        from workflow_compiler.llm.tool_adapters import exposed_name
        from workflow_compiler.providers import get_provider, provider_names
        from workflow_compiler.providers.base import NODE_OPTIONS, STRUCTURED_METHODS

        assert isinstance(node, LlmNode)
        issues: list[SpecIssue] = []
        known = ctx.provider_names or provider_names()
        provider = get_provider(node.provider)
        if node.provider not in known:
            issues.append(SpecIssue(
                "unknown_provider",
                f"provider {node.provider!r} is not available (available: "
                f"{', '.join(sorted(known))})",
                path=f"{path}/provider", node_id=node.id,
            ))
        elif provider is not None and provider.strict_options:
            allowed = NODE_OPTIONS | provider.options
            issues.extend(SpecIssue(
                "unknown_provider_option", f"provider {node.provider!r} takes no option {key!r}",
                path=f"{path}/provider_options/{key.replace('~', '~0').replace('/', '~1')}",
                node_id=node.id,
                hint="options: " + ", ".join(sorted(allowed)),
            ) for key in node.provider_options if key not in allowed)
        method = node.provider_options.get("structured_output_method")
        if method is not None and method not in STRUCTURED_METHODS:
            issues.append(SpecIssue(
                "invalid_value", f"structured_output_method must be one of "
                f"{', '.join(STRUCTURED_METHODS)}",
                path=f"{path}/provider_options/structured_output_method", node_id=node.id))
        secret = node.provider_options.get("api_key_secret")
        if secret is not None and (not isinstance(secret, str) or not secret.strip()
                                   or "{{" in secret):
            issues.append(SpecIssue(
                "invalid_value", "api_key_secret is the name of a secret (not a template)",
                path=f"{path}/provider_options/api_key_secret", node_id=node.id,
                hint='e.g. "api_key_secret": "openai_key"'))
        if node.output_schema is not None:
            issues += check_json_schema(node.output_schema, node_id=node.id,
                                        path=f"{path}/output_schema")
        if node.prompt is None and node.messages is None:
            issues.append(SpecIssue("missing_field", "an llm node needs 'prompt' or 'messages'",
                                    path=f"{path}/prompt", node_id=node.id))
        exposed: dict[str, int] = {}
        for index, name in enumerate(node.tools):
            if ctx.tool_names and name not in ctx.tool_names:
                issues.append(SpecIssue(
                    "unknown_tool", f"no tool named {name!r} is registered",
                    path=f"{path}/tools/{index}", node_id=node.id,
                    hint="registered tools: " + ", ".join(sorted(ctx.tool_names))))
            first = exposed.setdefault(exposed_name(name), index)
            if first != index:
                issues.append(SpecIssue(
                    "duplicate_tool_name",
                    f"tools {node.tools[first]!r} and {name!r} would both reach the model as "
                    f"{exposed_name(name)!r}", path=f"{path}/tools/{index}", node_id=node.id))
        return issues

    def output_schema(self, node: NodeBase) -> dict[str, Any] | None:
        assert isinstance(node, LlmNode)
        return node.output_schema if node.output_schema is not None else TEXT_OUTPUT_SCHEMA

    async def execute(self, ctx: NodeContext) -> NodeResult:
        from workflow_compiler.llm.agent import AgentRun
        from workflow_compiler.llm.memory import has_memory, load_memory, save_memory
        from workflow_compiler.llm.messages import build_input, to_dict
        from workflow_compiler.llm.settings import model_settings
        from workflow_compiler.llm.steps import Steps, task_memo
        from workflow_compiler.llm.tool_adapters import build_tools
        from workflow_compiler.providers import get_provider
        from workflow_compiler.providers.model_cache import shared_model

        node = ctx.node
        assert isinstance(node, LlmNode)
        provider = get_provider(node.provider)
        if provider is None:
            raise NodeExecutionError(f"provider {node.provider!r} is not available",
                                     code="unknown_provider")
        settings = model_settings(ctx, node, provider)
        system, turn = build_input(ctx, node)
        remember = has_memory(ctx, node)
        history = await load_memory(ctx, node) if remember else []
        tools = await build_tools(ctx, node)
        may_pause = bool(node.require_approval) or any(t.can_pause for t in tools.values())
        try:
            model, shared = shared_model(provider, settings)
        except Exception as exc:  # a bad option, say; never shows the key
            from workflow_compiler.llm.errors import model_error

            raise NodeExecutionError(
                f"could not set up the {provider.label} model: "
                f"{model_error(exc, provider, secrets=_keys(settings.api_key)).message}",
                code="llm_invalid_config") from None
        steps = Steps(durable=may_pause and _in_graph(), attempt=ctx.attempt,
                      deadline=ctx.deadline, on_deadline=lambda: _timed_out(node),
                      memo=task_memo(ctx.config.get("runtime")))
        run = AgentRun(ctx=ctx, node=node, provider=provider, model=model,
                       tools=tools, steps=steps,
                       messages=[*system, *history, *turn],
                       secrets=_keys(settings.api_key))
        first_new = len(system) + len(history)
        try:
            await steps.begin()
            if node.output_schema is not None:
                output = await self._structured(run, settings)
            else:
                final = await run.loop()
                output = {"text": final.text, "messages": [to_dict(m) for m in run.messages]}
        except NodeExecutionError as exc:
            run.charge(exc)
            raise
        finally:
            if not shared:
                await provider.close(model)
        if remember:
            await save_memory(ctx, node, run.messages[first_new:])
        return NodeResult(output, usage=run.usage.as_dict())

    @staticmethod
    async def _structured(run: AgentRun, settings: ModelSettings) -> Any:
        from workflow_compiler.llm.settings import structured_method
        from workflow_compiler.llm.structured import structured_answer, structured_runnable

        node = run.node
        assert node.output_schema is not None
        messages: list[BaseMessage] = run.messages
        if run.tools:  # the tool loop first, then the answer in the schema's shape
            await run.loop()
            messages = [*messages, HumanMessage(FINAL_ANSWER_PROMPT)]
        method = structured_method(node, run.provider, settings)
        runnable = structured_runnable(run.model, node.output_schema, method)
        parsed, replies = await structured_answer(run.structured_call, runnable, messages,
                                                  node.output_schema, method)
        # the conversation to remember ends with the answer as the model gave it
        run.messages.append(AIMessage(content=_json(parsed),
                                      response_metadata=replies[-1].response_metadata))
        return parsed


def _json(value: Any) -> str:
    import json

    return json.dumps(value, ensure_ascii=False)


def _timed_out(node: LlmNode) -> NodeExecutionError:
    from workflow_compiler.errors import NodeTimeoutError
    from workflow_compiler.spec.durations import parse_duration

    return NodeTimeoutError(node.id, parse_duration(node.timeout) if node.timeout else 0.0)


def _keys(key: str | None) -> tuple[str, ...]:
    return (key,) if key else ()


def _in_graph() -> bool:
    """Whether we run inside a LangGraph node (durable steps need its task machinery)."""
    from langgraph.config import get_config

    try:
        get_config()
    except RuntimeError:
        return False
    return True


register(LlmExecutor())
