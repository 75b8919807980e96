"""The agent loop: call the model, run the tools it asks for, feed the results back.

* At most ``max_iterations`` model calls in the loop; a model still asking for tools after
  that fails the node (``max_iterations_exceeded``).
* The tool calls of one reply run concurrently. A failing tool does not fail the node: the
  error goes back to the model as the tool's result, which lets it correct itself.
* Every tool call is in the run's events as ``node.started`` / ``node.completed`` /
  ``node.failed`` (``node.skipped`` when refused) with node id
  ``<llm id>.tools.<tool name>[<n>]`` (n counts that tool's calls in this execution) and
  ``data.tool_call`` = ``{id, name, args}``, so the steps log lists them like nodes.
* Tools named in ``require_approval`` (registry or model-facing spelling, compared by
  ``needs_approval``) pause the run first, with an approval interrupt in
  the format of the ``approval`` node (the runtime checks and resumes it unchanged);
  approved, the call runs; rejected, the model is told the user refused it.
* Model and tool calls go through ``Steps``, so a resumed node does not repeat them.
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass, field
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import (
    AIMessage,
    BaseMessage,
    ToolMessage,
    message_to_dict,
    messages_from_dict,
)
from langgraph.errors import GraphBubbleUp, GraphInterrupt
from langgraph.types import interrupt

from workflow_compiler.errors import ExpressionError, GraphwrightError, NodeExecutionError
from workflow_compiler.llm.errors import model_error
from workflow_compiler.llm.steps import FAILED, StepResult, Steps
from workflow_compiler.llm.streaming import stream_reply
from workflow_compiler.llm.tool_adapters import AgentTool, needs_approval
from workflow_compiler.nodes.base import NodeContext
from workflow_compiler.providers.base import Provider
from workflow_compiler.spec.models import LlmNode

MAX_TOOL_RESULT_CHARS = 50_000
REFUSED = "The user refused this call."
ASKED = "interrupts_asked"  # in ``Steps.memo``: the ``interrupt()`` calls of an attempt


@dataclass(slots=True)
class Usage:
    input_tokens: int = 0
    output_tokens: int = 0
    total_tokens: int = 0
    model_calls: int = 0

    def add(self, message: AIMessage) -> None:
        self.model_calls += 1
        meta = message.usage_metadata
        if meta:
            self.input_tokens += int(meta.get("input_tokens") or 0)
            self.output_tokens += int(meta.get("output_tokens") or 0)
            self.total_tokens += int(meta.get("total_tokens") or 0)

    def as_dict(self) -> dict[str, int]:
        return {"input_tokens": self.input_tokens, "output_tokens": self.output_tokens,
                "total_tokens": self.total_tokens, "model_calls": self.model_calls}


@dataclass(slots=True)
class AgentRun:
    """One execution of an llm node: its model, tools, transcript and counters."""

    ctx: NodeContext
    node: LlmNode
    provider: Provider
    model: BaseChatModel
    tools: dict[str, AgentTool]
    steps: Steps
    messages: list[BaseMessage]
    secrets: tuple[str, ...] = ()  # scrubbed from error messages
    usage: Usage = field(default_factory=Usage)
    calls_per_tool: dict[str, int] = field(default_factory=dict)
    #: ``interrupt()`` calls this attempt made, and how many of the first belong to the
    #: attempt before (see ``approval``)
    asked: int = 0
    earlier: int = 0

    def __post_init__(self) -> None:
        self.earlier = self.steps.memo.get(ASKED, 0) if self.ctx.attempt > 1 else 0

    # -- model calls ------------------------------------------------------------------

    def _failed(self, exc: Exception) -> StepResult:
        error = model_error(exc, self.provider, secrets=self.secrets)
        return {FAILED: True, "code": error.code, "message": error.message,
                "retryable": error.retryable, "details": error.details}

    def _raise_if_failed(self, result: StepResult) -> None:
        if result.get(FAILED):
            raise NodeExecutionError(str(result["message"]), code=str(result["code"]),
                                     retryable=bool(result["retryable"]),
                                     details=dict(result.get("details") or {}))

    async def reply(self, model: Any, messages: list[BaseMessage]) -> AIMessage:
        """A streamed model call (``llm.token`` events), repeated by nothing on resume."""
        def on_text(text: str) -> None:
            self.ctx.emit("llm.token", {"text": text})

        async def step() -> StepResult:
            try:
                message = await stream_reply(model, messages, on_text)
            except Exception as exc:  # classified, then raised by the node
                return self._failed(exc)
            return {"message": self._redact(message_to_dict(message))}

        result = await self.steps.run(step)
        self._raise_if_failed(result)
        [message] = messages_from_dict([result["message"]])
        assert isinstance(message, AIMessage)
        self.usage.add(message)
        return message

    async def structured_call(self, runnable: Any, messages: Any
                              ) -> tuple[AIMessage, Any, str | None]:
        """One structured-output call (not streamed: its text is JSON, not prose)."""
        async def step() -> StepResult:
            try:
                out = await runnable.ainvoke(list(messages))
            except Exception as exc:  # as above
                return self._failed(exc)
            error = out.get("parsing_error")
            result: StepResult = self._redact({
                "message": message_to_dict(out["raw"]), "parsed": out.get("parsed"),
                "parse_error": None if error is None else str(error)})
            return result

        result = await self.steps.run(step)
        self._raise_if_failed(result)
        [raw] = messages_from_dict([result["message"]])
        assert isinstance(raw, AIMessage)
        self.usage.add(raw)
        return raw, result.get("parsed"), result.get("parse_error")

    def charge(self, error: NodeExecutionError) -> None:
        """Put what this attempt cost on ``error`` (``details["usage"]``, counted like
        ``node.completed``'s), for the runner to report on the event that ends the attempt
        (``node.failed`` or ``node.retrying``) and the run to add to its totals: tokens
        are paid for whether or not the node succeeds. Each attempt's count is its own:
        a retry makes its calls again (LangGraph hands saved calls back to the first
        attempt after a resume only, and the pause before it reported nothing)."""
        error.details = {**error.details, "usage": self.usage.as_dict()}

    # -- the loop -----------------------------------------------------------------------

    async def loop(self) -> AIMessage:
        """Model calls and tool rounds until the model answers without tools."""
        schemas = [t.schema() for t in self.tools.values()]
        model: Any = self.model.bind_tools(schemas) if schemas else self.model
        for _ in range(self.node.max_iterations):
            reply = await self.reply(model, self.messages)
            self.messages.append(reply)
            if not reply.tool_calls and not reply.invalid_tool_calls:
                return reply
            self.messages.extend(await self.run_tools(reply))
        raise NodeExecutionError(
            f"the model still asked for tools after {self.node.max_iterations} calls "
            "(max_iterations); raise max_iterations or make the task smaller",
            code="max_iterations_exceeded")

    async def run_tools(self, reply: AIMessage) -> list[ToolMessage]:
        calls: list[dict[str, Any]] = [
            {"id": c.get("id") or f"call_{i}", "name": c["name"], "args": c["args"]}
            for i, c in enumerate(reply.tool_calls)]
        labels = [self._label(c["name"]) for c in calls]
        # Ask first, then run everything at once: approvals pause before any tool runs.
        answers = [self.approval(c) if needs_approval(c["name"], self.node.require_approval)
                   else None for c in calls]
        results = _settled(await asyncio.gather(*(
            self.steps.run(self._tool_step(call, label, answer))
            for call, label, answer in zip(calls, labels, answers, strict=True)),
            return_exceptions=True))
        unparsable: list[dict[str, Any]] = [
            {"id": bad.get("id") or f"invalid_{i}", "name": bad.get("name") or "unknown",
             "args": bad.get("args"), "error": bad.get("error")}
            for i, bad in enumerate(reply.invalid_tool_calls)]
        for result in results:  # a call cut short by the node's deadline ends the attempt
            self._raise_if_failed(result)
        results += [self._unparsable(bad) for bad in unparsable]
        return [ToolMessage(content=r["content"], tool_call_id=c["id"], name=c["name"],
                            status=r["status"])
                for c, r in zip([*calls, *unparsable], results, strict=True)]

    def _unparsable(self, bad: dict[str, Any]) -> StepResult:
        """A call whose arguments are not JSON is not run: the model is told why, so it can
        send the call again, and the events show it as a failed call like any other."""
        name = str(bad["name"])
        reason = f" ({bad['error']})" if bad["error"] else ""
        return self._tool_failed(
            self._label(name), {"tool_call": {k: bad[k] for k in ("id", "name", "args")}},
            NodeExecutionError(f"the arguments of {name!r} are not valid JSON{reason}; send "
                               "them again as a JSON object", code="invalid_tool_args"))

    def _label(self, name: str) -> str:
        count = self.calls_per_tool.get(name, 0) + 1
        self.calls_per_tool[name] = count
        return f"{self.node.id}.tools.{name}[{count}]"

    def approval(self, call: dict[str, Any]) -> dict[str, Any]:
        """Pause for a person to allow ``call``; returns their checked response.

        LangGraph hands answers back by position and restarts that count on each retry of
        the node (not its count of saved calls), so a retry's first ``interrupt()`` calls
        get the answers given to the attempt before, about that attempt's calls: taking
        one would let a different call run on it. The retry passes over as many answers as
        the attempt before asked for (``earlier``, left in ``Steps.memo`` for the next
        attempt) and asks its own questions after them; a replay after a resume
        counts the same way, so each answer meets the call it was given for."""
        from workflow_compiler.errors import InvalidResponseError
        from workflow_compiler.nodes.human import recorded_approval_response

        args = json.dumps(call["args"], ensure_ascii=False, sort_keys=True)
        payload = {
            "kind": "approval", "node_id": self.ctx.node_path or self.node.id,
            "question": f"Allow {self.node.id!r} to call the tool {call['name']!r} with "
                        f"{args}?",
            "options": [], "approvers": list(self.node.approvers), "min_approvals": 1,
            "max_rejections": 1, "responses": [], "due_at": None, "notify": [],
            "tool_call": call,
        }
        while True:
            self.asked += 1
            self.steps.memo[ASKED] = self.asked
            value = interrupt(payload)
            if self.asked <= self.earlier:
                continue  # about the attempt before's call: ask again
            try:
                return recorded_approval_response(payload, value)
            except InvalidResponseError:
                continue  # refused: stay paused (the runtime normally refuses it first)

    def _tool_step(self, call: dict[str, Any], label: str, answer: dict[str, Any] | None
                   ) -> Any:
        async def step() -> StepResult:
            return await self.call_tool(call, label, answer)
        return step

    # -- one tool call --------------------------------------------------------------------

    def _emit(self, event_type: str, label: str, data: dict[str, Any]) -> None:
        emit_as = self.ctx.config.get("emit_as")
        if emit_as is not None:
            emit_as(event_type, label, data)

    async def call_tool(self, call: dict[str, Any], label: str,
                        answer: dict[str, Any] | None) -> StepResult:
        tool = self.tools.get(call["name"])
        shown = {"tool_call": call}
        if answer is not None and answer["decision"] != "approve":
            self._emit("node.skipped", label, {**shown, "reason": "approval_rejected",
                                              "response": _response(answer)})
            comment = f" Their comment: {answer['comment']}" if answer.get("comment") else ""
            return {"content": REFUSED + comment, "status": "error"}
        started_data: dict[str, Any] = {**shown, "type": tool.kind if tool else "unknown"}
        if answer is not None:
            started_data["approval"] = _response(answer)
        self._emit("node.started", label, started_data)
        started = time.perf_counter()
        try:
            if tool is None:
                raise NodeExecutionError(
                    f"there is no tool named {call['name']!r}; available: "
                    f"{', '.join(sorted(self.tools)) or 'none'}", code="unknown_tool")
            if not isinstance(call["args"], dict):
                raise NodeExecutionError("tool arguments must be an object",
                                         code="invalid_tool_args")
            context = self._call_context(label, tool)
            async with asyncio.timeout(tool.timeout):
                output = await tool.run(context, call["args"], label)
        except GraphBubbleUp:
            raise
        except TimeoutError:
            return self._tool_failed(label, shown, NodeExecutionError(
                f"the tool {call['name']!r} timed out", code="node_timeout"))
        except (NodeExecutionError, ExpressionError) as exc:
            return self._tool_failed(label, shown, exc)
        except Exception as exc:  # a tool's bug goes back to the model
            return self._tool_failed(label, shown, NodeExecutionError(
                f"the tool {call['name']!r} failed: {exc or type(exc).__name__}",
                code="tool_error"))
        self._emit("node.completed", label, {
            **shown, "output": output, "port": ["out"], "usage": None,
            "duration_ms": round((time.perf_counter() - started) * 1000, 3)})
        return {"content": self._redact(_as_text(output)), "status": "success"}

    def _tool_failed(self, label: str, shown: dict[str, Any], exc: GraphwrightError
                     ) -> StepResult:
        error = {"code": exc.code, "message": exc.message}
        self._emit("node.failed", label, {**shown, "error": error, "handled": True})
        return {"content": self._redact(f"Error ({exc.code}): {exc.message}"), "status": "error"}

    def _call_context(self, label: str, tool: AgentTool) -> NodeContext:
        """The context a tool node runs in: the llm node's scope, its own config."""
        ctx = self.ctx
        prefix = ctx.node_path[: len(ctx.node_path) - len(self.node.id)] if ctx.node_path \
            else ""
        return NodeContext(
            node=tool.node if tool.node is not None else ctx.node,
            run_id=ctx.run_id, scope=ctx.scope, services=ctx.services, visit=ctx.visit,
            node_path=f"{prefix}{label}",
            emit=lambda t, d: self._emit(t, label, d), config=ctx.config,
        )

    def _redact(self, value: Any) -> Any:
        """Secret values the run knows never go to the model (a tool result holding one) nor
        into checkpoints (a reply holding one), whatever their shape."""
        context = getattr(self.ctx.config.get("runtime"), "context", None)
        redact = getattr(context, "redact", None)
        return value if redact is None else redact(value)


def _settled(results: list[StepResult | BaseException]) -> list[StepResult]:
    """The tool results; when tools paused (subworkflows waiting for people), all their
    interrupts at once, so each can be answered independently; other errors as raised."""
    paused = [r for r in results if isinstance(r, GraphInterrupt)]
    if paused:
        raise GraphInterrupt(tuple(i for r in paused for i in (r.args[0] if r.args else ())))
    for result in results:
        if isinstance(result, BaseException):
            raise result
    return [r for r in results if not isinstance(r, BaseException)]


def _response(answer: dict[str, Any]) -> dict[str, Any]:
    return {k: answer.get(k) for k in ("by", "decision", "comment")}


def _as_text(output: Any) -> str:
    text = output if isinstance(output, str) else json.dumps(output, ensure_ascii=False,
                                                              default=str)
    if len(text) > MAX_TOOL_RESULT_CHARS:
        text = text[:MAX_TOOL_RESULT_CHARS] + f"... [truncated from {len(text)} characters]"
    return text
