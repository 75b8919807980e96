"""Files (``/v1/files...``): multipart upload, listing, metadata, content, delete.

Uploads are bounded before FastAPI parses them: Starlette spools a whole multipart body to
a temporary file before any handler runs, so the limit is enforced on the request stream
itself, by the app's ``BodyLimitMiddleware`` with this route's own limit
(``upload_limit``): by Content-Length when given and by counting otherwise.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import (
    APIRouter,
    Depends,
    File,
    Query,
    Request,
    Response,
    UploadFile,
    status,
)
from fastapi.responses import FileResponse

from api.auth import CurrentUser
from api.body_limit import BodyLimit
from api.routers._responses import problems
from api.services.files import FilesService, FileView
from api.state import service_state
from shared.database.entities import Page

#: room for the multipart boundaries and part headers around the file's bytes
MULTIPART_OVERHEAD = 64 * 1024
UPLOAD_PATH = "/files"


def upload_limit(max_upload_bytes: int) -> BodyLimit:
    """The request body limit of an upload: the file and its multipart framing."""
    return BodyLimit(max_upload_bytes + MULTIPART_OVERHEAD,
                     f"a file may have at most {max_upload_bytes} bytes")


router = APIRouter(tags=["files"])


def _service(request: Request) -> FilesService:
    return FilesService(service_state(request).settings)


Service = Annotated[FilesService, Depends(_service)]


@router.post(UPLOAD_PATH, response_model=FileView, status_code=status.HTTP_201_CREATED,
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
