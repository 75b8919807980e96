"""Starting runs over REST: a saved workflow (published, else latest, or a given version)
or an ad-hoc spec, in sync, async and stream mode; idempotency keys; bad inputs and bad
specs refused before anything is stored. On SQLite and Postgres."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import FastAPI
from helpers.api_client import Caller, assert_problem
from helpers.api_world import (
    approval_spec,
    assert_gap_free,
    event_types,
    gate,
    gated_spec,
    saved_workflow,
    sse_events,
    three_transforms,
    wait_for_status,
)

from shared.database.repositories import RunsRepository, VersionsRepository


async def test_sync_run_of_the_published_version_returns_outputs(alice: Caller) -> None:
    workflow, version = await saved_workflow(alice.user.id, three_transforms())
    response = await alice.client.post(f"/v1/workflows/{workflow.id}/runs",
                                       json={"inputs": {"name": "  ada "}})
    assert response.status_code == 201, response.text
    assert response.headers["location"] == f"/v1/runs/{response.json()['id']}"
    run = response.json()
    assert run["status"] == "completed"
    assert run["outputs"] == {"text": "Hello, ada!", "loud": "HELLO, ADA!"}
    assert (run["workflow_id"], run["version_id"]) == (str(workflow.id), str(version.id))
    assert run["source"] == "api"
    assert run["duration_ms"] is not None and run["duration_ms"] >= 0
    assert run["started_at"] and run["finished_at"]
    assert run["error"] is None and run["interrupts"] == []


async def test_the_published_version_wins_else_the_latest_else_the_one_asked_for(
    alice: Caller,
) -> None:
    workflow, _ = await saved_workflow(alice.user.id, three_transforms(greeting="One"),
                                       publish=False)
    versions = VersionsRepository()
    two, _ = await versions.create(alice.user.id, workflow.id, three_transforms(greeting="Two"))
    url = f"/v1/workflows/{workflow.id}/runs"
    latest = (await alice.client.post(url, json={"inputs": {"name": "x"}})).json()
    assert latest["outputs"]["text"] == "Two, x!"
    await versions.publish(alice.user.id, workflow.id, 1)
    published = (await alice.client.post(url, json={"inputs": {"name": "x"}})).json()
    assert published["outputs"]["text"] == "One, x!"
    asked = (await alice.client.post(url, json={"inputs": {"name": "x"}, "version": 2})).json()
    assert (asked["outputs"]["text"], asked["version_id"]) == ("Two, x!", str(two.id))
    assert_problem(await alice.client.post(url, json={"inputs": {}, "version": 9}), 404)


async def test_a_sync_run_that_pauses_returns_its_pending_interrupts(alice: Caller) -> None:
    workflow, _ = await saved_workflow(alice.user.id, approval_spec([]))
    run = (await alice.client.post(f"/v1/workflows/{workflow.id}/runs",
                                   json={"inputs": {"amount": 5}})).json()
    assert run["status"] == "paused"
    [interrupt] = run["interrupts"]
    assert (interrupt["node_id"], interrupt["kind"]) == ("approve", "approval")
    assert interrupt["payload"]["question"] == "Refund 5?"


async def test_a_failing_run_returns_its_error(alice: Caller) -> None:
    spec = three_transforms()
    spec["nodes"][2]["value"] = "{{ nodes.greet.text * [] }}"
    response = await alice.client.post("/v1/runs", json={"spec": spec,
                                                         "inputs": {"name": "x"}})
    run = response.json()
    assert response.status_code == 201, run
    assert run["status"] == "failed"
    assert run["error"]["code"]
    assert run["outputs"] is None


async def test_invalid_inputs_are_a_422_with_every_error_and_store_nothing(
    alice: Caller,
) -> None:
    workflow, _ = await saved_workflow(alice.user.id, three_transforms())
    response = await alice.client.post(f"/v1/workflows/{workflow.id}/runs",
                                       json={"inputs": {"name": 42, "extra": True}})
    body = assert_problem(response, 422, "invalid_inputs")
    assert body["errors"] == [{"code": "invalid_input", "path": "/name",
                               "message": "42 is not of type 'string'"}]
    missing = assert_problem(await alice.client.post(
        f"/v1/workflows/{workflow.id}/runs", json={"inputs": {}}), 422, "invalid_inputs")
    assert missing["errors"][0]["path"] == ""
    assert "'name' is a required property" in missing["errors"][0]["message"]
    assert (await RunsRepository().list(alice.user.id)).items == []


async def test_request_bodies_are_validated(alice: Caller) -> None:
    workflow, _ = await saved_workflow(alice.user.id, three_transforms())
    url = f"/v1/workflows/{workflow.id}/runs"
    for body in ({"inputs": [1]}, {"inputs": {}, "mode": "later"}, {"inputs": {}, "x": 1},
                 {"inputs": {}, "version": 0}, {"inputs": {}, "idempotency_key": ""}):
        assert_problem(await alice.client.post(url, json=body), 422, "invalid_request")


async def test_unknown_or_foreign_workflows_are_404(alice: Caller, bob: Caller) -> None:
    workflow, _ = await saved_workflow(alice.user.id, three_transforms())
    for workflow_id in (workflow.id, "not-a-uuid", "00000000-0000-0000-0000-000000000000"):
        assert_problem(await bob.client.post(f"/v1/workflows/{workflow_id}/runs",
                                             json={"inputs": {"name": "x"}}), 404)


async def test_a_workflow_without_a_version_cannot_run(alice: Caller) -> None:
    from shared.database.repositories import WorkflowsRepository

    workflow = await WorkflowsRepository().create(alice.user.id, "empty-one")
    assert_problem(await alice.client.post(f"/v1/workflows/{workflow.id}/runs",
                                           json={"inputs": {}}), 404, "not_found")


async def test_idempotency_key_returns_the_first_run_without_running_again(
    alice: Caller,
) -> None:
    workflow, _ = await saved_workflow(alice.user.id, three_transforms())
    url = f"/v1/workflows/{workflow.id}/runs"
    first = await alice.client.post(url, json={"inputs": {"name": "a"},
                                               "idempotency_key": "order-1"})
    assert first.status_code == 201
    again = await alice.client.post(url, json={"inputs": {"name": "a"}},
                                    headers={"Idempotency-Key": "order-1"})
    assert again.status_code == 200
    assert again.json()["id"] == first.json()["id"]
    assert again.json()["last_seq"] == first.json()["last_seq"]  # not run a second time
    events = (await alice.client.get(f"/v1/runs/{first.json()['id']}/events",
                                     headers={"Accept": "application/json"})).json()
    assert event_types(events).count("run.started") == 1

    reused = await alice.client.post(url, json={"inputs": {"name": "b"},
                                                "idempotency_key": "order-1"})
    body = assert_problem(reused, 409, "idempotency_key_reused")
    assert body["run_id"] == first.json()["id"]
    differing = await alice.client.post(url, json={"inputs": {"name": "a"},
                                                   "idempotency_key": "k1"},
                                        headers={"Idempotency-Key": "k2"})
    assert_problem(differing, 422, "invalid_argument")
    page = (await alice.client.get("/v1/runs", params={"workflow_id": str(workflow.id)})).json()
    assert len(page["items"]) == 1


async def test_idempotency_keys_are_per_user(alice: Caller, bob: Caller) -> None:
    spec = three_transforms()
    body = {"spec": spec, "inputs": {"name": "a"}, "idempotency_key": "same"}
    mine = (await alice.client.post("/v1/runs", json=body)).json()
    theirs = (await bob.client.post("/v1/runs", json=body)).json()
    assert mine["id"] != theirs["id"]


async def test_concurrent_repeats_of_one_key_make_one_run(alice: Caller) -> None:
    workflow, _ = await saved_workflow(alice.user.id, three_transforms())
    url = f"/v1/workflows/{workflow.id}/runs"
    responses = await asyncio.gather(*[
        alice.client.post(url, json={"inputs": {"name": "a"}, "idempotency_key": "burst"})
        for _ in range(4)])
    assert {r.status_code for r in responses} <= {200, 201}
    assert len({r.json()["id"] for r in responses}) == 1
    assert all(r.json()["status"] == "completed" for r in responses)


async def test_async_mode_answers_202_at_once_and_runs_in_the_background(
    alice: Caller,
) -> None:
    async with gate() as held:
        workflow, _ = await saved_workflow(alice.user.id, gated_spec(held.url))
        response = await alice.client.post(f"/v1/workflows/{workflow.id}/runs",
                                           json={"inputs": {}, "mode": "async"})
        assert response.status_code == 202, response.text
        run = response.json()
        assert (run["status"], run["last_seq"]) == ("queued", 1)
        await held.arrived.wait()  # the background task is inside the http node
        assert (await wait_for_status(alice.client, run["id"], {"running"}))["status"] \
            == "running"
        held.open()
        done = await wait_for_status(alice.client, run["id"], {"completed", "failed"})
    assert done["outputs"] == {"ok": True}
    events = (await alice.client.get(f"/v1/runs/{run['id']}/events",
                                     headers={"Accept": "application/json"})).json()
    assert event_types(events)[:2] == ["run.queued", "run.started"]
    assert events[0]["data"] == {"mode": "async"}
    assert_gap_free(events)


async def test_stream_mode_sends_the_events_as_they_happen(alice: Caller) -> None:
    workflow, _ = await saved_workflow(alice.user.id, three_transforms())
    response = await alice.client.post(f"/v1/workflows/{workflow.id}/runs",
                                       json={"inputs": {"name": "bo"}, "mode": "stream"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    assert response.headers["cache-control"] == "no-cache"
    frames = sse_events(response.text)
    assert_gap_free(frames)
    types = event_types(frames)
    assert types[:2] == ["run.queued", "run.started"]
    assert types[-1] == "run.completed"
    assert types.count("node.completed") == 3
    assert frames[-1]["data"]["data"]["outputs"] == {"text": "Hello, bo!", "loud": "HELLO, BO!"}
    run_id = frames[0]["data"]["run_id"]
    assert response.headers["location"] == f"/v1/runs/{run_id}"
    assert (await alice.client.get(f"/v1/runs/{run_id}")).json()["status"] == "completed"


async def test_stream_mode_ends_when_the_run_pauses(alice: Caller) -> None:
    workflow, _ = await saved_workflow(alice.user.id, approval_spec([]))
    response = await alice.client.post(f"/v1/workflows/{workflow.id}/runs",
                                       json={"inputs": {}, "mode": "stream"})
    frames = sse_events(response.text)
    assert event_types(frames)[-1] == "run.paused"
    assert frames[-1]["data"]["data"]["interrupts"][0]["node_id"] == "approve"


async def test_a_repeated_stream_request_replays_the_first_run(alice: Caller) -> None:
    workflow, _ = await saved_workflow(alice.user.id, three_transforms())
    body = {"inputs": {"name": "x"}, "mode": "stream", "idempotency_key": "s-1"}
    url = f"/v1/workflows/{workflow.id}/runs"
    first = sse_events((await alice.client.post(url, json=body)).text)
    second = sse_events((await alice.client.post(url, json=body)).text)
    assert [f["data"] for f in first] == [f["data"] for f in second]


async def test_adhoc_runs_are_validated_and_stored_with_their_spec(alice: Caller) -> None:
    spec = three_transforms(name="adhoc-one")
    run = (await alice.client.post("/v1/runs", json={"spec": spec,
                                                     "inputs": {"name": "zed"}})).json()
    assert run["status"] == "completed"
    assert (run["workflow_id"], run["version_id"], run["workflow_name"]) == \
        (None, None, "adhoc-one")
    assert await RunsRepository().spec(alice.user.id, run["id"]) == spec

    bad = {"spec_version": "1", "name": "bad",
           "nodes": [{"id": "a", "type": "transform", "value": "{{ nodes.ghost }}"},
                     {"id": "a", "type": "nope"}],
           "edges": [{"from": "a", "to": "zz"}]}
    body = assert_problem(await alice.client.post("/v1/runs", json={"spec": bad}), 422,
                          "invalid_spec")
    codes = {e["code"] for e in body["errors"]}
    assert len(body["errors"]) >= 2
    assert codes & {"duplicate_node_id", "unknown_node_type", "dangling_edge"}
    assert all({"code", "message", "path"} <= set(e) for e in body["errors"])
    assert_problem(await alice.client.post("/v1/runs", json={"spec": "nope"}), 422)
    assert_problem(await alice.client.post("/v1/runs", json={"spec": spec, "inputs": {}}),
                   422, "invalid_inputs")
    assert len((await RunsRepository().list(alice.user.id)).items) == 1


def _calling(reference: str, version: int | None = None) -> dict[str, Any]:
    """A spec whose one node runs the saved workflow ``reference`` (``[namespace/]name``)."""
    node: dict[str, Any] = {"id": "call", "type": "subworkflow", "workflow": reference,
                            "inputs": {"name": "sub"}}
    if version is not None:
        node["version"] = version
    return {"spec_version": "1", "name": "caller", "nodes": [node], "edges": [],
            "outputs": {"text": "{{ nodes.call.text }}"}}


async def test_subworkflow_references_out_of_range_are_clean_errors(alice: Caller) -> None:
    """A reference longer than a workflow name can be, or a version past the version
    column, is refused with the spec; one that fits the spec but cannot match a saved
    workflow (a namespace or name no workflow may have) fails its node with
    ``subworkflow_not_found``, never a driver's error, on both databases."""
    await saved_workflow(alice.user.id, three_transforms(), name="child")

    async def start(spec: dict[str, Any]) -> dict[str, Any]:
        response = await alice.client.post("/v1/runs", json={"spec": spec})
        assert response.status_code == 201, response.text
        run: dict[str, Any] = response.json()
        return run

    assert (await start(_calling("child")))["outputs"] == {"text": "Hello, sub!"}
    assert (await start(_calling("default/child", 1)))["outputs"] == {"text": "Hello, sub!"}
    for spec in (_calling("demo/" + "x" * 300), _calling("child", 2**31),
                 _calling("child", 1099511627776), _calling("")):
        body = assert_problem(await alice.client.post("/v1/runs", json={"spec": spec}), 422,
                              "invalid_spec")
        assert body["errors"][0]["path"].startswith("/nodes/0/"), body
    for reference, version in (("x" * 129, None), ("n" * 65 + "/child", None),
                               ("bad ns!/child", None), ("a/b/child", None),
                               ("child", 2**31 - 1), ("child", 2),
                               ("demo/nobody", None)):
        run = await start(_calling(reference, version))
        assert run["status"] == "failed", run
        assert run["error"]["code"] == "subworkflow_not_found", run["error"]
        assert "Error" not in run["error"]["message"], run["error"]


async def test_adhoc_stream_and_async_modes(alice: Caller) -> None:
    spec = three_transforms(name="adhoc-modes")
    streamed = await alice.client.post("/v1/runs", json={"spec": spec, "mode": "stream",
                                                         "inputs": {"name": "q"}})
    assert event_types(sse_events(streamed.text))[-1] == "run.completed"
    queued = await alice.client.post("/v1/runs", json={"spec": spec, "mode": "async",
                                                       "inputs": {"name": "q"}})
    assert queued.status_code == 202
    done = await wait_for_status(alice.client, queued.json()["id"], {"completed"})
    assert done["outputs"]["text"] == "Hello, q!"


async def test_shutdown_cancels_runs_still_going(app: FastAPI, alice: Caller) -> None:
    """A run still in flight when the app stops ends cancelled, with its event."""
    from api.services.runs import TASKS_KEY
    from api.services.runs_execution import RunTasks

    tasks = app.state.service.extras[TASKS_KEY]
    assert isinstance(tasks, RunTasks)
    async with gate() as held:
        run = (await alice.client.post("/v1/runs", json={
            "spec": gated_spec(held.url), "mode": "async"})).json()
        await held.arrived.wait()
        assert len(tasks) == 1
        await tasks.shutdown(grace=0.05)
        assert len(tasks) == 0
    stored = await RunsRepository().get(alice.user.id, run["id"])
    assert stored.status == "cancelled"
    events = (await alice.client.get(f"/v1/runs/{run['id']}/events",
                                     headers={"Accept": "application/json"})).json()
    assert event_types(events)[-1] == "run.cancelled"
    assert_gap_free(events)
