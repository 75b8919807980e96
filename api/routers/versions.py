"""Versions of a workflow (``/v1/workflows/{workflow_id}/versions...``)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path, Query, Request, Response, status

from api.auth import CurrentUser
from api.routers._responses import problems
from api.services.versions import VersionCreate, VersionsService
from api.state import service_state
from shared.database.entities import Page, VersionDetail, VersionInfo

router = APIRouter(tags=["versions"])


def _service(request: Request) -> VersionsService:
    return VersionsService(service_state(request).runtime)


Service = Annotated[VersionsService, Depends(_service)]
#: a version number (1, 2, ...); bounded so no database is asked about an impossible one
Number = Annotated[int, Path(ge=1, le=2**31 - 1)]


@router.post(
    "/workflows/{workflow_id}/versions", response_model=VersionDetail,
    status_code=status.HTTP_201_CREATED,
    responses={200: {"model": VersionDetail,
                     "description": "the workflow already has a version of this spec"},
               **problems(400, 409)},
    summary="Snapshot a spec (or the draft) as a new immutable version",
    description="The spec must compile; an invalid one answers 422 with the compiler's "
    "errors. A spec equal to an existing version's (same canonical hash) returns that "
    "version with 200 instead of creating one.")
async def create_version(workflow_id: str, user: CurrentUser, service: Service,
                         response: Response, body: VersionCreate | None = None
                         ) -> VersionDetail:
    version, created = await service.create(user.id, workflow_id, body or VersionCreate())
    if not created:
        response.status_code = status.HTTP_200_OK
    return version


@router.get("/workflows/{workflow_id}/versions", response_model=Page[VersionInfo],
            summary="List versions, newest first (without their specs)")
async def list_versions(
    workflow_id: str, user: CurrentUser, service: Service,
    version_status: Annotated[Literal["draft", "published", "archived"] | None,
                              Query(alias="status")] = None,
) -> Page[VersionInfo]:
    return await service.list(user.id, workflow_id, version_status)


@router.get("/workflows/{workflow_id}/versions/{number}", response_model=VersionDetail)
async def get_version(workflow_id: str, number: Number, user: CurrentUser, service: Service
                      ) -> VersionDetail:
    return await service.get(user.id, workflow_id, number)


@router.post("/workflows/{workflow_id}/versions/{number}/publish", response_model=VersionDetail,
             summary="Make this the version runs use (the previous one goes back to draft)")
async def publish_version(workflow_id: str, number: Number, user: CurrentUser, service: Service
                          ) -> VersionDetail:
    return await service.publish(user.id, workflow_id, number)


@router.post("/workflows/{workflow_id}/versions/{number}/archive", response_model=VersionDetail,
             summary="Retire a version (runs then skip it unless named explicitly)")
async def archive_version(workflow_id: str, number: Number, user: CurrentUser, service: Service
                          ) -> VersionDetail:
    return await service.archive(user.id, workflow_id, number)
