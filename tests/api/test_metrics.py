"""``/metrics``: Prometheus text with HTTP latency by route template, runs by status (from
the database) and node durations by node type (from the runtime's events)."""

from __future__ import annotations

import httpx
from helpers.api_apps import AppFactory, create, greeting
from helpers.api_client import Caller, assert_problem, client_for
from prometheus_client.parser import text_string_to_metric_families


def samples(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return found


def value(found: dict[tuple[str, frozenset[tuple[str, str]]], float], name: str,
          **labels: str) -> float:
    return found.get((name, frozenset(labels.items())), 0.0)


async def scrape(client: httpx.AsyncClient) -> dict[tuple[str, frozenset[tuple[str, str]]],
                                                    float]:
    response = await client.get("/metrics")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    return samples(response.text)


async def test_latency_runs_and_node_durations(alice: Caller,
                                               anonymous: httpx.AsyncClient) -> None:
    before = await scrape(anonymous)
    made = await create(alice, "measured", spec=greeting())
    await alice.client.post(f"/v1/workflows/{made['id']}/versions")
    for _ in range(2):
        run = await alice.client.post(f"/v1/workflows/{made['id']}/runs", json={})
        assert run.status_code in (200, 201), run.text
        assert run.json()["status"] == "completed"
    await alice.client.get(f"/v1/workflows/{made['id']}")
    await alice.client.get("/v1/no-such-route")
    await alice.client.request("BREW", "/v1/coffee")
    after = await scrape(anonymous)

    latency = "graphwright_http_request_duration_seconds_count"
    assert value(after, latency, method="GET", route="/v1/workflows/{workflow_id}",
                 status="200") == 1
    assert value(after, latency, method="POST", route="/v1/workflows", status="201") == 1
    assert value(after, latency, method="GET", route="<unmatched>", status="404") == 1
    assert value(after, latency, method="OTHER", route="<unmatched>", status="404") == 1
    assert not any(made["id"] in dict(labels).get("route", "") for _, labels in after)

    completed = value(after, "graphwright_runs", status="completed")
    assert completed == value(before, "graphwright_runs", status="completed") + 2
    assert value(after, "graphwright_runs", status="paused") == \
        value(before, "graphwright_runs", status="paused")
    assert value(after, "graphwright_runs_finished_total", status="completed") == 2

    durations = "graphwright_node_duration_seconds_count"
    assert value(after, durations, node_type="transform") == 2
    assert value(after, "graphwright_node_duration_seconds_sum", node_type="transform") >= 0


async def test_a_metrics_token_guards_the_endpoint(app_with: AppFactory) -> None:
    async with app_with(metrics_token="s3cret") as app:
        async with client_for(app) as anonymous:
            assert_problem(await anonymous.get("/metrics"), 401, "unauthenticated")
        async with client_for(app, "wrong") as wrong:
            assert_problem(await wrong.get("/metrics"), 401)
        async with client_for(app, "s3cret") as scraper:
            assert (await scraper.get("/metrics")).status_code == 200


async def test_metrics_can_be_turned_off(app_with: AppFactory) -> None:
    async with app_with(metrics_enabled=False) as app, client_for(app) as client:
        assert_problem(await client.get("/metrics"), 404, "not_found")
