"""Workflows, lookup by namespace and name, and drafts (``/v1/workflows...``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response, status

from api.auth import CurrentUser
from api.routers._responses import problems
from api.services.workflows import (
    DraftSave,
    DraftView,
    WorkflowCreate,
    WorkflowsService,
    WorkflowUpdate,
)
from api.state import service_state
from shared.database.entities import Page, WorkflowInfo

router = APIRouter(tags=["workflows"])


def _service(request: Request) -> WorkflowsService:
    return WorkflowsService(service_state(request).runtime)


Service = Annotated[WorkflowsService, Depends(_service)]


@router.post("/workflows", response_model=WorkflowInfo, status_code=status.HTTP_201_CREATED,
             responses=problems(400, 409), summary="Create a workflow (with an optional draft)")
async def create_workflow(body: WorkflowCreate, user: CurrentUser, service: Service
                          ) -> WorkflowInfo:
    return await service.create(user.id, body)


@router.get("/workflows", response_model=Page[WorkflowInfo],
            summary="List workflows, newest first")
async def list_workflows(
    user: CurrentUser, service: Service,
    namespace: Annotated[str | None, Query(max_length=64)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 50,
    cursor: Annotated[str | None, Query(max_length=512,
                                        description="next_cursor of the previous page")] = None,
) -> Page[WorkflowInfo]:
    return await service.list(user.id, namespace=namespace, limit=limit, cursor=cursor)


@router.get("/workflows/{workflow_id}", response_model=WorkflowInfo)
async def get_workflow(workflow_id: str, user: CurrentUser, service: Service) -> WorkflowInfo:
    return await service.get(user.id, workflow_id)


@router.patch("/workflows/{workflow_id}", response_model=WorkflowInfo,
              responses=problems(400, 409),
              summary="Rename, move or describe a workflow")
async def update_workflow(workflow_id: str, body: WorkflowUpdate, user: CurrentUser,
                          service: Service) -> WorkflowInfo:
    return await service.update(user.id, workflow_id, body)


@router.delete("/workflows/{workflow_id}", status_code=status.HTTP_204_NO_CONTENT,
               response_class=Response, responses=problems(409),
               summary="Delete a workflow with its versions and finished runs")
async def delete_workflow(workflow_id: str, user: CurrentUser, service: Service) -> Response:
    await service.delete(user.id, workflow_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/namespaces/{namespace}/workflows/{name}", response_model=WorkflowInfo,
            summary="Find a workflow by namespace and name")
async def get_workflow_by_name(namespace: str, name: str, user: CurrentUser,
                               service: Service) -> WorkflowInfo:
    return await service.get_by_name(user.id, namespace, name)


@router.get("/workflows/{workflow_id}/draft", response_model=DraftView,
            summary="The draft, with the compiler's errors")
async def get_draft(workflow_id: str, user: CurrentUser, service: Service) -> DraftView:
    return await service.draft(user.id, workflow_id)


@router.put("/workflows/{workflow_id}/draft", response_model=DraftView,
            responses=problems(400, 409),
            summary="Save the draft (409 stale_revision when someone saved since)")
async def save_draft(workflow_id: str, body: DraftSave, user: CurrentUser, service: Service
                     ) -> DraftView:
    return await service.save_draft(user.id, workflow_id, body)
