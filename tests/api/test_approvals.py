"""The approvals inbox: visible to the run's owner and its named approvers only;
responses are the caller's, accumulate per the node's thresholds, and resume the run when
they decide it; refusals are clear problems. On SQLite and Postgres."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from fastapi import FastAPI
from helpers.api_client import Caller, assert_problem, new_caller
from helpers.api_world import approval_spec, saved_workflow


@pytest.fixture
async def carol(app: FastAPI) -> AsyncIterator[Caller]:
    async for caller in new_caller(app, "carol"):
        yield caller


@pytest.fixture
async def dave(app: FastAPI) -> AsyncIterator[Caller]:
    async for caller in new_caller(app, "dave"):
        yield caller


async def _paused_run(owner: Caller, spec: dict[str, object]) -> dict[str, object]:
    workflow, _ = await saved_workflow(owner.user.id, spec)
    run: dict[str, object] = (await owner.client.post(f"/v1/workflows/{workflow.id}/runs",
                                                      json={"inputs": {"amount": 70}})).json()
    assert run["status"] == "paused", run
    return run


async def test_two_approvals_needed_then_the_run_completes(
    alice: Caller, bob: Caller, carol: Caller, dave: Caller,
) -> None:
    run = await _paused_run(alice, approval_spec([bob.user.name, carol.user.name],
                                                 min_approvals=2))
    [mine] = (await alice.client.get("/v1/approvals")).json()
    assert (mine["run_id"], mine["node_path"], mine["status"]) == (run["id"], "approve",
                                                                    "pending")
    assert (mine["question"], mine["min_approvals"]) == ("Refund 70?", 2)
    assert mine["approvers"] == [bob.user.name, carol.user.name]
    assert [a["id"] for a in (await bob.client.get("/v1/approvals",
                                                   params={"status": "pending"})).json()] \
        == [mine["id"]]
    assert [a["id"] for a in (await carol.client.get("/v1/approvals")).json()] == [mine["id"]]
    assert (await dave.client.get("/v1/approvals")).json() == []
    url = f"/v1/approvals/{mine['id']}"
    assert (await bob.client.get(url)).json()["id"] == mine["id"]
    assert_problem(await dave.client.get(url), 404, "not_found")
    assert_problem(await dave.client.post(f"{url}/responses", json={"decision": "approve"}),
                   404, "not_found")
    assert_problem(await bob.client.get(f"/v1/runs/{run['id']}"), 404)  # not bob's run

    first = await bob.client.post(f"{url}/responses",
                                  json={"decision": "approve", "comment": "fine by me"})
    assert first.status_code == 200, first.text
    after_bob = first.json()
    assert after_bob["status"] == "pending"
    assert [(r["by"], r["user_id"], r["decision"], r["comment"])
            for r in after_bob["responses"]] == \
        [(bob.user.name, str(bob.user.id), "approve", "fine by me")]
    assert (await alice.client.get(f"/v1/runs/{run['id']}")).json()["status"] == "paused"

    assert_problem(await bob.client.post(f"{url}/responses", json={"decision": "approve"}),
                   409, "already_responded")
    body = assert_problem(await alice.client.post(f"{url}/responses",
                                                  json={"decision": "approve"}),
                          403, "not_an_approver")
    assert bob.user.name in body["detail"]
    refused = assert_problem(await carol.client.post(f"{url}/responses",
                                                     json={"decision": "maybe"}),
                             422, "invalid_response")
    assert "maybe" in refused["detail"]
    assert (await carol.client.get(url)).json()["status"] == "pending"

    decided = (await carol.client.post(f"{url}/responses", json={
        "decision": "approve", "data": {"ticket": 7}})).json()
    assert (decided["status"], decided["decision"]) == ("decided", "approved")
    assert [r["by"] for r in decided["responses"]] == [bob.user.name, carol.user.name]
    assert decided["responses"][1]["data"] == {"ticket": 7}
    done = (await alice.client.get(f"/v1/runs/{run['id']}")).json()
    assert (done["status"], done["outputs"]) == ("completed", {"result": "refunded"})

    assert_problem(await carol.client.post(f"{url}/responses", json={"decision": "reject"}),
                   409, "approval_not_pending")
    assert (await bob.client.get("/v1/approvals")).json() == []
    history = (await bob.client.get("/v1/approvals", params={"status": "decided"})).json()
    assert [a["id"] for a in history] == [mine["id"]]
    assert [a["id"] for a in (await alice.client.get(
        "/v1/approvals", params={"run_id": run["id"], "status": "decided"})).json()] \
        == [mine["id"]]


async def test_a_rejection_decides_at_max_rejections(alice: Caller, bob: Caller,
                                                     carol: Caller) -> None:
    run = await _paused_run(alice, approval_spec([bob.user.name, carol.user.name],
                                                 min_approvals=2, max_rejections=1))
    [approval] = (await bob.client.get("/v1/approvals")).json()
    decided = (await bob.client.post(f"/v1/approvals/{approval['id']}/responses",
                                     json={"decision": "reject", "comment": "too much"})).json()
    assert (decided["status"], decided["decision"]) == ("decided", "rejected")
    done = (await alice.client.get(f"/v1/runs/{run['id']}")).json()
    assert (done["status"], done["outputs"]) == ("completed", {"result": "refused"})


async def test_without_approvers_only_the_owner_sees_and_answers(alice: Caller,
                                                                 bob: Caller) -> None:
    run = await _paused_run(alice, approval_spec([]))
    [approval] = (await alice.client.get("/v1/approvals")).json()
    assert (await bob.client.get("/v1/approvals")).json() == []
    assert_problem(await bob.client.post(f"/v1/approvals/{approval['id']}/responses",
                                         json={"decision": "approve"}), 404)
    decided = (await alice.client.post(f"/v1/approvals/{approval['id']}/responses",
                                       json={"decision": "approve"})).json()
    assert decided["responses"][0]["by"] == alice.user.name
    assert (await alice.client.get(f"/v1/runs/{run['id']}")).json()["status"] == "completed"


async def test_a_cancelled_run_cancels_its_approvals(alice: Caller, bob: Caller) -> None:
    run = await _paused_run(alice, approval_spec([bob.user.name]))
    [approval] = (await bob.client.get("/v1/approvals")).json()
    await alice.client.post(f"/v1/runs/{run['id']}/cancel")
    assert (await bob.client.get(f"/v1/approvals/{approval['id']}")).json()["status"] == \
        "cancelled"
    assert_problem(await bob.client.post(f"/v1/approvals/{approval['id']}/responses",
                                         json={"decision": "approve"}),
                   409, "approval_not_pending")


async def test_requests_are_validated(alice: Caller) -> None:
    await _paused_run(alice, approval_spec([]))
    [approval] = (await alice.client.get("/v1/approvals")).json()
    url = f"/v1/approvals/{approval['id']}/responses"
    for body in ({}, {"decision": ""}, {"decision": "approve", "by": "someone-else"},
                 {"decision": "approve", "comment": 5}):
        assert_problem(await alice.client.post(url, json=body), 422, "invalid_request")
    for params in ({"status": "open"}, {"limit": 0}, {"limit": 1001}):
        assert_problem(await alice.client.get("/v1/approvals", params=params), 422)
    assert_problem(await alice.client.get("/v1/approvals/not-a-uuid"), 404)
    assert (await alice.client.get("/v1/approvals", params={"status": "pending"})).json()
