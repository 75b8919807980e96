"""Workflows, namespace lookup and drafts over the API, on SQLite and Postgres."""

from __future__ import annotations

from typing import Any

from helpers.api_apps import create, greeting
from helpers.api_client import Caller, assert_problem


async def test_create_get_update_delete(alice: Caller) -> None:
    made = await create(alice, "refunds", description="triage", namespace="support")
    assert (made["name"], made["namespace"], made["description"]) == \
        ("refunds", "support", "triage")
    assert (await alice.client.get(f"/v1/workflows/{made['id']}")).json() == made

    patched = await alice.client.patch(f"/v1/workflows/{made['id']}",
                                       json={"description": "triage v2", "namespace": "ops"})
    assert patched.status_code == 200, patched.text
    assert (patched.json()["description"], patched.json()["namespace"]) == ("triage v2", "ops")
    assert patched.json()["name"] == "refunds"

    found = await alice.client.get("/v1/namespaces/ops/workflows/refunds")
    assert found.json()["id"] == made["id"]
    assert_problem(await alice.client.get("/v1/namespaces/support/workflows/refunds"), 404)

    deleted = await alice.client.delete(f"/v1/workflows/{made['id']}")
    assert deleted.status_code == 204 and deleted.content == b""
    assert_problem(await alice.client.get(f"/v1/workflows/{made['id']}"), 404, "not_found")
    assert_problem(await alice.client.delete(f"/v1/workflows/{made['id']}"), 404)


async def test_names_are_unique_per_owner_and_namespace(alice: Caller, bob: Caller) -> None:
    first = await create(alice, "same")
    taken = assert_problem(await alice.client.post("/v1/workflows", json={"name": "same"}),
                           409, "name_taken")
    assert (taken["namespace"], taken["name"]) == ("default", "same")
    await create(alice, "same", namespace="other")  # another namespace: fine
    await create(bob, "same")  # another owner: fine
    other = await create(alice, "different")
    assert_problem(await alice.client.patch(f"/v1/workflows/{other['id']}",
                                            json={"name": "same"}), 409, "name_taken")
    assert (await alice.client.get(f"/v1/workflows/{first['id']}")).json()["name"] == "same"


async def test_listing_is_newest_first_with_cursor_pages_and_namespace_filter(
        alice: Caller, bob: Caller) -> None:
    made = [await create(alice, f"wf-{i}", namespace="a" if i % 2 else "b") for i in range(5)]
    await create(bob, "bobs")
    seen: list[str] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 2}
        if cursor:
            params["cursor"] = cursor
        page = (await alice.client.get("/v1/workflows", params=params)).json()
        assert len(page["items"]) <= 2
        seen.extend(item["id"] for item in page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == [w["id"] for w in reversed(made)]
    only_a = (await alice.client.get("/v1/workflows", params={"namespace": "a"})).json()
    assert [w["name"] for w in only_a["items"]] == ["wf-3", "wf-1"]
    assert (await alice.client.get("/v1/workflows", params={"namespace": "zz"})).json() == \
        {"items": [], "next_cursor": None}
    assert_problem(await alice.client.get("/v1/workflows", params={"cursor": "garbage"}), 422)
    assert_problem(await alice.client.get("/v1/workflows", params={"limit": 0}), 422,
                   "invalid_request")


def nested(depth: int) -> Any:
    value: Any = 1
    for _ in range(depth):
        value = [value]
    return value


async def test_bad_names_and_bodies_are_422_problems(alice: Caller) -> None:
    for body in ({"name": "/etc/passwd"}, {"name": "ok", "namespace": "bad space"},
                 {"name": "ok", "unknown": 1}, {}, {"name": "nul\u0000byte"},
                 {"name": "ok", "spec": {"text": "a\u0000b"}},
                 {"name": "ok", "spec": {"n": 2**64}},
                 {"name": "ok", "spec": {"deep": nested(300)}}):
        assert_problem(await alice.client.post("/v1/workflows", json=body), 422)
    for raw in (b"{not json", b'{"name": "ok", "spec": {"x": NaN}}',
                b'{"name": "ok", "spec": {"x": Infinity}}',
                b'{"name": "ok", "spec": {"s": "\\ud800"}}'):
        assert_problem(await alice.client.post(
            "/v1/workflows", content=raw, headers={"content-type": "application/json"}), 422,
            "invalid_request")
    assert (await alice.client.get("/v1/workflows")).json()["items"] == []
    ok = await create(alice, "ok", spec={"big": 2**63 - 1, "small": -(2**63), "f": 1e308,
                                         "text": "é😀"})
    draft = (await alice.client.get(f"/v1/workflows/{ok['id']}/draft")).json()
    assert draft["spec"] == {"big": 2**63 - 1, "small": -(2**63), "f": 1e308, "text": "é😀"}
    # names that cannot exist are simply not found
    assert_problem(await alice.client.get("/v1/namespaces/no%00pe/workflows/x"), 404)


async def test_draft_saves_with_optimistic_concurrency(alice: Caller) -> None:
    made = await create(alice, "drafted")
    url = f"/v1/workflows/{made['id']}/draft"
    empty = (await alice.client.get(url)).json()
    assert (empty["spec"], empty["revision"], empty["valid"], empty["errors"]) == \
        (None, 0, None, [])

    saved = await alice.client.put(url, json={"spec": greeting(), "expected_revision": 0})
    assert saved.status_code == 200, saved.text
    assert (saved.json()["revision"], saved.json()["valid"]) == (1, True)

    stale = assert_problem(await alice.client.put(
        url, json={"spec": greeting(text="other"), "expected_revision": 0}),
        409, "stale_revision")
    assert (stale["expected_revision"], stale["current_revision"]) == (0, 1)
    assert (await alice.client.get(url)).json()["spec"] == greeting()

    again = await alice.client.put(url, json={"spec": greeting(text="v2"),
                                              "expected_revision": 1})
    assert again.json()["revision"] == 2
    touched = (await alice.client.get(f"/v1/workflows/{made['id']}")).json()
    assert touched["updated_at"] >= made["updated_at"]


async def test_a_draft_may_be_invalid_and_says_why(alice: Caller) -> None:
    made = await create(alice, "broken", spec={"name": "x", "nodes": [
        {"id": "a", "type": "transform", "value": 1}], "edges": [{"from": "a", "to": "nope"}]})
    draft = (await alice.client.get(f"/v1/workflows/{made['id']}/draft")).json()
    assert draft["revision"] == 1 and draft["valid"] is False
    [error] = draft["errors"]
    assert error["code"] == "dangling_edge"
    assert error["path"] == "/edges/0/to"
    assert set(error) == {"code", "message", "path", "node_id", "hint"}


async def test_a_workflow_with_a_paused_run_cannot_be_deleted(alice: Caller) -> None:
    from helpers.api_world import approval_spec, saved_workflow

    from shared.database.repositories import RunsRepository

    workflow, version = await saved_workflow(alice.user.id, approval_spec([]))
    await RunsRepository().create(alice.user.id, version_id=version.id)  # queued
    problem = assert_problem(await alice.client.delete(f"/v1/workflows/{workflow.id}"), 409,
                             "conflict")
    assert problem["reason"] == "active_runs"
