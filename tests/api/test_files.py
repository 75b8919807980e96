"""Files over the API: multipart upload with a size limit, listing, metadata, content,
delete; bytes on disk under the settings' files directory."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
from helpers.api_apps import AppFactory
from helpers.api_client import Caller, assert_problem, new_caller

from shared.config import Settings
from shared.database.repositories import FilesRepository


def on_disk(path: Path) -> bytes | None:
    return path.read_bytes() if path.exists() else None


def stored_files(directory: Path) -> list[Path]:
    return list(directory.iterdir())


async def upload(caller: Caller, name: str, data: bytes, content_type: str = "text/plain"
                 ) -> httpx.Response:
    return await caller.client.post("/v1/files", files={"file": (name, data, content_type)})


async def test_upload_list_get_download_delete(alice: Caller, settings: Settings) -> None:
    data = b"id,amount\n1,250\n"
    made = await upload(alice, "refunds.csv", data, "text/csv")
    assert made.status_code == 201, made.text
    info = made.json()
    assert (info["name"], info["size"], info["content_type"]) == ("refunds.csv", len(data),
                                                                  "text/csv")
    assert info["sha256"] == hashlib.sha256(data).hexdigest()
    assert "storage_path" not in info
    assert (await alice.client.get(f"/v1/files/{info['id']}")).json() == info

    content = await alice.client.get(f"/v1/files/{info['id']}/content")
    assert content.status_code == 200 and content.content == data
    assert content.headers["content-type"].startswith("text/csv")
    assert 'filename="refunds.csv"' in content.headers["content-disposition"]
    assert content.headers["x-content-type-options"] == "nosniff"

    stored = await FilesRepository().get(alice.user.id, info["id"])
    path = Path(stored.storage_path)
    assert settings.files_dir is not None
    assert path.is_relative_to(settings.files_dir) and on_disk(path) == data

    second = (await upload(alice, "b.txt", b"b")).json()
    listed = (await alice.client.get("/v1/files", params={"limit": 1})).json()
    assert [f["id"] for f in listed["items"]] == [second["id"]] and listed["next_cursor"]
    rest = (await alice.client.get("/v1/files", params={"cursor": listed["next_cursor"]})).json()
    assert [f["id"] for f in rest["items"]] == [info["id"]] and rest["next_cursor"] is None

    deleted = await alice.client.delete(f"/v1/files/{info['id']}")
    assert deleted.status_code == 204
    assert on_disk(path) is None
    for url in (f"/v1/files/{info['id']}", f"/v1/files/{info['id']}/content"):
        assert_problem(await alice.client.get(url), 404, "not_found")


async def test_client_file_names_never_reach_the_disk(alice: Caller) -> None:
    made = (await upload(alice, "../../etc/passwd", b"x", "not a media type")).json()
    assert made["name"] == "passwd"
    assert made["content_type"] == "application/octet-stream"
    stored = await FilesRepository().get(alice.user.id, made["id"])
    assert Path(stored.storage_path).name != "passwd"
    # a part without a file name is a form field, not a file: a clear 422
    assert_problem(await alice.client.post("/v1/files", files={"file": ("", b"y")}), 422,
                   "invalid_request")


async def test_uploads_need_the_file_field(alice: Caller) -> None:
    assert_problem(await alice.client.post("/v1/files", data={"other": "x"}), 422,
                   "invalid_request")
    assert_problem(await alice.client.post("/v1/files"), 422)


async def test_uploads_past_the_limit_are_413_and_leave_nothing(app_with: AppFactory,
                                                                 tmp_path: Path) -> None:
    async with app_with(max_upload_bytes=1000, files_dir=tmp_path / "files") as app:
        async for caller in new_caller(app, "uploader"):
            ok = await upload(caller, "fits.bin", b"x" * 1000)
            assert ok.status_code == 201, ok.text
            # within the multipart allowance: caught while copying
            problem = assert_problem(await upload(caller, "big.bin", b"x" * 1001), 413,
                                     "payload_too_large")
            assert "1000" in problem["detail"]
            # far past it: refused by Content-Length before the body is read
            assert_problem(await upload(caller, "huge.bin", b"x" * 200_000), 413)

            # without Content-Length (chunked): refused while the body arrives
            async def chunks() -> AsyncIterator[bytes]:
                yield (b'--b\r\nContent-Disposition: form-data; name="file"; filename="c"'
                       b"\r\n\r\n")
                for _ in range(100):
                    yield b"x" * 1000
                yield b"\r\n--b--\r\n"

            chunked = await caller.client.post(
                "/v1/files", content=chunks(),
                headers={"content-type": "multipart/form-data; boundary=b"})
            assert_problem(chunked, 413)
            listed = (await caller.client.get("/v1/files")).json()["items"]
            assert [f["name"] for f in listed] == ["fits.bin"]
            assert len(stored_files(tmp_path / "files" / caller.user.id.hex)) == 1
