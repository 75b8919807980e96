"""End to end over a real socket: ``uvicorn api.main:app`` in a process of its own on
127.0.0.1, configured through the environment like a deployment, a user made with
``graphwright users create``, and every call over HTTP with httpx. A workflow is created,
its draft saved, versioned, published and run (sync, streamed over SSE, paused on an
approval then approved through the inbox until it completes); its runs and steps are
listed; the server then shuts down cleanly. On SQLite and Postgres."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from helpers.api_world import approval_spec, assert_gap_free, event_types, three_transforms

from api.services.run_streams import sse_events
from shared.config import Settings

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _environment(settings: Settings) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GRAPHWRIGHT_")}
    env.update({
        "GRAPHWRIGHT_DATA_DIR": str(settings.data_dir),
        "GRAPHWRIGHT_DATABASE_URL": settings.database_url,
        "GRAPHWRIGHT_CHECKPOINTER_URL": settings.checkpointer_url,
        "GRAPHWRIGHT_LOG_LEVEL": "warning",
    })
    if settings.secrets_key is not None:
        env["GRAPHWRIGHT_SECRETS_KEY"] = settings.secrets_key.get_secret_value()
    return env


def _create_user(env: dict[str, str], name: str) -> str:
    done = subprocess.run([str(BIN / "graphwright"), "users", "create", name], env=env,
                          cwd=ROOT, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    key = done.stdout.strip().splitlines()[-1]
    assert key.startswith("gw_")
    return key


@contextmanager
def _serving(command: list[str], env: dict[str, str], log: Path, port: int,
             probe: str = "/readyz") -> Iterator[str]:
    """The API started by ``command`` on ``port``, once ``probe`` answers 200; yields its
    base URL. Stopped with SIGTERM, as a process manager would, and must shut down cleanly
    (lifespan exit, no traceback)."""
    with log.open("w") as out:
        process = subprocess.Popen(command, env=env, cwd=ROOT, stdout=out,
                                   stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert process.poll() is None, log.read_text()
            try:
                if httpx.get(f"{base}{probe}", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "the server did not start:\n" + log.read_text()
            time.sleep(0.1)
        yield base
    finally:
        process.terminate()
        try:
            code = process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            raise
    # uvicorn re-raises the signal it handled once shut down: -SIGTERM after a clean stop
    assert code in (0, -15), log.read_text()
    assert "Application shutdown complete." in log.read_text(), log.read_text()
    assert "Traceback" not in log.read_text(), log.read_text()


@pytest.fixture
def server(settings: Settings) -> Iterator[tuple[str, dict[str, str]]]:
    """``uvicorn api.main:app`` on a free port; yields (base URL, environment)."""
    env = _environment(settings)
    port = _free_port()
    command = [sys.executable, "-m", "uvicorn", "api.main:app", "--host", "127.0.0.1",
               "--port", str(port), "--log-level", "info", "--no-access-log"]
    with _serving(command, env, settings.data_dir / "uvicorn.log", port) as base:
        yield base, env


def _ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


def test_a_workflow_over_real_http(server: tuple[str, dict[str, str]]) -> None:
    base, env = server
    owner_name, approver_name = f"e2e-{uuid.uuid4().hex[:8]}", f"ok-{uuid.uuid4().hex[:8]}"
    owner_key, approver_key = _create_user(env, owner_name), _create_user(env, approver_name)
    with httpx.Client(base_url=base, timeout=30,
                      headers={"Authorization": f"Bearer {owner_key}"}) as api, \
            httpx.Client(base_url=base, timeout=30,
                         headers={"Authorization": f"Bearer {approver_key}"}) as approver:
        assert _ok(api.get("/v1/me"))["name"] == owner_name
        assert api.get("/v1/runs", headers={"Authorization": "Bearer nope"}).status_code \
            == 401

        # create, save a draft, version, publish
        workflow = _ok(api.post("/v1/workflows", json={
            "name": "greeter", "spec": three_transforms(greeting="Hi")}), 201)
        draft = _ok(api.get(f"/v1/workflows/{workflow['id']}/draft"))
        _ok(api.put(f"/v1/workflows/{workflow['id']}/draft", json={
            "spec": three_transforms(greeting="Hello"),
            "expected_revision": draft["revision"]}))
        version = _ok(api.post(f"/v1/workflows/{workflow['id']}/versions", json={}), 201)
        assert version["number"] == 1
        assert _ok(api.post(f"/v1/workflows/{workflow['id']}/versions/1/publish"))[
            "status"] == "published"

        # sync
        run = _ok(api.post(f"/v1/workflows/{workflow['id']}/runs",
                           json={"inputs": {"name": "grace"}}), 201)
        assert (run["status"], run["outputs"]) == \
            ("completed", {"text": "Hello, grace!", "loud": "HELLO, GRACE!"})
        assert run["version_id"] == version["id"]

        # streamed: read the SSE body as it arrives
        with api.stream("POST", f"/v1/workflows/{workflow['id']}/runs",
                        json={"inputs": {"name": "linus"}, "mode": "stream"}) as streamed:
            assert streamed.status_code == 200
            assert streamed.headers["content-type"].startswith("text/event-stream")
            text = "".join(streamed.iter_text())
        frames = sse_events(text)
        assert_gap_free(frames)
        assert event_types(frames)[0] == "run.queued"
        assert event_types(frames)[-1] == "run.completed"
        assert frames[-1]["data"]["data"]["outputs"]["loud"] == "HELLO, LINUS!"
        streamed_id = frames[0]["data"]["run_id"]
        assert _ok(api.get(f"/v1/runs/{streamed_id}"))["status"] == "completed"
        replay = sse_events(api.get(f"/v1/runs/{streamed_id}/events",
                                    headers={"Last-Event-ID": "2"}).text)
        assert [f["data"] for f in replay] == [f["data"] for f in frames[2:]]

        # an approval: paused, approved through the inbox, completed
        gated = _ok(api.post("/v1/workflows", json={
            "name": "refunds", "spec": approval_spec([approver_name])}), 201)
        _ok(api.post(f"/v1/workflows/{gated['id']}/versions", json={}), 201)
        _ok(api.post(f"/v1/workflows/{gated['id']}/versions/1/publish"))
        paused = _ok(api.post(f"/v1/workflows/{gated['id']}/runs",
                              json={"inputs": {"amount": 120}}), 201)
        assert paused["status"] == "paused"
        [pending] = _ok(approver.get("/v1/approvals", params={"status": "pending"}))
        assert (pending["run_id"], pending["question"]) == (paused["id"], "Refund 120?")
        decided = _ok(approver.post(f"/v1/approvals/{pending['id']}/responses",
                                    json={"decision": "approve", "comment": "ok"}))
        assert (decided["status"], decided["decision"]) == ("decided", "approved")
        assert decided["responses"][0]["by"] == approver_name
        done = _ok(api.get(f"/v1/runs/{paused['id']}"))
        assert (done["status"], done["outputs"]) == ("completed", {"result": "refunded"})
        events = _ok(api.get(f"/v1/runs/{paused['id']}/events",
                             headers={"Accept": "application/json"}))
        assert_gap_free(events)
        assert event_types(events)[-1] == "run.completed"
        assert ("run.resumed", None) in [(e["type"], e["node_id"]) for e in events]

        # its runs and steps
        runs = _ok(api.get("/v1/runs", params={"workflow_id": workflow["id"]}))["items"]
        assert [r["id"] for r in runs] == [streamed_id, run["id"]]
        assert [r["id"] for r in _ok(api.get("/v1/runs", params={"status": "completed",
                                                                   "limit": 1}))["items"]] \
            == [paused["id"]]
        steps = _ok(api.get(f"/v1/runs/{paused['id']}/steps"))["items"]
        by_node = {s["node_id"]: s for s in steps}
        assert by_node["approve"]["node_type"] == "approval"
        assert by_node["approve"]["ports"] == ["approved"]
        assert by_node["no"]["status"] == "skipped"
        assert all(s["duration_ms"] is not None for s in steps)
        assert approver.get(f"/v1/runs/{paused['id']}").status_code == 404


def test_graphwright_serve_runs_hello_over_http(settings: Settings, tmp_path: Path) -> None:
    """``graphwright serve`` itself, the console script the README starts: on SQLite with
    nothing but an empty GRAPHWRIGHT_DATA_DIR (database, checkpoints and secrets key made
    on first start), on Postgres with its URLs. Once /healthz answers, a user made with
    ``graphwright users create`` runs examples/hello.json ad hoc to completion."""
    data_dir = tmp_path / "fresh"
    if settings.is_sqlite:
        env = {k: v for k, v in os.environ.items() if not k.startswith("GRAPHWRIGHT_")}
        env["GRAPHWRIGHT_DATA_DIR"] = str(data_dir)
    else:
        env = _environment(settings)
    env["GRAPHWRIGHT_LOG_LEVEL"] = "info"  # the shutdown line the clean stop is judged by
    port = _free_port()
    command = [str(BIN / "graphwright"), "serve", "--port", str(port)]
    with _serving(command, env, tmp_path / "serve.log", port, probe="/healthz") as base:
        key = _create_user(env, f"serve-{uuid.uuid4().hex[:8]}")
        with httpx.Client(base_url=base, timeout=30,
                          headers={"Authorization": f"Bearer {key}"}) as api:
            assert _ok(api.get("/readyz"))["status"] == "ok"
            spec = json.loads((ROOT / "examples" / "hello.json").read_text())
            run = _ok(api.post("/v1/runs", json={"spec": spec,
                                                 "inputs": {"name": "  ada lovelace "}}), 201)
            assert run["status"] == "completed", run
            assert run["outputs"] == {
                "greeting": "Hello, Ada Lovelace! 11 letters, what a grand name.",
                "letters": 11}
            assert _ok(api.get(f"/v1/runs/{run['id']}/steps"))["items"][0]["node_id"] == \
                "tidy"
    if settings.is_sqlite:
        assert {"graphwright.db", "checkpoints.sqlite", "secrets.key"} <= \
            {p.name for p in data_dir.iterdir()}
