"""Acting on runs: cancel (queued, running, paused; 409 otherwise), resume (422 for a
refused response, the run staying paused; 409 when not paused), signals, checkpoints and
forks. On SQLite and Postgres."""

from __future__ import annotations

from helpers.api_client import Caller, assert_problem, new_caller
from helpers.api_world import (
    approval_spec,
    assert_gap_free,
    event_types,
    gate,
    gated_spec,
    input_spec,
    saved_workflow,
    signal_spec,
    sse_events,
    stepped_transforms,
    three_transforms,
    wait_for_status,
)

from api.app import create_app
from shared.config import Settings
from shared.database.repositories import ApprovalsRepository

JSON = {"Accept": "application/json"}


async def _paused(caller: Caller, spec: dict[str, object]) -> dict[str, object]:
    run: dict[str, object] = (await caller.client.post("/v1/runs", json={"spec": spec})).json()
    assert run["status"] == "paused", run
    return run


async def test_cancel_a_paused_run_then_cancelling_again_is_409(alice: Caller) -> None:
    run = await _paused(alice, approval_spec([]))
    cancelled = await alice.client.post(f"/v1/runs/{run['id']}/cancel")
    assert cancelled.status_code == 200, cancelled.text
    assert (cancelled.json()["status"], cancelled.json()["interrupts"]) == ("cancelled", [])
    events = (await alice.client.get(f"/v1/runs/{run['id']}/events", headers=JSON)).json()
    assert event_types(events)[-1] == "run.cancelled"
    assert_gap_free(events)
    assert await ApprovalsRepository().list_pending(alice.user.id, alice.user.name) == []
    again = assert_problem(await alice.client.post(f"/v1/runs/{run['id']}/cancel"), 409,
                           "run_not_cancellable")
    assert again["status"] == 409
    assert "only queued, running or paused" in again["detail"]


async def test_cancel_a_completed_run_is_409(alice: Caller) -> None:
    run = (await alice.client.post("/v1/runs", json={"spec": three_transforms(),
                                                     "inputs": {"name": "x"}})).json()
    body = assert_problem(await alice.client.post(f"/v1/runs/{run['id']}/cancel"), 409,
                          "run_not_cancellable")
    assert "is completed" in body["detail"]


async def test_cancel_a_running_run_stops_it(alice: Caller, bob: Caller) -> None:
    async with gate() as held:
        run = (await alice.client.post("/v1/runs", json={
            "spec": gated_spec(held.url), "mode": "async"})).json()
        await held.arrived.wait()
        assert_problem(await bob.client.post(f"/v1/runs/{run['id']}/cancel"), 404)
        cancelled = (await alice.client.post(f"/v1/runs/{run['id']}/cancel")).json()
    assert cancelled["status"] == "cancelled"
    events = (await alice.client.get(f"/v1/runs/{run['id']}/events", headers=JSON)).json()
    assert event_types(events)[-1] == "run.cancelled"
    assert "node.completed" not in [e["type"] for e in events if e["node_id"] == "after"]
    assert_gap_free(events)


async def test_resume_an_input_node_validates_the_response(alice: Caller) -> None:
    run = await _paused(alice, input_spec())
    url = f"/v1/runs/{run['id']}/resume"
    refused = assert_problem(await alice.client.post(url, json={"response": {"n": "two"}}),
                             422, "invalid_response")
    assert "schema" in refused["detail"]
    still = (await alice.client.get(f"/v1/runs/{run['id']}")).json()
    assert (still["status"], still["last_seq"]) == ("paused", run["last_seq"])
    assert_problem(await alice.client.post(url, json={"response": {"n": 1},
                                                      "interrupt_id": "nope"}), 422)
    done = await alice.client.post(url, json={"response": {"n": 21}})
    assert done.status_code == 200, done.text
    assert (done.json()["status"], done.json()["outputs"]) == ("completed", {"doubled": 42})
    body = assert_problem(await alice.client.post(url, json={"response": {"n": 1}}), 409,
                          "invalid_run_state")
    assert "not paused" in body["detail"]


async def test_resume_in_stream_and_async_mode(alice: Caller) -> None:
    run = await _paused(alice, input_spec())
    streamed = await alice.client.post(f"/v1/runs/{run['id']}/resume",
                                       json={"response": {"n": 2}, "mode": "stream"})
    frames = sse_events(streamed.text)
    assert event_types(frames)[0] == "run.resumed"
    assert event_types(frames)[-1] == "run.completed"
    assert_gap_free(frames, first=int(run["last_seq"]) + 1)  # type: ignore[call-overload]

    other = await _paused(alice, input_spec())
    queued = await alice.client.post(f"/v1/runs/{other['id']}/resume",
                                     json={"response": {"n": 3}, "mode": "async"})
    assert queued.status_code == 202
    done = await wait_for_status(alice.client, other["id"], {"completed"})
    assert done["outputs"] == {"doubled": 6}


async def test_resume_an_approval_answers_as_the_caller(alice: Caller) -> None:
    run = await _paused(alice, approval_spec([]))
    url = f"/v1/runs/{run['id']}/resume"
    body = assert_problem(await alice.client.post(url, json={
        "response": {"by": "mallory", "decision": "approve"}}), 403, "not_the_responder")
    assert alice.user.name in body["detail"]
    assert_problem(await alice.client.post(url, json={"response": {"decision": "maybe"}}),
                   422, "invalid_response")
    done = (await alice.client.post(url, json={
        "response": {"decision": "approve"}, "interrupt_id": "approve"})).json()
    assert (done["status"], done["outputs"]) == ("completed", {"result": "refunded"})
    [approval] = await ApprovalsRepository().list(alice.user.id, alice.user.name,
                                                  status=None, run_id=run["id"])
    assert [(r.by, r.decision) for r in approval.responses] == [(alice.user.name, "approve")]


async def test_an_owner_outside_the_approvers_is_refused_alike_on_both_paths(
        alice: Caller, bob: Caller) -> None:
    """Through /resume as through the inbox: 403 ``not_an_approver``, the run paused."""
    run = await _paused(alice, approval_spec([bob.user.name]))
    body = assert_problem(await alice.client.post(f"/v1/runs/{run['id']}/resume", json={
        "response": {"decision": "approve"}}), 403, "not_an_approver")
    assert bob.user.name in body["detail"]
    [approval] = (await alice.client.get("/v1/approvals")).json()
    assert_problem(await alice.client.post(f"/v1/approvals/{approval['id']}/responses",
                                           json={"decision": "approve"}),
                   403, "not_an_approver")
    assert (await alice.client.get(f"/v1/runs/{run['id']}")).json()["status"] == "paused"


async def test_a_second_answer_is_refused_alike_on_both_paths(
        alice: Caller, bob: Caller) -> None:
    """Through /resume as through the inbox: 409 ``already_responded``, the run paused."""
    run = await _paused(alice, approval_spec([alice.user.name, bob.user.name],
                                             min_approvals=2))
    url = f"/v1/runs/{run['id']}/resume"
    first = await alice.client.post(url, json={"response": {"decision": "approve"}})
    assert first.status_code == 200, first.text
    assert first.json()["status"] == "paused"
    assert_problem(await alice.client.post(url, json={"response": {"decision": "approve"}}),
                   409, "already_responded")
    [approval] = (await alice.client.get("/v1/approvals")).json()
    assert_problem(await alice.client.post(f"/v1/approvals/{approval['id']}/responses",
                                           json={"decision": "approve"}),
                   409, "already_responded")
    assert (await alice.client.get(f"/v1/runs/{run['id']}")).json()["status"] == "paused"


async def test_signals_resume_the_waiting_node(alice: Caller, bob: Caller) -> None:
    run = await _paused(alice, signal_spec())
    assert_problem(await alice.client.post(f"/v1/runs/{run['id']}/signals/other",
                                           json={"data": {}}), 409, "invalid_run_state")
    assert_problem(await bob.client.post(f"/v1/runs/{run['id']}/signals/paid",
                                         json={"data": {"amount": 1}}), 404)
    done = await alice.client.post(f"/v1/runs/{run['id']}/signals/paid",
                                   json={"data": {"amount": 12}})
    assert done.status_code == 200, done.text
    assert (done.json()["status"], done.json()["outputs"]) == ("completed",
                                                               {"thanks": "got 12"})
    assert_problem(await alice.client.post(f"/v1/runs/{run['id']}/signals/paid",
                                           json={"data": {}}), 409)


async def test_checkpoints_list_get_and_fork_into_a_new_run(alice: Caller,
                                                            bob: Caller) -> None:
    workflow, version = await saved_workflow(alice.user.id, stepped_transforms())
    run = (await alice.client.post(f"/v1/workflows/{workflow.id}/runs",
                                   json={"inputs": {"name": "ivy"}})).json()
    checkpoints = (await alice.client.get(f"/v1/runs/{run['id']}/checkpoints")).json()
    assert len(checkpoints) >= 4
    after_clean = next(c for c in checkpoints if c["completed_nodes"] == ["clean"])
    assert after_clean["next"]
    detail = (await alice.client.get(
        f"/v1/runs/{run['id']}/checkpoints/{after_clean['checkpoint_id']}")).json()
    assert detail["checkpoint_id"] == after_clean["checkpoint_id"]
    assert detail["values"]["nodes"] == {"clean": "ivy"}
    assert detail["values"]["inputs"] == {"name": "ivy"}
    assert_problem(await alice.client.get(f"/v1/runs/{run['id']}/checkpoints/nope"), 404)
    assert_problem(await bob.client.get(
        f"/v1/runs/{run['id']}/checkpoints/{after_clean['checkpoint_id']}"), 404)

    forked = await alice.client.post(f"/v1/runs/{run['id']}/fork",
                                     json={"checkpoint_id": after_clean["checkpoint_id"]})
    assert forked.status_code == 201, forked.text
    child = forked.json()
    assert child["id"] != run["id"]
    assert (child["status"], child["outputs"]) == ("completed", run["outputs"])
    assert (child["parent_run_id"], child["forked_from"]) == \
        (run["id"], after_clean["checkpoint_id"])
    assert (child["version_id"], child["workflow_id"]) == (str(version.id), str(workflow.id))
    events = (await alice.client.get(f"/v1/runs/{child['id']}/events", headers=JSON)).json()
    assert event_types(events)[0] == "run.started"
    assert events[0]["data"]["forked_from"]["run_id"] == run["id"]
    assert [e["node_id"] for e in events if e["type"] == "node.completed"] == ["greet", "shout"]
    assert_problem(await bob.client.post(f"/v1/runs/{run['id']}/fork", json={
        "checkpoint_id": after_clean["checkpoint_id"]}), 404)
    assert_problem(await alice.client.post(f"/v1/runs/{run['id']}/fork", json={
        "checkpoint_id": "nope"}), 404)
    assert_problem(await alice.client.post(f"/v1/runs/{run['id']}/fork", json={}), 422)

    later = await alice.client.post(f"/v1/runs/{run['id']}/fork", json={
        "checkpoint_id": after_clean["checkpoint_id"], "mode": "async"})
    assert later.status_code == 202
    assert (await wait_for_status(alice.client, later.json()["id"], {"completed"}))[
        "outputs"] == run["outputs"]


async def test_an_adhoc_run_forks_with_its_spec(alice: Caller) -> None:
    run = (await alice.client.post("/v1/runs", json={"spec": stepped_transforms(),
                                                     "inputs": {"name": "f"}})).json()
    checkpoints = (await alice.client.get(f"/v1/runs/{run['id']}/checkpoints")).json()
    first = next(c for c in checkpoints if c["completed_nodes"] == ["clean", "greet"])
    child = (await alice.client.post(f"/v1/runs/{run['id']}/fork",
                                     json={"checkpoint_id": first["checkpoint_id"]})).json()
    assert (child["status"], child["outputs"], child["version_id"]) == \
        ("completed", run["outputs"], None)


async def test_exit_durability_checkpoints_only_pauses_and_ends(settings: Settings) -> None:
    """``GRAPHWRIGHT_CHECKPOINT_DURABILITY=exit``: one checkpoint per drive instead of one
    per step; a pause still keeps what ran before it, and forks start from it."""
    app = create_app(settings.model_copy(update={"checkpoint_durability": "exit"}))
    async with app.router.lifespan_context(app):
        async for caller in new_caller(app, "exit"):
            run = await _paused(caller, approval_spec([]))
            checkpoints = (await caller.client.get(f"/v1/runs/{run['id']}/checkpoints")).json()
            assert len(checkpoints) == 1
            assert checkpoints[0]["completed_nodes"] == ["prepare"]
            done = (await caller.client.post(f"/v1/runs/{run['id']}/resume", json={
                "response": {"decision": "approve"}})).json()
            assert (done["status"], done["outputs"]) == ("completed", {"result": "refunded"})
            events = (await caller.client.get(f"/v1/runs/{run['id']}/events",
                                              headers=JSON)).json()
            assert [e["node_id"] for e in events if e["type"] == "node.started"].count(
                "prepare") == 1  # not run again on resume
            child = (await caller.client.post(f"/v1/runs/{run['id']}/fork", json={
                "checkpoint_id": checkpoints[0]["checkpoint_id"]})).json()
            assert child["status"] == "paused"
