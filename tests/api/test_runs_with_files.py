"""Typed file inputs over REST: a workflow declares ``"format": "file"``, the caller passes
the ids of their uploads, the run sees (and stores) descriptors. Unknown, malformed and
other users' ids are the same 422 ``unknown_file``, and a refused run leaves nothing
behind. On SQLite and Postgres."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from helpers.api_client import Caller, assert_problem
from helpers.api_world import saved_workflow

from shared.database.repositories import RunsRepository

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "file_report.json"


def file_report() -> dict[str, Any]:
    spec: dict[str, Any] = json.loads(EXAMPLE.read_text(encoding="utf-8"))
    return spec


async def upload(caller: Caller, name: str, data: bytes, content_type: str) -> dict[str, Any]:
    response = await caller.client.post("/v1/files", files={"file": (name, data, content_type)})
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def descriptor(info: dict[str, Any]) -> dict[str, Any]:
    return {"id": info["id"], "name": info["name"], "content_type": info["content_type"],
            "size": info["size"], "sha256": info["sha256"], "path": None}


async def nothing_stored(caller: Caller) -> None:
    assert (await RunsRepository().list(caller.user.id)).items == []


async def test_a_saved_workflow_runs_on_uploaded_files(alice: Caller) -> None:
    data = b"region,revenue\nnorth,125000\n"
    report = await upload(alice, "q3.csv", data, "text/csv")
    note = await upload(alice, "note.txt", b"unaudited", "text/plain")
    workflow, _ = await saved_workflow(alice.user.id, file_report())
    inputs = {"report": report["id"], "attachments": [note["id"], note["id"]]}
    response = await alice.client.post(f"/v1/workflows/{workflow.id}/runs",
                                       json={"inputs": inputs})
    assert response.status_code == 201, response.text
    run = response.json()
    assert run["status"] == "completed", run["error"]
    assert run["outputs"] == {
        "summary": f"q3.csv: {len(data)} bytes of text/csv, 2 attachment(s)",
        "report": {"name": "q3.csv", "bytes": len(data), "content_type": "text/csv",
                   "fingerprint": hashlib.sha256(data).hexdigest()[:12]},
        "attachments": ["note.txt (9 bytes)", "note.txt (9 bytes)"],
    }
    # the stored inputs, and what GET shows, are the descriptors, never the storage path
    expected = {"report": descriptor(report),
                "attachments": [descriptor(note), descriptor(note)]}
    assert run["inputs"] == expected
    assert (await alice.client.get(f"/v1/runs/{run['id']}")).json()["inputs"] == expected
    assert (await RunsRepository().get(alice.user.id, run["id"])).inputs == expected
    assert "storage_path" not in json.dumps(run)


async def test_an_adhoc_run_takes_file_ids_in_any_spelling(alice: Caller) -> None:
    report = await upload(alice, "a.bin", b"\x00\x01", "application/octet-stream")
    inputs = {"report": report["id"].upper()}  # a UUID is a UUID
    run = (await alice.client.post("/v1/runs", json={"spec": file_report(),
                                                     "inputs": inputs})).json()
    assert run["status"] == "completed", run
    assert run["outputs"]["summary"] == \
        "a.bin: 2 bytes of application/octet-stream, 0 attachment(s)"
    assert run["inputs"] == {"report": descriptor(report)}


async def test_unknown_and_malformed_ids_are_refused_before_anything_is_stored(
    alice: Caller,
) -> None:
    workflow, _ = await saved_workflow(alice.user.id, file_report())
    real = await upload(alice, "ok.txt", b"ok", "text/plain")
    url = f"/v1/workflows/{workflow.id}/runs"
    missing = "00000000-0000-0000-0000-000000000000"
    body = assert_problem(await alice.client.post(url, json={"inputs": {
        "report": missing, "attachments": [real["id"], "not-an-id"]}}), 422, "unknown_file")
    assert [(e["code"], e["path"]) for e in body["errors"]] == [
        ("unknown_file", "/report"), ("unknown_file", "/attachments/1")]
    assert "inputs.report" in body["detail"] and missing in body["detail"]
    assert all("POST /v1/files" in e["hint"] for e in body["errors"])

    adhoc = await alice.client.post("/v1/runs", json={"spec": file_report(),
                                                      "inputs": {"report": missing}})
    assert_problem(adhoc, 422, "unknown_file")
    await nothing_stored(alice)


async def test_a_descriptor_cannot_be_passed_in_place_of_an_id(alice: Caller) -> None:
    real = await upload(alice, "ok.txt", b"ok", "text/plain")
    forged = {**descriptor(real), "name": "forged.pdf"}
    body = assert_problem(await alice.client.post("/v1/runs", json={
        "spec": file_report(), "inputs": {"report": forged}}), 422, "invalid_inputs")
    assert body["errors"][0]["path"] == "/report"
    assert "takes a file reference" in body["errors"][0]["message"]
    missing = assert_problem(await alice.client.post("/v1/runs", json={
        "spec": file_report(), "inputs": {}}), 422, "invalid_inputs")
    assert "'report' is a required property" in missing["detail"]
    await nothing_stored(alice)


async def test_bob_cannot_use_alices_file(alice: Caller, bob: Caller) -> None:
    secret = await upload(alice, "salaries.csv", b"alice,1", "text/csv")
    workflow, _ = await saved_workflow(bob.user.id, file_report())
    theirs = await bob.client.post(f"/v1/workflows/{workflow.id}/runs",
                                   json={"inputs": {"report": secret["id"]}})
    unknown = await bob.client.post(f"/v1/workflows/{workflow.id}/runs", json={
        "inputs": {"report": "00000000-0000-0000-0000-000000000000"}})
    foreign, missing = assert_problem(theirs, 422, "unknown_file"), \
        assert_problem(unknown, 422, "unknown_file")
    # the same answer as for a file that does not exist, bar the id itself
    assert foreign["errors"][0]["path"] == missing["errors"][0]["path"] == "/report"
    assert foreign["detail"].replace(secret["id"], "X") == \
        missing["detail"].replace("00000000-0000-0000-0000-000000000000", "X")
    assert "salaries" not in json.dumps(foreign)
    adhoc = await bob.client.post("/v1/runs", json={"spec": file_report(),
                                                    "inputs": {"report": secret["id"]}})
    assert_problem(adhoc, 422, "unknown_file")
    await nothing_stored(bob)
    # and alice, its owner, can
    own = await alice.client.post("/v1/runs", json={"spec": file_report(),
                                                    "inputs": {"report": secret["id"]}})
    assert own.json()["status"] == "completed"


async def test_a_deleted_file_is_unknown_to_new_runs_but_old_runs_keep_its_descriptor(
    alice: Caller,
) -> None:
    report = await upload(alice, "gone.txt", b"bye", "text/plain")
    first = (await alice.client.post("/v1/runs", json={"spec": file_report(),
                                                       "inputs": {"report": report["id"]}}))
    assert first.json()["status"] == "completed"
    assert (await alice.client.delete(f"/v1/files/{report['id']}")).status_code == 204
    again = await alice.client.post("/v1/runs", json={"spec": file_report(),
                                                      "inputs": {"report": report["id"]}})
    assert_problem(again, 422, "unknown_file")
    kept = (await alice.client.get(f"/v1/runs/{first.json()['id']}")).json()
    assert kept["inputs"]["report"] == descriptor(report)


async def test_bad_file_declarations_are_invalid_specs(alice: Caller) -> None:
    spec = file_report()
    spec["inputs"]["properties"]["report"] = {"type": "integer", "format": "file"}
    body = assert_problem(await alice.client.post("/v1/runs", json={
        "spec": spec, "inputs": {"report": 1}}), 422, "invalid_spec")
    assert {"code": "invalid_file_input", "path": "/inputs/properties/report/type"}.items() \
        <= body["errors"][0].items()
    validated = (await alice.client.post("/v1/specs/validate", json={"spec": spec})).json()
    assert "invalid_file_input" in {e["code"] for e in validated["errors"]}
    await nothing_stored(alice)


async def test_the_openapi_document_explains_file_inputs(alice: Caller) -> None:
    document = (await alice.client.get("/openapi.json")).json()
    schemas = document["components"]["schemas"]
    for model in ("StartRunIn", "AdHocRunIn"):
        assert "POST /v1/files" in schemas[model]["properties"]["inputs"]["description"]
    spec_schema = (await alice.client.get("/v1/catalog/spec-schema")).json()
    assert '"format": "file"' in spec_schema["properties"]["inputs"]["description"]


async def test_a_workflow_without_file_inputs_takes_strings_as_they_are(alice: Caller) -> None:
    spec = {"spec_version": "1", "name": "echo",
            "inputs": {"type": "object", "properties": {"text": {"type": "string"}}},
            "nodes": [{"id": "say", "type": "transform", "value": "{{ inputs.text }}"}],
            "outputs": {"said": "{{ nodes.say }}"}}
    run = (await alice.client.post("/v1/runs", json={
        "spec": spec, "inputs": {"text": "00000000-0000-0000-0000-000000000000"}})).json()
    assert run["outputs"] == {"said": "00000000-0000-0000-0000-000000000000"}


async def test_an_idempotent_repeat_survives_the_deletion_of_its_file(alice: Caller) -> None:
    report = await upload(alice, "r.csv", b"a,b\n", "text/csv")
    other = await upload(alice, "o.csv", b"c,d\n", "text/csv")
    workflow, _ = await saved_workflow(alice.user.id, file_report())
    url = f"/v1/workflows/{workflow.id}/runs"
    body = {"inputs": {"report": report["id"]}, "idempotency_key": "upload-7"}
    first = await alice.client.post(url, json=body)
    assert first.status_code == 201, first.text
    assert (await alice.client.delete(f"/v1/files/{report['id']}")).status_code == 204

    # the same request again: the first run, not unknown_file, in any spelling of the id
    for inputs in (body["inputs"], {"report": report["id"].upper()}):
        again = await alice.client.post(url, json={**body, "inputs": inputs})
        assert again.status_code == 200, again.text
        assert again.json()["id"] == first.json()["id"]
        assert again.json()["inputs"] == {"report": descriptor(report)}
    # the same key asking for another (existing) file is a conflict, as without files
    reused = await alice.client.post(url, json={**body, "inputs": {"report": other["id"]}})
    assert_problem(reused, 409, "idempotency_key_reused")
    # the deleted file is gone for any other request
    fresh = await alice.client.post(url, json={"inputs": {"report": report["id"]},
                                               "idempotency_key": "upload-8"})
    assert_problem(fresh, 422, "unknown_file")
    assert len((await RunsRepository().list(alice.user.id)).items) == 1


def reader(spec_name: str = "reader") -> dict[str, Any]:
    return {"spec_version": "1", "name": spec_name,
            "inputs": {"type": "object", "required": ["doc"],
                       "properties": {"doc": {"format": "file"}}},
            "nodes": [{"id": "read", "type": "tool", "tool": "files.read_text",
                       "args": {"file": "{{ inputs.doc }}", "max_chars": 12}},
                      {"id": "rows", "type": "transform",
                       "value": "{{ nodes.read.text.split('\\n') | length }}"}],
            "edges": [{"from": "read", "to": "rows"}],
            "outputs": {"head": "{{ nodes.read.text }}", "more": "{{ nodes.read.truncated }}",
                        "rows": "{{ nodes.rows }}"}}


async def test_a_run_reads_the_text_of_an_uploaded_file(alice: Caller) -> None:
    data = b"region,revenue\nnorth,125000\nsouth,98000\n"
    report = await upload(alice, "q3.csv", data, "text/csv")
    workflow, _ = await saved_workflow(alice.user.id, reader())
    run = (await alice.client.post(f"/v1/workflows/{workflow.id}/runs",
                                   json={"inputs": {"doc": report["id"]}})).json()
    assert run["status"] == "completed", run["error"]
    assert run["outputs"] == {"head": "region,reven", "more": True, "rows": 1}
    # deleted meanwhile: a fork or a later run of the same descriptor reads nothing
    assert (await alice.client.delete(f"/v1/files/{report['id']}")).status_code == 204
    again = (await alice.client.post("/v1/runs", json={
        "spec": {**reader("inline"), "inputs": {"type": "object"},
                 "nodes": [{**reader()["nodes"][0], "args": {"file": descriptor(report)}}],
                 "edges": [], "outputs": {}}})).json()
    assert again["status"] == "failed"
    assert again["error"]["code"] == "tool_error"


async def test_another_users_upload_cannot_be_read_by_a_typed_descriptor(
    alice: Caller, bob: Caller,
) -> None:
    """Bob writes Alice's file id, size and sha256 (as if he knew them) into his spec:
    his run reads only his own uploads, so it gets nothing."""
    secret = b"alice's numbers"
    report = await upload(alice, "private.csv", secret, "text/csv")
    forged = {"spec_version": "1", "name": "forge",
              "nodes": [{"id": "read", "type": "tool", "tool": "files.read_text",
                         "args": {"file": descriptor(report)}}],
              "outputs": {"text": "{{ nodes.read.text }}"}}
    run = (await bob.client.post("/v1/runs", json={"spec": forged})).json()
    assert run["status"] == "failed"
    assert run["error"]["code"] == "tool_error"
    assert "cannot be read" in run["error"]["message"]
    assert "numbers" not in json.dumps(run)
    # the same spec is Alice's own file when she runs it
    mine = (await alice.client.post("/v1/runs", json={"spec": forged})).json()
    assert mine["outputs"] == {"text": secret.decode()}
