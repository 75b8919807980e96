"""The approvals inbox: what waits for the caller's decision, and answering it.

Who may see an approval: the run's owner and everyone its node names in ``approvers``
(by user name); for anyone else it does not exist (404). Who may answer: a named
approver, or the owner when the node names nobody. The response's ``by`` is always the
authenticated user, never a field of the body, so nobody answers in someone else's name.

Refusals, decided here so they are clear and stable (the runtime would refuse them too,
as a generic 422 ``invalid_response``):

* a caller who can see the approval but is not among its approvers (the owner of a run
  whose node names other people): 403 ``not_an_approver``;
* a second response from the same person: 409 ``already_responded``;
* an approval no longer pending (decided, or its run ended): 409 ``approval_not_pending``.

A response is handed to ``WorkflowRuntime.resume`` with the approval's node path as the
interrupt (the runtime matches an interrupt by id or node id, so a response racing
another one that re-opened the approval under a new interrupt id still finds it), acting
for the run's owner. The runtime counts responses against the node's ``min_approvals``
and ``max_rejections``; once decided, the run continues, and the request returns after it
pauses again or ends, with the approval as it then is.
"""

from __future__ import annotations

from uuid import UUID

from fastapi import Request

from api.services.runs import TASKS_KEY, check_approver, check_not_responded
from api.services.runs_execution import RunTasks
from api.services.runs_models import ApprovalOut, ApprovalResponseIn
from api.state import service_state
from shared.database.entities import ApprovalInfo, UserInfo
from shared.database.errors import ConflictError
from shared.database.repositories import ApprovalsRepository
from workflow_compiler.runtime.runtime import WorkflowRuntime


class ApprovalNotPendingError(ConflictError):
    code = "approval_not_pending"


def approval_out(approval: ApprovalInfo) -> ApprovalOut:
    return ApprovalOut.model_validate(approval.model_dump())


class ApprovalsService:
    def __init__(self, runtime: WorkflowRuntime, tasks: RunTasks) -> None:
        self.runtime = runtime
        self.tasks = tasks
        self.approvals = ApprovalsRepository()

    async def list(self, user: UserInfo, *, status: str | None, run_id: str | None,
                   limit: int) -> list[ApprovalOut]:
        rows = await self.approvals.list(user.id, user.name, status=status, run_id=run_id,
                                         limit=limit)
        return [approval_out(a) for a in rows]

    async def get(self, user: UserInfo, approval_id: UUID | str) -> ApprovalOut:
        return approval_out(await self.approvals.get(user.id, user.name, approval_id))

    async def respond(self, user: UserInfo, approval_id: UUID | str, body: ApprovalResponseIn
                      ) -> ApprovalOut:
        approval = await self.approvals.get(user.id, user.name, approval_id)
        if approval.status != "pending":
            raise ApprovalNotPendingError(
                f"approval {approval_id} is {approval.status}"
                + (f" ({approval.decision})" if approval.decision else "")
                + ": it takes no more responses",
                details={"approval_status": approval.status})
        check_approver(user.name, approval.approvers)
        check_not_responded(user.name, [r.by for r in approval.responses])
        response = {"by": user.name, "decision": body.decision, "comment": body.comment,
                    "data": body.data}
        await self.tasks.run(approval.owner_id, approval.run_id, self.runtime.resume(
            approval.run_id, response, interrupt_id=approval.node_path))
        return approval_out(await self.approvals.get(user.id, user.name, approval_id))


async def approvals_service(request: Request) -> ApprovalsService:
    """A FastAPI dependency; async because a plain ``def`` one runs in the thread pool
    (a thread hop on every request)."""
    state = service_state(request)
    tasks = state.extras.get(TASKS_KEY)
    assert isinstance(tasks, RunTasks), "the runs router's lifespan makes it"
    return ApprovalsService(state.runtime, tasks)
