"""``approval`` and ``input``: pause the run for people, via LangGraph ``interrupt()``.

Responses are checked twice with the same functions: by the runtime before it resumes
(so a refused response leaves the run paused and untouched) and here, defensively.
An approval node calls ``interrupt()`` once per response; on resume LangGraph replays the
earlier answers in order, which is how responses from several approvers accumulate.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any, ClassVar

from langgraph.types import interrupt

from workflow_compiler.errors import InvalidResponseError, NodeExecutionError, SpecIssue
from workflow_compiler.nodes._common import check_json_schema, validation_errors
from workflow_compiler.nodes.base import NodeContext, NodeResult, ValidationContext, register
from workflow_compiler.spec.durations import parse_duration
from workflow_compiler.spec.models import ApprovalNode, InputNode, NodeBase

APPROVAL_OUTPUT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "decision": {"type": "string"},
        "responses": {"type": "array"},
        "timed_out": {"type": "boolean"},
    },
    "additionalProperties": False,
}


def due_at(ctx: NodeContext) -> str | None:
    """When the node's wait ends (its ``timeout``), as an ISO timestamp, or None."""
    if ctx.node.timeout is None:
        return None
    wait = timedelta(seconds=parse_duration(ctx.node.timeout))
    return (ctx.services.clock.now() + wait).isoformat()


def check_approval_response(payload: dict[str, Any], response: object) -> dict[str, Any]:
    """The normalised response, or ``InvalidResponseError`` saying why it is refused.

    ``at``, when the response was given, is not the responder's to say: the runtime
    stamps the server's time on it (``recorded_approval_response``), so an approval's
    audit trail cannot be back- or forward-dated. A response that brings one is refused
    rather than silently corrected, since nothing we ship sends it.
    """
    if not isinstance(response, dict):
        raise InvalidResponseError("an approval response is an object {by, decision, comment?}")
    by = response.get("by")
    decision = response.get("decision")
    if not isinstance(by, str) or not by.strip():
        raise InvalidResponseError("an approval response needs 'by': who is answering")
    allowed = ["approve", "reject", *payload.get("options", [])]
    if decision not in allowed:
        raise InvalidResponseError(
            f"decision {decision!r} is not one of {', '.join(map(repr, allowed))}"
        )
    approvers = payload.get("approvers") or []
    if approvers and by not in approvers:
        raise InvalidResponseError(
            f"{by!r} is not an approver of {payload.get('node_id')!r} "
            f"(approvers: {', '.join(approvers)})"
        )
    if any(r.get("by") == by for r in payload.get("responses", [])):
        raise InvalidResponseError(f"{by!r} has already responded to {payload.get('node_id')!r}")
    comment = response.get("comment")
    if comment is not None and not isinstance(comment, str):
        raise InvalidResponseError("'comment' must be a string")
    if "at" in response:
        raise InvalidResponseError(
            "'at' is recorded by the server (the time the response arrives); leave it out")
    extra = set(response) - {"by", "decision", "comment", "data"}
    if extra:
        raise InvalidResponseError(f"unknown fields in response: {', '.join(sorted(extra))}")
    return {"by": by, "decision": decision, "comment": comment,
            "data": response.get("data"), "at": None}


def recorded_approval_response(payload: dict[str, Any], value: object) -> dict[str, Any]:
    """The response a resume value carries, checked again, with the time the runtime
    stamped on it (the resume value is the runtime's, not the responder's, so its ``at``
    is the server's); ``InvalidResponseError`` when the response is refused."""
    response = value.get("response") if isinstance(value, dict) else None
    at = response.get("at") if isinstance(response, dict) else None
    if isinstance(response, dict):
        response = {k: v for k, v in response.items() if k != "at"}
    checked = check_approval_response(payload, response)
    checked["at"] = at if isinstance(at, str) else None
    return checked


def check_input_response(payload: dict[str, Any], data: object) -> object:
    errors = validation_errors(payload.get("schema") or {}, data)
    if errors:
        raise InvalidResponseError(
            f"the response does not match the input schema of {payload.get('node_id')!r}: "
            + "; ".join(errors)
        )
    return data


def _decide(node: ApprovalNode, responses: list[dict[str, Any]]) -> str | None:
    approvals = sum(1 for r in responses if r["decision"] == "approve")
    rejections = sum(1 for r in responses if r["decision"] == "reject")
    for r in responses:
        if r["decision"] not in ("approve", "reject"):
            return str(r["decision"])
    if rejections >= node.max_rejections:
        return "rejected"
    if approvals >= node.min_approvals:
        return "approved"
    return None


class ApprovalExecutor:
    type_name: ClassVar[str] = "approval"
    config_model: ClassVar[type[NodeBase]] = ApprovalNode

    def validate(self, node: NodeBase, ctx: ValidationContext, path: str) -> list[SpecIssue]:
        assert isinstance(node, ApprovalNode)
        if node.approvers and node.min_approvals > len(node.approvers):
            return [SpecIssue(
                "invalid_value",
                f"min_approvals is {node.min_approvals} but only {len(node.approvers)} "
                "approvers are listed: the node could never be approved",
                path=f"{path}/min_approvals", node_id=node.id,
            )]
        return []

    def output_schema(self, node: NodeBase) -> dict[str, Any] | None:
        return APPROVAL_OUTPUT_SCHEMA

    async def execute(self, ctx: NodeContext) -> NodeResult:
        node = ctx.node
        assert isinstance(node, ApprovalNode)
        responses: list[dict[str, Any]] = []
        deadline = due_at(ctx)
        question = ctx.render(node.question)
        while True:
            payload = {
                "kind": "approval", "node_id": ctx.node_path or node.id, "question": question,
                "options": node.options, "approvers": node.approvers,
                "min_approvals": node.min_approvals, "max_rejections": node.max_rejections,
                "responses": list(responses), "due_at": deadline, "notify": node.notify,
            }
            value = interrupt(payload)
            if isinstance(value, dict) and value.get("due_at"):
                deadline = value["due_at"]  # keep the first pause's deadline across replays
            if isinstance(value, dict) and value.get("timeout"):
                return self._timed_out(node, responses)
            try:
                responses.append(recorded_approval_response(payload, value))
            except InvalidResponseError:
                continue  # refused: stay paused (the runtime normally refuses it first)
            decision = _decide(node, responses)
            if decision is not None:
                return NodeResult({"decision": decision, "responses": responses,
                                   "timed_out": False}, (decision,))

    @staticmethod
    def _timed_out(node: ApprovalNode, responses: list[dict[str, Any]]) -> NodeResult:
        if node.on_timeout == "fail":
            raise NodeExecutionError(f"approval {node.id!r} timed out", code="approval_timeout")
        decision = {"approve": "approved", "reject": "rejected", "route": "timeout"}[
            node.on_timeout]
        return NodeResult({"decision": decision, "responses": responses, "timed_out": True},
                          (decision,))


class InputExecutor:
    type_name: ClassVar[str] = "input"
    config_model: ClassVar[type[NodeBase]] = InputNode

    def validate(self, node: NodeBase, ctx: ValidationContext, path: str) -> list[SpecIssue]:
        assert isinstance(node, InputNode)
        return check_json_schema(node.schema_, node_id=node.id, path=f"{path}/schema")

    def output_schema(self, node: NodeBase) -> dict[str, Any] | None:
        assert isinstance(node, InputNode)
        return node.schema_

    async def execute(self, ctx: NodeContext) -> NodeResult:
        node = ctx.node
        assert isinstance(node, InputNode)
        payload: dict[str, Any] = {
            "kind": "input", "node_id": ctx.node_path or node.id,
            "prompt": ctx.render(node.prompt) if node.prompt else None,
            "schema": node.schema_, "due_at": due_at(ctx), "error": None,
        }
        while True:
            value = interrupt(payload)
            if isinstance(value, dict) and value.get("timeout"):
                return NodeResult(None, ("timeout",))
            data = value.get("data") if isinstance(value, dict) else value
            try:
                return NodeResult(check_input_response(payload, data))
            except InvalidResponseError as exc:
                payload = {**payload, "error": exc.message}


register(ApprovalExecutor())
register(InputExecutor())
