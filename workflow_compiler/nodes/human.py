"""``approval`` and ``input``: pause the run for people, via LangGraph ``interrupt()``.

Responses are checked twice with the same functions: by the runtime before it resumes
(so a refused response leaves the run paused and untouched) and here, defensively.
An approval node calls ``interrupt()`` once per response; on resume LangGraph replays the
earlier answers in order, which is how responses from several approvers accumulate.
"""

from __future__ import annotations

import re
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


def _check_thresholds(node: ApprovalNode, path: str) -> list[SpecIssue]:
    """Thresholds a list of named approvers, each answering once, can never reach, or can
    fail to reach together: with N of them, a split of a approvals and N - a rejections
    decides nothing when a < min_approvals and N - a < max_rejections, which some a allows
    exactly when min_approvals + max_rejections >= N + 2. Without a timeout such a node
    may stay paused forever; with one, the timeout decides, so the split is accepted."""
    if not node.approvers:
        return []  # anyone may answer: more responses can always come
    count = len(set(node.approvers))
    issues: list[SpecIssue] = []
    if node.min_approvals > count:
        issues.append(SpecIssue(
            "invalid_value",
            f"min_approvals is {node.min_approvals} but only {count} approvers are listed: "
            "the node could never be approved", path=f"{path}/min_approvals", node_id=node.id))
    if node.max_rejections > count:
        issues.append(SpecIssue(
            "invalid_value",
            f"max_rejections is {node.max_rejections} but only {count} approvers are listed: "
            "the node could never be rejected by them", path=f"{path}/max_rejections",
            node_id=node.id, hint=f"at most {count}"))
    if issues or node.timeout is not None:
        return issues
    if node.min_approvals + node.max_rejections >= count + 2:
        approvals = node.min_approvals - 1
        return [SpecIssue(
            "approval_may_never_decide",
            f"with {count} approvers, {approvals} approval(s) and {count - approvals} "
            f"rejection(s) reach neither min_approvals ({node.min_approvals}) nor "
            f"max_rejections ({node.max_rejections}), and without a timeout the node would "
            "wait forever", path=f"{path}/max_rejections", node_id=node.id,
            hint=f"lower max_rejections to {count + 1 - node.min_approvals} (so that "
            f"min_approvals + max_rejections <= {count + 1}), or add a 'timeout' with "
            "on_timeout")]
    return []


_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_FIELDS_OF = {"webhook": ("url",), "email": ("to", "subject")}
_A = {"webhook": "a webhook", "email": "an email"}


def check_notify(node: ApprovalNode, path: str) -> list[SpecIssue]:
    """Each channel has the fields of its kind, and they are usable as written."""
    issues: list[SpecIssue] = []
    for index, channel in enumerate(node.notify):
        where = f"{path}/notify/{index}"
        own = _FIELDS_OF[channel.channel]
        issues.extend(
            SpecIssue("invalid_value", f"{_A[channel.channel]} channel takes no {name!r}",
                      path=f"{where}/{name}", node_id=node.id,
                      hint=f"{channel.channel} takes: {', '.join(own)}")
            for name in ("url", "to", "subject")
            if getattr(channel, name) is not None and name not in own)
        if getattr(channel, own[0]) is None:
            issues.append(SpecIssue("missing_field",
                                    f"{_A[channel.channel]} channel needs {own[0]!r}",
                                    path=f"{where}/{own[0]}", node_id=node.id))
        elif channel.channel == "webhook":
            issues.extend(_check_webhook_url(node, str(channel.url), f"{where}/url"))
        else:
            issues.extend(
                SpecIssue("invalid_value", f"{address!r} is not an email address",
                          path=f"{where}/to/{i}", node_id=node.id)
                for i, address in enumerate(channel.to or []) if not _EMAIL.match(address))
    return issues


def _check_webhook_url(node: ApprovalNode, url: str, path: str) -> list[SpecIssue]:
    from workflow_compiler.net.ssrf import parse_target

    try:
        parse_target(url)
    except NodeExecutionError as exc:
        return [SpecIssue("invalid_url", exc.message, path=path, node_id=node.id,
                          hint="e.g. 'https://hooks.example.com/approvals'")]
    return []


class ApprovalExecutor:
    type_name: ClassVar[str] = "approval"
    config_model: ClassVar[type[NodeBase]] = ApprovalNode

    def validate(self, node: NodeBase, ctx: ValidationContext, path: str) -> list[SpecIssue]:
        assert isinstance(node, ApprovalNode)
        return [*_check_thresholds(node, path), *check_notify(node, path)]

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
                "responses": list(responses), "due_at": deadline,
                "notify": [c.model_dump(exclude_none=True) for c in node.notify],
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
