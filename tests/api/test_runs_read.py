"""Reading runs: the list (filters, cursor pages, newest first), one run, its output, its
events (SSE that attaches at any time, replays from Last-Event-ID, follows live events;
or JSON) and its steps log. On SQLite and Postgres."""

from __future__ import annotations

import asyncio
import base64
import itertools
import json
import uuid
from datetime import UTC, datetime, timedelta

from fastapi import FastAPI
from helpers.api_apps import greeting
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
from helpers.specs import spec as chain_spec
from helpers.specs import t

from api.services.run_streams import RunStreams
from api.services.runs import STREAMS_KEY

JSON = {"Accept": "application/json"}


async def _run(caller: Caller, name: str = "x") -> dict[str, object]:
    response = await caller.client.post("/v1/runs", json={
        "spec": three_transforms(), "inputs": {"name": name}})
    assert response.status_code == 201
    run: dict[str, object] = response.json()
    return run


async def test_list_is_newest_first_with_cursor_pages_and_filters(alice: Caller,
                                                                  bob: Caller) -> None:
    workflow, _ = await saved_workflow(alice.user.id, three_transforms())
    saved = [(await alice.client.post(f"/v1/workflows/{workflow.id}/runs",
                                      json={"inputs": {"name": str(i)}})).json()
             for i in range(3)]
    adhoc = await _run(alice)
    paused_wf, _ = await saved_workflow(alice.user.id, approval_spec([]))
    paused = (await alice.client.post(f"/v1/workflows/{paused_wf.id}/runs",
                                      json={"inputs": {}})).json()
    await _run(bob)

    everything = (await alice.client.get("/v1/runs")).json()
    ids = [r["id"] for r in everything["items"]]
    assert ids == [paused["id"], adhoc["id"], *[r["id"] for r in reversed(saved)]]
    assert everything["next_cursor"] is None

    pages, cursor = [], None
    while True:
        params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = (await alice.client.get("/v1/runs", params=params)).json()
        pages.append([r["id"] for r in page["items"]])
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert [i for p in pages for i in p] == ids
    assert [len(p) for p in pages] == [2, 2, 1]

    by_workflow = (await alice.client.get("/v1/runs",
                                          params={"workflow_id": str(workflow.id)})).json()
    assert [r["id"] for r in by_workflow["items"]] == [r["id"] for r in reversed(saved)]
    by_status = (await alice.client.get("/v1/runs", params={"status": "paused"})).json()
    assert [r["id"] for r in by_status["items"]] == [paused["id"]]
    by_source = (await alice.client.get("/v1/runs", params={"source": "agent"})).json()
    assert by_source["items"] == []
    later = (datetime.now(UTC) + timedelta(minutes=1)).isoformat()
    assert (await alice.client.get("/v1/runs", params={"created_after": later})).json()[
        "items"] == []
    assert len((await alice.client.get("/v1/runs", params={"created_before": later})).json()[
        "items"]) == 5

    for params in ({"limit": 0}, {"limit": 1001}, {"status": "sleeping"},
                   {"source": "carrier-pigeon"}, {"created_after": "yesterday"}):
        assert_problem(await alice.client.get("/v1/runs", params=params), 422)
    assert_problem(await alice.client.get("/v1/runs", params={"cursor": "garbage"}), 422,
                   "invalid_cursor")
    assert (await alice.client.get("/v1/runs", params={"limit": 1000})).status_code == 200


def _cursor(*parts: object) -> str:
    """A cursor as a client could craft one: url-safe base64 of a JSON value."""
    return base64.urlsafe_b64encode(json.dumps(list(parts)).encode()).decode().rstrip("=")


async def test_crafted_cursors_are_invalid_cursor_problems_on_every_listing(
        alice: Caller) -> None:
    """A cursor is (created_at, id) of the last item: a key or a time no listing could
    have returned is a 422 ``invalid_cursor`` before any query, on every database."""
    await _run(alice)
    await alice.client.post("/v1/workflows", json={"name": "listed", "spec": greeting()})
    await alice.client.post("/v1/files", files={"file": ("a.txt", b"a", "text/plain")})
    when, some_id = "2020-01-01T00:00:00+00:00", str(uuid.uuid4())
    everywhere = [
        "garbage", _cursor(when), _cursor(when, some_id, 3), _cursor(when, 5),
        _cursor(5, some_id), _cursor(None, some_id), _cursor("yesterday", some_id),
        _cursor(when, "a\x00b"), _cursor(when, "\ud800"), _cursor(when, ""),
        _cursor("0001-01-01T00:00:00+05:00", some_id),
        _cursor("9999-12-31T23:59:59-14:00", some_id),
        base64.urlsafe_b64encode(b'{"a": 1, "b": 2}').decode(),
        base64.urlsafe_b64encode(b"\xff\xfe").decode(),
    ]
    for path in ("/v1/runs", "/v1/workflows", "/v1/files"):
        for cursor in everywhere:
            assert_problem(await alice.client.get(path, params={"cursor": cursor}), 422,
                           "invalid_cursor")
    for path in ("/v1/workflows", "/v1/files"):  # their ids are UUIDs
        for key in ("x", some_id + "0", some_id.upper()[:-1]):
            assert_problem(await alice.client.get(path, params={"cursor": _cursor(when, key)}),
                           422, "invalid_cursor")
        listed = await alice.client.get(path, params={"cursor": _cursor(when, some_id)})
        assert listed.status_code == 200, listed.text
    # a run id is what the runs table holds (1 to 64 characters, like GET /runs/{run_id})
    assert_problem(await alice.client.get("/v1/runs", params={"cursor": _cursor(
        when, "r" * 65)}), 422, "invalid_cursor")
    for key in ("x", uuid.uuid4().hex, "r" * 64):
        listed = await alice.client.get("/v1/runs", params={"cursor": _cursor(when, key)})
        assert listed.status_code == 200, listed.text
    # the far ends of the calendar in UTC are positions like any other
    for moment in ("0001-01-01T00:00:00+00:00", "9999-12-31T23:59:59.999999+00:00"):
        for path, key in (("/v1/runs", "x"), ("/v1/workflows", some_id),
                          ("/v1/files", some_id)):
            listed = await alice.client.get(path, params={"cursor": _cursor(moment, key)})
            assert listed.status_code == 200, listed.text


async def test_time_ranges_past_the_calendar_in_utc_are_clamped(alice: Caller) -> None:
    """``0001-01-01T00:00:00+05:00`` is in year 0 in UTC, ``9999-12-31T23:59:59-14:00``
    in year 10000: neither fits a datetime, both are before / after every run."""
    run = await _run(alice)
    early, late = "0001-01-01T00:00:00+05:00", "9999-12-31T23:59:59-14:00"

    async def listed(**params: str) -> list[str]:
        response = await alice.client.get("/v1/runs", params=params)
        assert response.status_code == 200, response.text
        return [r["id"] for r in response.json()["items"]]

    assert run["id"] in await listed(created_after=early)
    assert run["id"] in await listed(created_before=late)
    assert run["id"] in await listed(created_after=early, created_before=late)
    assert await listed(created_after=late) == []
    assert await listed(created_before=early) == []
    assert run["id"] in await listed(created_after="0001-01-01T00:00:00",
                                     created_before="9999-12-31T23:59:59.999999Z")


async def test_get_and_output_are_the_owners_only(alice: Caller, bob: Caller) -> None:
    run = await _run(alice, "ann")
    got = (await alice.client.get(f"/v1/runs/{run['id']}")).json()
    assert got == run
    output = (await alice.client.get(f"/v1/runs/{run['id']}/output")).json()
    assert output == {"run_id": run["id"], "status": "completed",
                      "outputs": {"text": "Hello, ann!", "loud": "HELLO, ANN!"},
                      "error": None, "interrupts": []}
    for path in ("", "/output", "/events", "/steps", "/checkpoints"):
        assert_problem(await bob.client.get(f"/v1/runs/{run['id']}{path}"), 404, "not_found")
        assert_problem(await alice.client.get(f"/v1/runs/nope{path}"), 404)


async def test_events_as_json_and_as_sse_with_replay_from_last_event_id(
    alice: Caller,
) -> None:
    run = await _run(alice)
    events = (await alice.client.get(f"/v1/runs/{run['id']}/events", headers=JSON)).json()
    assert_gap_free(events)
    assert event_types(events)[0] == "run.started"
    assert event_types(events)[-1] == "run.completed"
    assert events[-1]["seq"] == run["last_seq"]

    sse = await alice.client.get(f"/v1/runs/{run['id']}/events")
    assert sse.headers["content-type"].startswith("text/event-stream")
    frames = sse_events(sse.text)
    assert [f["data"] for f in frames] == events
    assert sse.text.startswith("retry: 1000\n\n")

    resumed = sse_events((await alice.client.get(f"/v1/runs/{run['id']}/events",
                                                 headers={"Last-Event-ID": "3"})).text)
    assert [f["data"] for f in resumed] == events[3:]
    assert_gap_free(resumed, first=4)
    after = sse_events((await alice.client.get(f"/v1/runs/{run['id']}/events",
                                               params={"after": 5})).text)
    assert [f["data"] for f in after] == events[5:]
    assert (await alice.client.get(f"/v1/runs/{run['id']}/events",
                                   params={"after": 2, "limit": 2}, headers=JSON)).json() \
        == events[2:4]
    assert (await alice.client.get(f"/v1/runs/{run['id']}/events",
                                   params={"after": 999})).text == "retry: 1000\n\n"
    assert_problem(await alice.client.get(f"/v1/runs/{run['id']}/events",
                                          headers={"Last-Event-ID": "x"}), 422)
    assert_problem(await alice.client.get(f"/v1/runs/{run['id']}/events",
                                          params={"after": -1}), 422)


async def test_attaching_mid_run_replays_then_follows_live_without_gaps(
    app: FastAPI, alice: Caller,
) -> None:
    streams = app.state.service.extras[STREAMS_KEY]
    assert isinstance(streams, RunStreams)
    async with gate() as held:
        run = (await alice.client.post("/v1/runs", json={
            "spec": gated_spec(held.url), "mode": "async"})).json()
        await held.arrived.wait()  # run.queued, run.started, 'before' done, in the gate
        followers = [asyncio.create_task(alice.client.get(
            f"/v1/runs/{run['id']}/events", headers=headers))
            for headers in ({}, {"Last-Event-ID": "2"}, {"Last-Event-ID": "0"})]
        async with asyncio.timeout(10):
            while streams.watching(run["id"]) < len(followers):  # noqa: ASYNC110
                await asyncio.sleep(0.01)
        held.open()
        responses = await asyncio.gather(*followers)
    whole, tail, again = (sse_events(r.text) for r in responses)
    assert_gap_free(whole)
    assert event_types(whole)[0] == "run.queued"
    assert event_types(whole)[-1] == "run.completed"
    assert [f["data"] for f in tail] == [f["data"] for f in whole[2:]]
    assert [f["data"] for f in again] == [f["data"] for f in whole]
    stored = (await alice.client.get(f"/v1/runs/{run['id']}/events", headers=JSON)).json()
    assert stored == [f["data"] for f in whole]
    assert streams.watching(run["id"]) == 0
    assert (await alice.client.get(f"/v1/runs/{run['id']}")).json()["status"] == "completed"


async def test_attaching_to_a_paused_run_replays_up_to_the_pause_and_ends(
    alice: Caller,
) -> None:
    workflow, _ = await saved_workflow(alice.user.id, approval_spec([]))
    run = (await alice.client.post(f"/v1/workflows/{workflow.id}/runs",
                                   json={"inputs": {}})).json()
    frames = sse_events((await alice.client.get(f"/v1/runs/{run['id']}/events")).text)
    assert event_types(frames)[-1] == "run.paused"
    assert_gap_free(frames)


async def test_steps_log_with_filters_limits_and_durations(alice: Caller) -> None:
    spec = {
        "spec_version": "1", "name": "branchy",
        "nodes": [{"id": "start", "type": "transform", "value": 3},
                  {"id": "big", "type": "condition", "if": "{{ nodes.start > 1 }}"},
                  {"id": "yes", "type": "transform", "value": "big"},
                  {"id": "nope", "type": "transform", "value": "small"},
                  {"id": "boom", "type": "transform", "value": "{{ 1 // 0 }}",
                   "on_error": "continue"}],
        "edges": [{"from": "start", "to": "big"}, {"from": "big", "port": "true", "to": "yes"},
                  {"from": "big", "port": "false", "to": "nope"},
                  {"from": "yes", "to": "boom"}],
        "outputs": {"yes": "{{ nodes.yes | default(none) }}"},
    }
    run = (await alice.client.post("/v1/runs", json={"spec": spec})).json()
    assert run["status"] == "completed", run
    url = f"/v1/runs/{run['id']}/steps"
    steps = (await alice.client.get(url)).json()
    items = steps["items"]
    assert steps["next_after_id"] is None
    assert [s["node_id"] for s in items if s["status"] == "completed"] == ["start", "big", "yes"]
    assert all(s["duration_ms"] is not None and s["duration_ms"] >= 0 for s in items)
    started = [s["started_at"] for s in items]
    assert started == sorted(started)
    by_node = {s["node_id"]: s for s in items}
    assert by_node["nope"]["status"] == "skipped"
    assert by_node["big"]["ports"] == ["true"]
    assert by_node["boom"]["status"] == "failed"
    assert by_node["boom"]["error"]["handled"] is True
    assert by_node["start"]["output_summary"] == {"value": 3}

    def ids(params: dict[str, object]) -> list[str]:
        return [s["node_id"] for s in alice_steps[str(params)]]

    alice_steps = {}
    for params in ({"node_id": "yes"}, {"node_type": "condition"}, {"status": "skipped"},
                   {"errors_only": "true"}):
        alice_steps[str(params)] = (await alice.client.get(url, params=params)).json()["items"]
    assert ids({"node_id": "yes"}) == ["yes"]
    assert ids({"node_type": "condition"}) == ["big"]
    assert ids({"status": "skipped"}) == ["nope"]
    assert ids({"errors_only": "true"}) == ["boom"]

    first = (await alice.client.get(url, params={"limit": 2})).json()
    assert len(first["items"]) == 2
    rest = (await alice.client.get(url, params={"limit": 1000,
                                                "after_id": first["next_after_id"]})).json()
    assert [s["id"] for s in first["items"] + rest["items"]] == [s["id"] for s in items]
    for params in ({"limit": 0}, {"limit": 1001}, {"status": "sleepy"}):
        assert_problem(await alice.client.get(url, params=params), 422)


async def test_a_last_full_page_of_steps_has_no_next_after_id(alice: Caller) -> None:
    names = [f"s{i}" for i in range(6)]
    run = (await alice.client.post("/v1/runs", json={"spec": chain_spec(
        [t(n, i) for i, n in enumerate(names)], list(itertools.pairwise(names)))})
           ).json()
    assert run["status"] == "completed", run
    url = f"/v1/runs/{run['id']}/steps"
    whole = (await alice.client.get(url, params={"limit": 6})).json()
    assert [s["node_id"] for s in whole["items"]] == names
    assert whole["next_after_id"] is None
    first = (await alice.client.get(url, params={"limit": 3})).json()
    assert first["next_after_id"] == first["items"][-1]["id"]
    rest = (await alice.client.get(url, params={"limit": 3,
                                                "after_id": first["next_after_id"]})).json()
    assert [s["node_id"] for s in rest["items"]] == names[3:]
    assert rest["next_after_id"] is None


async def test_an_async_run_is_listed_while_it_runs(alice: Caller) -> None:
    async with gate() as held:
        run = (await alice.client.post("/v1/runs", json={
            "spec": gated_spec(held.url), "mode": "async"})).json()
        await held.arrived.wait()
        running = (await alice.client.get("/v1/runs", params={"status": "running"})).json()
        assert [r["id"] for r in running["items"]] == [run["id"]]
        steps = (await alice.client.get(f"/v1/runs/{run['id']}/steps")).json()["items"]
        assert [s["node_id"] for s in steps] in ([], ["before"])  # written in batches
        held.open()
        await wait_for_status(alice.client, run["id"], {"completed"})


async def test_what_the_databases_cannot_hold_is_a_422_not_a_500(alice: Caller) -> None:
    """NUL characters and integers past INTEGER are refused before any query (Postgres
    would fail on them where SQLite accepts them)."""
    run = await _run(alice)
    for path in ("/v1/runs/a%00b", f"/v1/runs/{run['id']}/checkpoints/a%00b",
                 f"/v1/runs/{run['id']}/signals/a%00b", "/v1/approvals/a%00b"):
        method = alice.client.post if "signals" in path else alice.client.get
        assert_problem(await method(path), 422, "invalid_request")
    for params in ({"workflow_id": "a\x00"}, {"cursor": "\x00"}):
        assert_problem(await alice.client.get("/v1/runs", params=params), 422)
    assert_problem(await alice.client.get(f"/v1/runs/{run['id']}/steps",
                                          params={"node_id": "\x00"}), 422)
    assert_problem(await alice.client.get(f"/v1/runs/{run['id']}/events",
                                          params={"after": 2**40}), 422)
    assert_problem(await alice.client.get(f"/v1/runs/{run['id']}/events",
                                          headers={"Last-Event-ID": str(2**40)}), 422)
    assert_problem(await alice.client.post("/v1/runs", json={
        "spec": three_transforms(), "inputs": {"name": "a\x00b"}}), 422, "invalid_request")
    workflow, _ = await saved_workflow(alice.user.id, three_transforms())
    assert_problem(await alice.client.post(f"/v1/workflows/{workflow.id}/runs", json={
        "inputs": {"name": "x"}, "version": 2**40}), 422, "invalid_request")


async def test_attaching_after_many_unwritten_events_misses_none(app: FastAPI,
                                                                 alice: Caller) -> None:
    """A sync or async run writes its events when it pauses or ends; a client attaching
    after a thousand of them still gets every one, in order."""
    streams = app.state.service.extras[STREAMS_KEY]
    assert isinstance(streams, RunStreams)
    async with gate() as held:
        spec = gated_spec(held.url)
        spec["inputs"] = {"type": "object", "properties": {"items": {"type": "array"}}}
        spec["nodes"][0] = {"id": "before", "type": "map", "items": "{{ inputs.items }}",
                            "concurrency": 8,
                            "body": {"nodes": [{"id": "one", "type": "transform",
                                                "value": "{{ item }}"}]}}
        run = (await alice.client.post("/v1/runs", json={
            "spec": spec, "mode": "async", "inputs": {"items": list(range(700))}})).json()
        await held.arrived.wait()
        stored = (await alice.client.get(f"/v1/runs/{run['id']}/events",
                                         headers=JSON)).json()
        assert len(stored) < 10  # the map's events are not written yet
        follower = asyncio.create_task(alice.client.get(f"/v1/runs/{run['id']}/events"))
        async with asyncio.timeout(10):
            while streams.watching(run["id"]) < 1:  # noqa: ASYNC110
                await asyncio.sleep(0.01)
        held.open()
        frames = sse_events((await follower).text)
    assert len(frames) > 1400
    assert_gap_free(frames)
    assert event_types(frames)[-1] == "run.completed"
    stored = (await alice.client.get(f"/v1/runs/{run['id']}/events", headers=JSON,
                                     params={"limit": 10_000})).json()
    assert stored == [f["data"] for f in frames]


async def test_an_idle_stream_sends_keep_alive_comments(app: FastAPI, alice: Caller) -> None:
    """While a run is quiet the follower ticks (an SSE comment line on the wire); the
    period is 15 s in the service, shortened here."""
    from api.services.run_streams import KEEPALIVE, sse_body
    from shared.database.repositories import EventsRepository, RunsRepository
    from workflow_compiler.runtime import RunEvent

    streams = app.state.service.extras[STREAMS_KEY]
    async with gate() as held:
        run = (await alice.client.post("/v1/runs", json={
            "spec": gated_spec(held.url), "mode": "async"})).json()
        await held.arrived.wait()

        async def state() -> tuple[str, int]:
            info = await RunsRepository().get(alice.user.id, run["id"])
            return info.status, info.last_seq

        async def stored(after: int) -> list[RunEvent]:
            return await EventsRepository().after(run["id"], after)

        body = sse_body(streams.follow(run["id"], 0, state=state, stored=stored,
                                       keepalive=0.05, poll=0.02))
        chunks = []
        async for chunk in body:
            chunks.append(chunk)
            if chunks.count(KEEPALIVE) == 2:
                held.open()
        text = "".join(chunks)
    assert text.count(KEEPALIVE) >= 2
    frames = sse_events(text)
    assert_gap_free(frames)
    assert event_types(frames)[-1] == "run.completed"
    assert text.index(KEEPALIVE) < text.index("event: run.completed")
