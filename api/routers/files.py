"""Files (``/v1/files...``): multipart upload, listing, metadata, content, delete.

Uploads are bounded before FastAPI parses them: Starlette spools a whole multipart body to
a temporary file before any handler runs, so the limit is enforced on the request stream
itself (``LimitedUploadRoute``), by Content-Length when given and by counting otherwise.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Annotated, Any

from fastapi import (
    APIRouter,
    Depends,
    File,
    HTTPException,
    Query,
    Request,
    Response,
    UploadFile,
    status,
)
from fastapi.responses import FileResponse
from fastapi.routing import APIRoute
from starlette.types import Message

from api.auth import CurrentUser
from api.routers._responses import problems
from api.services.files import FilesService, FileView
from api.state import service_state
from shared.database.entities import Page

#: room for the multipart boundaries and part headers around the file's bytes
MULTIPART_OVERHEAD = 64 * 1024


class LimitedUploadRoute(APIRoute):
    """Refuses a request body larger than the upload limit (413) while it arrives."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def limited(request: Request) -> Response:
            if request.method != "POST":
                return await handler(request)
            limit = service_state(request).settings.max_upload_bytes
            allowed = limit + MULTIPART_OVERHEAD
            # an HTTPException, because FastAPI turns anything else raised while it parses
            # the body into a 400
            too_large = HTTPException(status.HTTP_413_CONTENT_TOO_LARGE,
                                      f"a file may have at most {limit} bytes")
            declared = request.headers.get("content-length", "")
            if declared.isdigit() and int(declared) > allowed:
                raise too_large
            received = 0
            receive = request.receive

            async def counting() -> Message:
                nonlocal received
                message = await receive()
                received += len(message.get("body", b""))
                if received > allowed:
                    raise too_large
                return message

            return await handler(Request(request.scope, counting))

        return limited


router = APIRouter(tags=["files"], route_class=LimitedUploadRoute)


def _service(request: Request) -> FilesService:
    return FilesService(service_state(request).settings)


Service = Annotated[FilesService, Depends(_service)]


@router.post("/files", response_model=FileView, status_code=status.HTTP_201_CREATED,
             responses=problems(400, 413),
             summary="Upload a file (multipart/form-data, field 'file')")
async def upload_file(file: Annotated[UploadFile, File(description="the file's bytes")],
                      user: CurrentUser, service: Service) -> FileView:
    try:
        return await service.upload(user.id, file.file, file.filename, file.content_type)
    finally:
        await file.close()


@router.get("/files", response_model=Page[FileView], summary="List files, newest first")
async def list_files(
    user: CurrentUser, service: Service,
    limit: Annotated[int, Query(ge=1, le=1000)] = 50,
    cursor: Annotated[str | None, Query(max_length=512)] = None,
) -> Page[FileView]:
    return await service.list(user.id, limit=limit, cursor=cursor)


@router.get("/files/{file_id}", response_model=FileView)
async def get_file(file_id: str, user: CurrentUser, service: Service) -> FileView:
    return await service.get(user.id, file_id)


@router.get("/files/{file_id}/content", response_class=FileResponse,
            responses={200: {"description": "the file's bytes, as an attachment",
                             "content": {"*/*": {
                                 "schema": {"type": "string", "format": "binary"}}}}},
            summary="Download a file's bytes")
async def get_file_content(file_id: str, user: CurrentUser, service: Service) -> FileResponse:
    info, path = await service.content(user.id, file_id)
    return FileResponse(path, media_type=info.content_type, filename=info.name,
                        headers={"X-Content-Type-Options": "nosniff"})


@router.delete("/files/{file_id}", status_code=status.HTTP_204_NO_CONTENT,
               response_class=Response)
async def delete_file(file_id: str, user: CurrentUser, service: Service) -> Response:
    await service.delete(user.id, file_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
