"""Sync-run throughput and latency over real HTTP, with the baselines that make it mean
something, on SQLite and on Postgres.

What is measured, per database and per number N of concurrent clients (default 1, 8, 32):

* ``api``: ``POST /v1/workflows/{id}/runs`` (mode sync) of a published 3-node transform
  workflow, served by ``uvicorn api.main:app`` (its own process, or ``--workers`` processes
  on Postgres) on 127.0.0.1, driven by a separate load-generating process holding N
  keep-alive connections, each sending its next request when the previous answer is in
  (closed loop). Every answer is checked (201 and ``"completed"``); anything else counts
  as an error.
* ``empty``: the same load generator against an empty FastAPI endpoint (``empty_app``
  below: a JSON body in, a small JSON out) on the same uvicorn settings: the ceiling the
  HTTP stack leaves on this machine.
* ``in_process``: the same run the service's way without HTTP: ``RunsRepository.create``
  then ``WorkflowRuntime.start`` on the same database, store and checkpointer, N runs in
  flight at once in one event loop (one process: the API's single-worker case).
* ``engine``: ``WorkflowRuntime.start`` with its in-memory store and saver: the engine
  alone.

The load generator is a raw asyncio HTTP/1.1 client (a pre-built request, Content-Length
framing): an httpx client would spend more CPU per request than the endpoint under test,
on the same two cores. Throughput counts requests completed inside the measured window
(after a warm-up); latencies are per request, p50 and p99.

The machine is shared: the load average is recorded before and after, and the contestants
run back to back per database, so ratios are more telling than absolute figures.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from fastapi import FastAPI

from bench._common import RESULTS, ROOT, code_snapshot, command, machine, write_json

DATABASES = ("sqlite", "postgres")
TARGET_RUNS_PER_SECOND = 250
N8N_RUNS_PER_SECOND = 220

#: the benchmark's workflow: three chained transforms over a required input
SPEC: dict[str, Any] = {
    "spec_version": "1", "name": "bench-three",
    "inputs": {"type": "object", "properties": {"name": {"type": "string"}},
               "required": ["name"]},
    "nodes": [
        {"id": "clean", "type": "transform", "value": "{{ inputs.name | trim }}"},
        {"id": "greet", "type": "transform", "value": {"text": "Hello, {{ nodes.clean }}!"}},
        {"id": "shout", "type": "transform", "value": "{{ nodes.greet.text | upper }}"},
    ],
    "edges": [{"from": "clean", "to": "greet"}, {"from": "greet", "to": "shout"}],
    "outputs": {"text": "{{ nodes.greet.text }}", "loud": "{{ nodes.shout }}"},
}
INPUTS = {"name": " ada "}
RUN_BODY = json.dumps({"inputs": INPUTS, "mode": "sync"}).encode()

empty_app = FastAPI(title="empty")


@empty_app.post("/empty")
async def _empty(body: dict[str, Any]) -> dict[str, Any]:
    """The baseline endpoint: parses a JSON body and answers a small JSON object."""
    return {"ok": True, "keys": len(body)}


# ------------------------------------------------------------------------- load generator

_LENGTH = re.compile(rb"content-length:\s*(\d+)", re.IGNORECASE)


async def _client(host: str, port: int, request: bytes, expect: bytes, start: float,
                  measure_from: float, end: float, latencies: list[float],
                  errors: list[str]) -> int:
    loop = asyncio.get_running_loop()
    reader, writer = await asyncio.open_connection(host, port)
    done = 0
    try:
        while True:
            began = loop.time()
            if began >= end:
                return done
            try:
                writer.write(request)
                head = await reader.readuntil(b"\r\n\r\n")
                match = _LENGTH.search(head)
                body = await reader.readexactly(int(match.group(1))) if match else b""
            except (ConnectionError, asyncio.IncompleteReadError) as exc:
                # the server dropped the connection (a worker restarted): an error, and a
                # new connection, as a browser or a load balancer would do
                errors.append(f"connection lost: {type(exc).__name__}")
                writer.close()
                reader, writer = await asyncio.open_connection(host, port)
                continue
            finished = loop.time()
            ok = head[9:12] in (b"200", b"201") and expect in body
            if not ok:
                errors.append((head[:12] + b" " + body[:200]).decode(errors="replace"))
            if began >= measure_from and finished <= end:
                latencies.append(finished - began)
                done += 1
    finally:
        writer.close()
        with contextlib.suppress(ConnectionError):
            await writer.wait_closed()


async def _load(url: str, path: str, key: str | None, body: bytes, expect: bytes,
                concurrency: int, duration: float, warmup: float) -> dict[str, Any]:
    host, _, port = url.removeprefix("http://").partition(":")
    headers = [f"POST {path} HTTP/1.1", f"Host: {host}:{port}",
               "Content-Type: application/json", f"Content-Length: {len(body)}"]
    if key:
        headers.append(f"Authorization: Bearer {key}")
    request = ("\r\n".join(headers) + "\r\n\r\n").encode() + body
    loop = asyncio.get_running_loop()
    start = loop.time()
    measure_from, end = start + warmup, start + warmup + duration
    latencies: list[float] = []
    errors: list[str] = []
    cpu = time.process_time()
    await asyncio.gather(*[_client(host, int(port), request, expect, start, measure_from, end,
                                   latencies, errors) for _ in range(concurrency)])
    return {"completed": len(latencies), "window_seconds": duration,
            "per_second": len(latencies) / duration, **_latency(latencies),
            "errors": len(errors), "error_sample": errors[:3],
            "load_generator_cpu_seconds": round(time.process_time() - cpu, 3)}


def _latency(samples: list[float]) -> dict[str, Any]:
    if not samples:
        return {"p50_ms": None, "p99_ms": None, "mean_ms": None}
    ordered = sorted(samples)

    def pick(q: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000, 3)

    return {"p50_ms": pick(0.50), "p99_ms": pick(0.99),
            "mean_ms": round(statistics.fmean(ordered) * 1000, 3)}


def result_has_errors(stdout: str) -> bool:
    try:
        return bool(json.loads(stdout).get("errors"))
    except ValueError:
        return False


def _load_process(url: str, path: str, key: str | None, body: bytes, expect: bytes,
                  concurrency: int, duration: float, warmup: float) -> dict[str, Any]:
    """The load generator in a process of its own (its CPU is not the server's)."""
    spec = json.dumps({"url": url, "path": path, "key": key, "body": body.decode(),
                       "expect": expect.decode(), "concurrency": concurrency,
                       "duration": duration, "warmup": warmup})
    done = subprocess.run([sys.executable, __file__, "--load-generator", spec], cwd=ROOT,
                          capture_output=True, text=True, timeout=duration + warmup + 120,
                          check=False)
    if done.returncode != 0:
        raise RuntimeError(f"load generator failed: {done.stderr[-2000:]}")
    if result_has_errors(done.stdout):
        print(f"  errors at N={concurrency}: see error_sample in the results", flush=True)
    result: dict[str, Any] = json.loads(done.stdout)
    return result


# ----------------------------------------------------------------------------- servers


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def _server(app: str, env: dict[str, str], workers: int, log: Path) -> Iterator[str]:
    port = _free_port()
    with log.open("a") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", app, "--host", "127.0.0.1", "--port", str(port),
             "--workers", str(workers), "--log-level", "warning", "--no-access-log"],
            env=env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_ready(url, process, log)
        if workers > 1:
            time.sleep(1.0)  # the first answer came from one worker; let the others start
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _wait_ready(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    host, _, port = url.removeprefix("http://").partition(":")
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError("server exited:\n" + log.read_text()[-3000:])
        try:
            with socket.create_connection((host, int(port)), timeout=1) as sock:
                sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
                if sock.recv(64).startswith(b"HTTP/1.1"):
                    return
        except OSError:
            pass
        time.sleep(0.1)
    raise RuntimeError("server did not start:\n" + log.read_text()[-3000:])


# ---------------------------------------------------------------------------- databases


@contextmanager
def _database(kind: str, postgres_url: str | None, work: Path) -> Iterator[dict[str, str]]:
    """A fresh service database (migrated) and the environment that points a server at it."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GRAPHWRIGHT_")}
    env["GRAPHWRIGHT_DATA_DIR"] = str(work / kind)
    env["GRAPHWRIGHT_LOG_LEVEL"] = "warning"
    if kind == "sqlite":
        env["GRAPHWRIGHT_DATABASE_URL"] = f"sqlite://{work / kind / 'graphwright.db'}"
        yield env
        return
    import psycopg

    assert postgres_url is not None
    name = f"gw_bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    prefix, _, _ = postgres_url.rpartition("/")
    env["GRAPHWRIGHT_DATABASE_URL"] = f"{prefix}/{name}".replace("postgresql://", "postgres://")
    try:
        yield env
    finally:
        with psycopg.connect(postgres_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def _prepare(env: dict[str, str]) -> tuple[str, str, str]:
    """(API key, workflow id, user id): a user with the workflow published."""
    from shared.database import close_db, init_db
    from shared.database.repositories import (
        UsersRepository,
        VersionsRepository,
        WorkflowsRepository,
    )

    await init_db(env["GRAPHWRIGHT_DATABASE_URL"], pool_max=2)
    try:
        user, key = await UsersRepository().create_user(f"bench-{uuid.uuid4().hex[:8]}")
        workflow = await WorkflowsRepository().create(user.id, "bench-three", spec=SPEC)
        version, _ = await VersionsRepository().create(user.id, workflow.id, SPEC)
        await VersionsRepository().publish(user.id, workflow.id, version.number)
    finally:
        await close_db()
    return key, str(workflow.id), str(user.id)


async def _closed_loop(run_one: Any, concurrency: int, duration: float, warmup: float
                       ) -> dict[str, Any]:
    loop = asyncio.get_running_loop()
    start = loop.time()
    measure_from, end = start + warmup, start + warmup + duration
    latencies: list[float] = []

    async def worker() -> None:
        while (began := loop.time()) < end:
            await run_one()
            finished = loop.time()
            if began >= measure_from and finished <= end:
                latencies.append(finished - began)

    await asyncio.gather(*[worker() for _ in range(concurrency)])
    return {"completed": len(latencies), "window_seconds": duration,
            "per_second": len(latencies) / duration, **_latency(latencies)}


async def _in_process(env: dict[str, str], workflow_id: str, user_id: str,
                      concurrencies: list[int], durabilities: list[str], duration: float,
                      warmup: float) -> dict[str, Any]:
    """The service's path without HTTP: register the run, then ``runtime.start``."""
    from uuid import UUID

    from shared.config import Settings
    from shared.database import close_db, init_db
    from shared.database.repositories import RunsRepository, VersionsRepository
    from shared.database.run_store import TortoiseRunStore
    from workflow_compiler.runtime import WorkflowRuntime
    from workflow_compiler.runtime.checkpointers import open_checkpointer
    from workflow_compiler.runtime.retention import Retention

    settings = Settings(data_dir=Path(env["GRAPHWRIGHT_DATA_DIR"]),
                        database_url=env["GRAPHWRIGHT_DATABASE_URL"])
    await init_db(settings.database_url, pool_max=settings.database_pool_max)
    owner = UUID(user_id)
    runs, versions = RunsRepository(), VersionsRepository()
    results: dict[str, Any] = {}
    try:
        async with open_checkpointer(settings.checkpointer_url,
                                     pool_max=settings.checkpointer_pool_max) as saver:
            store = TortoiseRunStore()
            runtimes = {}
            for setting in durabilities:
                durability, retention = _setting(setting)
                runtimes[setting] = WorkflowRuntime(
                    checkpointer=saver, store=store, durability=durability,  # type: ignore[arg-type]
                    retention=Retention(mode=retention))  # type: ignore[arg-type]

            def service_run(runtime: WorkflowRuntime) -> Any:
                async def run_one() -> None:  # what RunsService does for a sync run
                    version = await versions.resolve(owner, workflow_id)
                    run, _ = await runs.create(owner, version=version, inputs=INPUTS,
                                               started=True)
                    store.registered(run, owner)
                    record = await runtime.execute(version.spec, INPUTS, run_id=run.id)
                    assert record.status == "completed", record
                return run_one

            engine = WorkflowRuntime()

            async def engine_run() -> None:
                result = await engine.start(SPEC, INPUTS)
                assert result.status == "completed", result

            for n in concurrencies:
                point: dict[str, Any] = {
                    "engine": await _closed_loop(engine_run, n, duration, warmup),
                    "in_process": {}}
                for durability, runtime in runtimes.items():
                    point["in_process"][durability] = await _closed_loop(
                        service_run(runtime), n, duration, warmup)
                results[str(n)] = point
    finally:
        await close_db()
    return results


# --------------------------------------------------------------------------------- main


def _say(silent: bool, text: str) -> None:
    if not silent:
        print(text, flush=True)


def _profile(pid: int, seconds: float, out: Path) -> dict[str, Any]:
    """py-spy over the server process while it is under load: the hottest functions."""
    spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    raw = Path(tempfile.mkdtemp(prefix="gw-spy-")) / "stacks.txt"  # megabytes: not kept
    done = subprocess.run([spy, "record", "--pid", str(pid), "--duration", str(int(seconds)),
                           "--format", "raw", "--rate", "200", "--subprocesses",
                           "--nonblocking", "--output", str(raw)],
                          capture_output=True, text=True, timeout=seconds + 60, check=False)
    if done.returncode != 0 or not raw.exists():
        return {"error": (done.stderr or done.stdout)[-500:]}
    own: dict[str, int] = {}
    inclusive: dict[str, int] = {}
    total = 0
    for line in raw.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not count_text.isdigit():
            continue
        count = int(count_text)
        total += count
        frames = stack.split(";")
        own[frames[-1]] = own.get(frames[-1], 0) + count
        for frame in set(frames):
            inclusive[frame] = inclusive.get(frame, 0) + count

    def top(table: dict[str, int]) -> list[list[Any]]:
        return [[name, round(100 * n / total, 1)]
                for name, n in sorted(table.items(), key=lambda kv: -kv[1])[:25]]

    shutil.rmtree(raw.parent, ignore_errors=True)
    summary = {"samples": total, "self_pct": top(own), "inclusive_pct": top(inclusive)}
    write_json(out.with_suffix(".json"), summary)
    return summary


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help="N=1,4 for 1.5 s each: checks the script works")
    parser.add_argument("--concurrency", default="1,8,32")
    parser.add_argument("--duration", type=float, default=10.0, help="measured seconds per point")
    parser.add_argument("--warmup", type=float, default=2.0)
    parser.add_argument("--databases", default="sqlite,postgres")
    parser.add_argument("--postgres-url", default=os.environ.get(
        "GRAPHWRIGHT_BENCH_POSTGRES_URL", os.environ.get("GRAPHWRIGHT_TEST_POSTGRES_URL")),
        help="a database to create the benchmark's database from (libpq URL)")
    parser.add_argument("--workers", type=int, default=2,
                        help="uvicorn worker processes on Postgres (SQLite: always 1)")
    parser.add_argument("--durability", default="async,exit,exit+none",
                        help="checkpoint settings to measure: GRAPHWRIGHT_CHECKPOINT_DURABILITY"
                        ", with +RETENTION for GRAPHWRIGHT_CHECKPOINT_RETENTION (default all)")
    parser.add_argument("--profile", action="store_true",
                        help="py-spy the API server during the largest N (needs ptrace)")
    parser.add_argument("--out", type=Path, default=RESULTS / "api_throughput.json")
    parser.add_argument("--silent", action="store_true")
    parser.add_argument("--load-generator", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.load_generator:
        spec = json.loads(args.load_generator)
        result = asyncio.run(_load(spec["url"], spec["path"], spec["key"],
                                   spec["body"].encode(), spec["expect"].encode(),
                                   spec["concurrency"], spec["duration"], spec["warmup"]))
        print(json.dumps(result))
        return result

    concurrencies = [1, 4] if args.quick else [int(x) for x in args.concurrency.split(",")]
    duration = 1.5 if args.quick else args.duration
    warmup = 0.5 if args.quick else args.warmup
    databases = [d.strip() for d in args.databases.split(",") if d.strip()]
    durabilities = [d.strip() for d in args.durability.split(",") if d.strip()]
    if "postgres" in databases and not args.postgres_url:
        _say(args.silent, "no Postgres URL (--postgres-url or GRAPHWRIGHT_TEST_POSTGRES_URL): "
             "SQLite only")
        databases = [d for d in databases if d != "postgres"]
    load_before = os.getloadavg()
    code = code_snapshot()
    began = time.monotonic()
    cases: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="gw-bench-api-") as tmp:
        work = Path(tmp)
        for kind in databases:
            with _database(kind, args.postgres_url, work) as env:
                Path(env["GRAPHWRIGHT_DATA_DIR"]).mkdir(parents=True, exist_ok=True)
                key, workflow_id, user_id = asyncio.run(_prepare(env))
                workers = 1 if kind == "sqlite" else max(1, args.workers)
                _say(args.silent, f"[{kind}] in-process baselines")
                baselines = asyncio.run(_in_process(env, workflow_id, user_id, concurrencies,
                                                    durabilities, duration, warmup))
                api: dict[str, dict[str, Any]] = {str(n): {} for n in concurrencies}
                profiles: dict[str, Any] = {}
                log = work / f"{kind}-server.log"
                for durability in durabilities:
                    checkpoints, retention = _setting(durability)
                    server_env = {**env, "GRAPHWRIGHT_CHECKPOINT_DURABILITY": checkpoints,
                                  "GRAPHWRIGHT_CHECKPOINT_RETENTION": retention}
                    with _server("api.main:app", server_env, workers, log) as url:
                        for n in concurrencies:
                            _say(args.silent, f"[{kind}] api N={n} durability={durability} "
                                 f"({workers} worker(s))")
                            if args.profile and n == max(concurrencies):
                                profiles[durability] = _profile_during(
                                    url, key, workflow_id, n, duration, warmup,
                                    f"{kind}_{durability}", api[str(n)], durability)
                            else:
                                api[str(n)][durability] = _load_process(
                                    url, f"/v1/workflows/{workflow_id}/runs", key, RUN_BODY,
                                    b'"completed"', n, duration, warmup)
                empty: dict[str, Any] = {}
                with _server("bench.api_throughput:empty_app", env, workers, log) as url:
                    for n in concurrencies:
                        _say(args.silent, f"[{kind}] empty endpoint N={n}")
                        empty[str(n)] = _load_process(url, "/empty", None, RUN_BODY,
                                                      b'"ok"', n, duration, warmup)
                for n in concurrencies:
                    point = {"database": kind, "concurrency": n, "api_workers": workers,
                             "api": api[str(n)], "empty_endpoint": empty[str(n)],
                             **baselines[str(n)]}
                    point["ratios"] = _ratios(point)
                    cases.append(point)
                    _say(args.silent, _line(point))
                if profiles:
                    cases[-1]["profiles"] = profiles
    payload = {
        "benchmark": "api_throughput",
        "command": command(__file__, argv),
        "machine": {**machine(load_before, code), "lscpu": _lscpu(),
                    "uvicorn": _dist("uvicorn"), "uvloop": _dist("uvloop"),
                    "httptools": _dist("httptools"), "fastapi": _dist("fastapi"),
                    "tortoise_orm": _dist("tortoise-orm"), "asyncpg": _dist("asyncpg"),
                    "postgres": _postgres_version(args.postgres_url)
                    if "postgres" in databases else None},
        "method": {"workflow": SPEC, "inputs": INPUTS, "duration_seconds": duration,
                   "warmup_seconds": warmup, "concurrency": concurrencies,
                   "durability": durabilities,
                   "target_runs_per_second_postgres": TARGET_RUNS_PER_SECOND,
                   "n8n_runs_per_second": N8N_RUNS_PER_SECOND},
        "wall_seconds": round(time.monotonic() - began, 1),
        "cases": cases,
    }
    write_json(args.out, payload)
    _say(args.silent, f"wrote {args.out}")
    return payload


def _profile_during(url: str, key: str, workflow_id: str, n: int, duration: float,
                    warmup: float, name: str, into: dict[str, Any], durability: str
                    ) -> dict[str, Any]:
    import threading

    pids = _server_pids(url)
    holder: dict[str, Any] = {}

    def spy() -> None:
        time.sleep(warmup)
        out = RESULTS / "profiles" / f"api_throughput_{name}"
        out.parent.mkdir(parents=True, exist_ok=True)
        holder["profile"] = _profile(pids[0], duration, out) if pids else {"error": "no pid"}

    thread = threading.Thread(target=spy)
    thread.start()
    into[durability] = _load_process(url, f"/v1/workflows/{workflow_id}/runs", key, RUN_BODY,
                                     b'"completed"', n, duration, warmup)
    thread.join()
    return dict(holder.get("profile") or {})


def _server_pids(url: str) -> list[int]:
    """The pid(s) listening on the server's port: the uvicorn process (or its parent)."""
    port = url.rsplit(":", 1)[1]
    done = subprocess.run(["pgrep", "-f", "--", f"--port {port}"], capture_output=True, text=True,
                          check=False)
    return [int(p) for p in done.stdout.split()]


def _setting(name: str) -> tuple[str, str]:
    """``async``, ``exit`` or ``exit+none``: (checkpoint durability, checkpoint retention)."""
    durability, _, retention = name.partition("+")
    return durability, retention or "all"


def _ratios(point: dict[str, Any]) -> dict[str, Any]:
    def ratio(a: float | None, b: float | None) -> float | None:
        return round(a / b, 3) if a and b else None

    empty, engine = point["empty_endpoint"], point["engine"]
    ratios: dict[str, Any] = {}
    for durability, api in point["api"].items():
        inproc = point["in_process"][durability]
        ratios[durability] = {
            "api_vs_empty_throughput": ratio(api["per_second"], empty["per_second"]),
            "api_vs_in_process_throughput": ratio(api["per_second"], inproc["per_second"]),
            "in_process_vs_engine_throughput": ratio(inproc["per_second"],
                                                     engine["per_second"]),
            "api_vs_in_process_p50": ratio(api["p50_ms"], inproc["p50_ms"]),
            "meets_target": point["database"] == "postgres"
            and api["per_second"] >= TARGET_RUNS_PER_SECOND,
        }
    return ratios


def _line(point: dict[str, Any]) -> str:
    empty = point["empty_endpoint"]
    text = (f"  {point['database']:8} N={point['concurrency']:<3} empty "
            f"{empty['per_second']:7.1f}/s p50 {empty['p50_ms']} ms | engine "
            f"{point['engine']['per_second']:7.1f}/s")
    for durability, api in point["api"].items():
        inproc = point["in_process"][durability]
        text += (f"\n    durability={durability:9} api {api['per_second']:7.1f}/s p50 "
                 f"{api['p50_ms']} p99 {api['p99_ms']} ms (errors {api['errors']}) | "
                 f"in-process {inproc['per_second']:7.1f}/s p50 {inproc['p50_ms']} ms")
    return text


def _dist(name: str) -> str | None:
    from importlib import metadata

    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def _lscpu() -> dict[str, str]:
    try:
        text = subprocess.run(["lscpu"], capture_output=True, text=True, timeout=10,
                              check=False).stdout
    except OSError:
        return {}
    wanted = ("Architecture", "CPU(s)", "Model name", "Thread(s) per core", "Core(s) per socket",
              "Hypervisor vendor", "L2 cache", "L3 cache", "BogoMIPS")
    found = {}
    for line in text.splitlines():
        name, _, value = line.partition(":")
        if name.strip() in wanted:
            found[name.strip()] = value.strip()
    return found


def _postgres_version(url: str | None) -> str | None:
    if not url:
        return None
    import psycopg

    with psycopg.connect(url) as conn:
        row = conn.execute("SHOW server_version").fetchone()
    return str(row[0]) if row else None


if __name__ == "__main__":
    main()
