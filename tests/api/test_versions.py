"""Versions over the API: compiled before they are saved, immutable, deduplicated by spec
hash, published and archived; on SQLite and Postgres."""

from __future__ import annotations

from typing import Any

from helpers.api_apps import create, greeting
from helpers.api_client import Caller, assert_problem


async def workflow_with_draft(caller: Caller, spec: dict[str, Any] | None = None) -> str:
    made = await create(caller, "versioned", spec=spec or greeting())
    return str(made["id"])


async def test_versions_snapshot_the_draft_or_a_spec_and_deduplicate(alice: Caller) -> None:
    wid = await workflow_with_draft(alice)
    url = f"/v1/workflows/{wid}/versions"
    first = await alice.client.post(url)  # no body: the draft
    assert first.status_code == 201, first.text
    v1 = first.json()
    assert (v1["number"], v1["status"], v1["spec"]) == (1, "draft", greeting())

    # the same spec with its keys in another order is the same version: 200, not a new one
    reordered = dict(reversed(list(greeting().items())))
    same = await alice.client.post(url, json={"spec": reordered, "note": "again"})
    assert same.status_code == 200 and same.json()["id"] == v1["id"]
    assert same.json()["note"] == ""  # immutable: the first note stays

    second = await alice.client.post(url, json={"spec": greeting(text="v2"), "note": "louder"})
    assert second.status_code == 201
    assert (second.json()["number"], second.json()["note"]) == (2, "louder")

    listed = (await alice.client.get(url)).json()
    assert [v["number"] for v in listed["items"]] == [2, 1]
    assert "spec" not in listed["items"][0]
    got = (await alice.client.get(f"{url}/1")).json()
    assert got == v1
    assert_problem(await alice.client.get(f"{url}/3"), 404, "not_found")
    assert_problem(await alice.client.get(f"{url}/zero"), 422, "invalid_request")


async def test_invalid_specs_are_refused_with_the_compilers_errors(alice: Caller) -> None:
    bad = {"name": "bad", "nodes": [{"id": "a", "type": "nope"},
                                    {"id": "b", "type": "transform", "value": "{{ nodes.zz }}"}],
           "edges": [{"from": "a", "to": "c"}]}
    wid = await workflow_with_draft(alice, bad)
    for body in (None, {"spec": bad}):
        response = await alice.client.post(f"/v1/workflows/{wid}/versions", json=body)
        problem = assert_problem(response, 422, "invalid_spec")
        codes = {e["code"] for e in problem["errors"]}
        assert {"unknown_node_type", "dangling_edge", "unknown_reference"} <= codes, codes
        for error in problem["errors"]:
            assert set(error) == {"code", "message", "path", "node_id", "hint"}
            assert error["path"].startswith("/")
    assert (await alice.client.get(f"/v1/workflows/{wid}/versions")).json()["items"] == []


async def test_an_empty_draft_cannot_be_versioned(alice: Caller) -> None:
    made = await create(alice, "empty")
    problem = assert_problem(await alice.client.post(f"/v1/workflows/{made['id']}/versions"),
                             422, "invalid_argument")
    assert problem["field"] == "spec"


async def test_publish_and_archive(alice: Caller) -> None:
    wid = await workflow_with_draft(alice)
    url = f"/v1/workflows/{wid}/versions"
    for text in ("one", "two", "three"):
        assert (await alice.client.post(url, json={"spec": greeting(text=text)})).status_code \
            == 201
    published = (await alice.client.post(f"{url}/2/publish")).json()
    assert published["status"] == "published" and published["published_at"]
    again = await alice.client.post(f"{url}/2/publish")  # idempotent
    assert again.status_code == 200 and again.json()["status"] == "published"

    (await alice.client.post(f"{url}/3/publish")).raise_for_status()
    statuses = {v["number"]: v["status"] for v in (await alice.client.get(url)).json()["items"]}
    assert statuses == {1: "draft", 2: "draft", 3: "published"}

    archived = (await alice.client.post(f"{url}/1/archive")).json()
    assert archived["status"] == "archived" and archived["archived_at"]
    only = (await alice.client.get(url, params={"status": "archived"})).json()["items"]
    assert [v["number"] for v in only] == [1]
    assert_problem(await alice.client.get(url, params={"status": "gone"}), 422)
    back = (await alice.client.post(f"{url}/1/publish")).json()  # archived can come back
    assert (back["status"], back["archived_at"]) == ("published", None)
    assert_problem(await alice.client.post(f"{url}/9/publish"), 404)
    assert_problem(await alice.client.post(f"{url}/9/archive"), 404)


async def test_versions_of_another_users_workflow_are_not_found(alice: Caller, bob: Caller
                                                               ) -> None:
    wid = await workflow_with_draft(alice)
    assert (await alice.client.post(f"/v1/workflows/{wid}/versions")).status_code == 201
    for call in (bob.client.post(f"/v1/workflows/{wid}/versions"),
                 bob.client.post(f"/v1/workflows/{wid}/versions", json={"spec": greeting()}),
                 bob.client.post(f"/v1/workflows/{wid}/versions", json={"spec": {"bad": 1}}),
                 bob.client.get(f"/v1/workflows/{wid}/versions"),
                 bob.client.get(f"/v1/workflows/{wid}/versions/1"),
                 bob.client.post(f"/v1/workflows/{wid}/versions/1/publish")):
        assert_problem(await call, 404, "not_found")
