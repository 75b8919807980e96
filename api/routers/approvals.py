"""The approvals inbox (DESIGN section 4): what waits for the caller, and answering it.
Thin: the rules (who may see, who may answer, what is refused) are in
``api.services.approvals``."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query

from api.auth import CurrentUser
from api.problems import PROBLEM_JSON, Problem
from api.services.approvals import ApprovalsService, approvals_service
from api.services.runs_models import NO_NUL, ApprovalOut, ApprovalResponseIn
from shared.database.models.approvals import APPROVAL_STATUSES

router = APIRouter(tags=["approvals"])

Service = Annotated[ApprovalsService, Depends(approvals_service)]
ApprovalId = Annotated[str, Path(max_length=64, pattern=NO_NUL, description="an approval id")]


def _problem(description: str) -> dict[str, Any]:
    return {"model": Problem, "description": description, "content": {PROBLEM_JSON: {}}}


@router.get("/approvals", response_model=list[ApprovalOut],
            summary="Approvals the caller may answer or owns, newest first")
async def list_approvals(
    user: CurrentUser, service: Service,
    status: Annotated[Literal[APPROVAL_STATUSES] | None,  # type: ignore[valid-type]
                      Query(description="default pending")] = "pending",
    run_id: Annotated[str | None, Query(max_length=64, pattern=NO_NUL)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[ApprovalOut]:
    return await service.list(user, status=status, run_id=run_id, limit=limit)


@router.get("/approvals/{approval_id}", response_model=ApprovalOut, summary="An approval")
async def get_approval(approval_id: ApprovalId, user: CurrentUser, service: Service
                       ) -> ApprovalOut:
    return await service.get(user, approval_id)


@router.post(
    "/approvals/{approval_id}/responses", response_model=ApprovalOut,
    summary="Respond to an approval as the caller",
    responses={403: _problem("the caller is not one of the approval's approvers "
                             "(not_an_approver)"),
               409: _problem("the caller already responded (already_responded), or the "
                             "approval is no longer pending (approval_not_pending)")},
)
async def respond_to_approval(approval_id: ApprovalId, body: ApprovalResponseIn,
                              user: CurrentUser, service: Service) -> ApprovalOut:
    """``by`` is the authenticated user. Responses accumulate until the node's
    ``min_approvals`` / ``max_rejections`` decide it; then the run continues, and this
    returns once it pauses again or ends. An invalid decision is 422 and changes nothing."""
    return await service.respond(user, approval_id, body)
