"""Approvals: the inbox of pending human decisions and the responses they collected.

Who sees an approval: the run's owner, and every user named in its ``approvers`` (by user
name), so an approver can answer a colleague's run. Nobody else: for them it does not
exist.

The rows follow the runtime, written by the run store: a paused run's approval interrupt
opens a pending approval (or refreshes it: an approval that needs several responses pauses
again after each one, under a new interrupt id); the node's ``node.completed`` decides it
with the node's decision and responses; a run that ends while one is pending cancels it.
Answering goes through ``WorkflowRuntime.resume`` (which checks the response and refuses
it while the run stays paused); the store then records the response here, so the rows
never claim a response the workflow did not accept.
"""

from __future__ import annotations

import builtins
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

from tortoise.expressions import Q, Subquery

from shared.database.entities import ApprovalInfo, ApprovalResponseInfo
from shared.database.errors import NotFoundError
from shared.database.models import Approval, ApprovalApprover, ApprovalResponse, User
from shared.database.models.approvals import APPROVAL_STATUSES
from shared.database.repositories._common import (
    as_uuid,
    check_choice,
    check_limit,
    parse_ts,
    utcnow,
)
from workflow_compiler.runtime.events import RunEvent
from workflow_compiler.runtime.records import PendingInterrupt

DECISIONS = {"approve": "approved", "reject": "rejected"}


def approval_info(approval: Approval, responses: Sequence[ApprovalResponse]) -> ApprovalInfo:
    info = ApprovalInfo.model_validate(approval)
    return info.model_copy(update={"responses": [
        _response_info(r) for r in sorted(responses, key=lambda r: r.id)]})


def _response_info(row: ApprovalResponse) -> ApprovalResponseInfo:
    return ApprovalResponseInfo(
        by=row.by, user_id=row.user_id, decision=row.decision, comment=row.comment,
        data=row.data.get("value") if isinstance(row.data, dict) else None,
        responded_at=row.responded_at)


class ApprovalsRepository:
    async def list(
        self, viewer_id: UUID, viewer_name: str, *, status: str | None = "pending",
        run_id: str | None = None, limit: int = 100,
    ) -> builtins.list[ApprovalInfo]:
        """Approvals the viewer owns or is an approver of, newest first."""
        check_choice(status, APPROVAL_STATUSES, "status")
        check_limit(limit)
        query = Approval.filter(_visible_to(viewer_id, viewer_name))
        if status is not None:
            query = query.filter(status=status)
        if run_id is not None:
            query = query.filter(run_id=run_id)
        rows = await query.order_by("-created_at", "-id").limit(limit) \
            .prefetch_related("responses")
        return [approval_info(a, list(a.responses)) for a in rows]

    async def list_pending(self, viewer_id: UUID, viewer_name: str, *, limit: int = 100
                           ) -> builtins.list[ApprovalInfo]:
        return await self.list(viewer_id, viewer_name, status="pending", limit=limit)

    async def get(self, viewer_id: UUID, viewer_name: str, approval_id: UUID | str
                  ) -> ApprovalInfo:
        approval = await Approval.filter(
            _visible_to(viewer_id, viewer_name), id=as_uuid(approval_id, "approval"),
        ).prefetch_related("responses").first()
        if approval is None:
            raise NotFoundError("approval", approval_id)
        return approval_info(approval, list(approval.responses))

    # -- runtime side (the run store) -------------------------------------------------

    async def open(self, owner_id: UUID, run_id: str, interrupt: PendingInterrupt
                   ) -> ApprovalInfo:
        """Create the pending approval for this interrupt, or refresh the pending one of
        the same node (new interrupt id, responses so far)."""
        payload = interrupt.payload
        fields: dict[str, Any] = {
            "interrupt_id": interrupt.id,
            "question": str(payload.get("question") or ""),
            "options": list(payload.get("options") or []),
            "approvers": [str(a) for a in payload.get("approvers") or []],
            "min_approvals": int(payload.get("min_approvals") or 1),
            "max_rejections": int(payload.get("max_rejections") or 1),
            "due_at": parse_ts(interrupt.due_at or payload.get("due_at")),
        }
        node_path = interrupt.node_id[:512]
        approval = await Approval.filter(run_id=run_id, node_path=node_path,
                                         status="pending").first()
        if approval is None:
            approval = await Approval.create(owner_id=owner_id, run_id=run_id,
                                             node_path=node_path, **fields)
            await ApprovalApprover.bulk_create([
                ApprovalApprover(approval_id=approval.id, name=name[:64])
                for name in dict.fromkeys(fields["approvers"])])
        else:
            await Approval.filter(id=approval.id).update(**fields)
        await self.add_responses(approval.id, payload.get("responses") or [])
        return await self._info(approval.id)

    async def add_response(self, approval_id: UUID, response: Mapping[str, Any]) -> bool:
        """Record one response ``{by, decision, comment?, data?, at?}``; False if this
        person's response is already recorded (one response per person)."""
        return bool(await self.add_responses(approval_id, [response]))

    async def add_responses(self, approval_id: UUID, responses: Iterable[Mapping[str, Any]]
                            ) -> int:
        wanted = [r for r in responses if isinstance(r, Mapping) and r.get("by")]
        if not wanted:
            return 0
        known = {str(by) for by in await ApprovalResponse.filter(approval_id=approval_id)
                 .values_list("by", flat=True)}
        fresh = [r for r in wanted if str(r["by"]) not in known]
        if not fresh:
            return 0
        names = {str(r["by"]) for r in fresh}
        users = dict(await User.filter(name__in=names).values_list("name", "id"))
        rows = [ApprovalResponse(
            approval_id=approval_id, by=str(r["by"])[:64], user_id=users.get(str(r["by"])),
            decision=str(r.get("decision"))[:64], comment=r.get("comment"),
            data=None if r.get("data") is None else {"value": r.get("data")},
            responded_at=parse_ts(r.get("at")) or utcnow()) for r in fresh]
        await ApprovalResponse.bulk_create(rows, ignore_conflicts=True)
        return len(rows)

    async def decide_from_events(self, run_id: str, events: Iterable[RunEvent]) -> None:
        """Decide pending approvals whose node completed in ``events``."""
        outcomes = _approval_outcomes(events)
        if not outcomes:
            return
        pending = await Approval.filter(run_id=run_id, status="pending",
                                        node_path__in=list(outcomes))
        for approval in pending:
            output, moment = outcomes[approval.node_path]
            await self.add_responses(approval.id, output.get("responses") or [])
            await Approval.filter(id=approval.id, status="pending").update(
                status="decided", decision=str(output["decision"])[:64],
                decided_at=moment or utcnow())

    async def settle_run(self, run_id: str, status: str, current: Iterable[str]) -> None:
        """Close the run's pending approvals that are no longer waiting: every one when
        the run ended (cancelled unless it completed), else those whose node is not among
        the ``current`` interrupt node paths (decided from their last response)."""
        keep = set() if status in ("completed", "failed", "cancelled") else set(current)
        stale = [a for a in await Approval.filter(run_id=run_id, status="pending")
                 if a.node_path not in keep]
        for approval in stale:
            last = await ApprovalResponse.filter(approval_id=approval.id).order_by("-id").first()
            if status in ("failed", "cancelled"):
                changes: dict[str, Any] = {"status": "cancelled"}
            else:
                decision = DECISIONS.get(last.decision, last.decision) if last else None
                changes = {"status": "decided", "decision": decision}
            await Approval.filter(id=approval.id, status="pending").update(
                decided_at=utcnow(), **changes)

    @staticmethod
    async def _info(approval_id: UUID) -> ApprovalInfo:
        approval = await Approval.get(id=approval_id).prefetch_related("responses")
        return approval_info(approval, list(approval.responses))


def decides_approvals(events: Iterable[RunEvent]) -> bool:
    """Whether ``events`` complete an approval node (``decide_from_events`` has work)."""
    return bool(_approval_outcomes(events))


def _approval_outcomes(events: Iterable[RunEvent]
                       ) -> dict[str, tuple[Mapping[str, Any], datetime | None]]:
    """Node id -> (output, when) of each approval node's completion in ``events``."""
    outcomes: dict[str, tuple[Mapping[str, Any], datetime | None]] = {}
    for event in events:
        output = (event.data or {}).get("output") if event.type == "node.completed" else None
        if event.node_id and isinstance(output, dict) and "decision" in output \
                and "responses" in output:
            outcomes[event.node_id] = (output, parse_ts(event.ts))
    return outcomes


def _visible_to(viewer_id: UUID, viewer_name: str) -> Q:
    named = Subquery(ApprovalApprover.filter(name=viewer_name).values("approval_id"))
    return Q(owner_id=viewer_id) | Q(id__in=named)
