"""What every benchmark shares: spec generators, statistics, the machine block, JSON output.

The machine is shared with other work, so scripts interleave the contestants (ABAB...) and
report medians with quartiles; absolute seconds drift with the load, ratios much less.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import json
import os
import platform
import shlex
import statistics
import subprocess
import sys
import tempfile
from importlib import metadata
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
TARGET_RATIO = 1.15

SHAPES = ("chain", "fanout")
VARIANTS = ("const", "template")


# ---------------------------------------------------------------------------- specs


def _value(variant: str, k: int, reads: str | None) -> dict[str, Any]:
    """``{"i": k}``, or for ``template`` the predecessor's ``i`` plus one."""
    if variant == "template" and reads is not None:
        return {"i": f"{{{{ nodes.{reads}.i + 1 }}}}"}
    return {"i": k}


def chain_ids(n: int) -> list[str]:
    return [f"n{k}" for k in range(n)]


def fanout_ids(n: int) -> list[str]:
    return ["root", *(f"f{k}" for k in range(n)), "join"]


def make_spec(shape: str, variant: str, n: int) -> dict[str, Any]:
    """A spec of ``n`` transform nodes: a chain ``n0 -> ... -> n<n-1>``, or a fan-out
    ``root -> f0..f<n-1> -> join`` (``n + 2`` nodes).

    ``const`` nodes hold ``{"i": k}``; ``template`` nodes read their predecessor
    (``{{ nodes.<pred>.i + 1 }}``; the join reads the last branch), so every value is the
    same number as in the ``const`` variant only for the chain. ``limits.max_steps`` is
    raised so the longest chain fits.
    """
    if shape == "chain":
        ids = chain_ids(n)
        nodes = [{"id": nid, "type": "transform",
                  "value": _value(variant, k, ids[k - 1] if k else None)}
                 for k, nid in enumerate(ids)]
        edges = [{"from": ids[k - 1], "to": ids[k]} for k in range(1, n)]
        last = ids[-1]
    elif shape == "fanout":
        branches = [f"f{k}" for k in range(n)]
        nodes = [{"id": "root", "type": "transform", "value": {"i": 0}}]
        nodes += [{"id": b, "type": "transform", "value": _value(variant, k + 1, "root")}
                  for k, b in enumerate(branches)]
        nodes.append({"id": "join", "type": "transform",
                      "value": _value(variant, n + 1, branches[-1])})
        edges = [{"from": "root", "to": b} for b in branches]
        edges += [{"from": b, "to": "join"} for b in branches]
        last = "join"
    else:
        raise ValueError(f"unknown shape {shape!r}")
    return {
        "spec_version": "1",
        "name": f"bench-{shape}-{variant}-{n}",
        "nodes": nodes,
        "edges": edges,
        "outputs": {"last": f"{{{{ nodes.{last}.i }}}}"},
        "limits": {"max_steps": max(1000, 2 * n + 100)},
    }


def expected_last(shape: str, variant: str, n: int) -> int:
    """The ``i`` of the last node (chain: ``n-1``; fan-out join: ``n+1`` or, templated, 2)."""
    if shape == "chain":
        return n - 1
    return n + 1 if variant == "const" else 2


# ---------------------------------------------------------------------------- statistics


def summarize(samples: list[float]) -> dict[str, Any]:
    """Median, quartiles and range of ``samples`` (seconds or ratios)."""
    ordered = sorted(samples)
    if len(ordered) >= 2:
        q1, _, q3 = statistics.quantiles(ordered, n=4, method="inclusive")
    else:
        q1 = q3 = ordered[0]
    return {
        "n": len(ordered),
        "median": statistics.median(ordered),
        "q1": q1,
        "q3": q3,
        "min": ordered[0],
        "max": ordered[-1],
        "iqr_pct": round(100 * (q3 - q1) / statistics.median(ordered), 1)
        if statistics.median(ordered) else 0.0,
    }


def paired_ratios(candidate: list[float], baseline: list[float]) -> list[float]:
    """Per-repetition ratios: the two ran back to back, so load affects both alike."""
    return [c / b for c, b in zip(candidate, baseline, strict=True) if b > 0]


def rotate(items: list[Any], rep: int) -> list[Any]:
    """ABC, BCA, CAB, ...: no contestant always runs first (or right after a GC)."""
    k = rep % len(items)
    return items[k:] + items[:k]


# ---------------------------------------------------------------------------- machine


def _read(path: str) -> str:
    try:
        return Path(path).read_text()
    except OSError:
        return ""


def _cpu_model() -> str:
    for line in _read("/proc/cpuinfo").splitlines():
        if line.lower().startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def _memory() -> str:
    for line in _read("/proc/meminfo").splitlines():
        if line.startswith("MemTotal:"):
            kib = int(line.split()[1])
            return f"{kib / 1024 / 1024:.1f} GiB"
    return "unknown"


def _version(dist: str) -> str | None:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


def filesystem(path: str) -> str:
    """The filesystem type ``path`` lives on (SQLite timings depend on it)."""
    best, kind = "", "unknown"
    for line in _read("/proc/mounts").splitlines():
        parts = line.split()
        if len(parts) >= 3 and path.startswith(parts[1]) and len(parts[1]) > len(best):
            best, kind = parts[1], parts[2]
    return kind


def _git() -> dict[str, Any]:
    def run(*args: str) -> str:
        try:
            return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True,
                                  timeout=10, check=False).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            return ""

    status = run("status", "--porcelain")
    return {"head": run("rev-parse", "--short", "HEAD") or None,
            "uncommitted_paths": len(status.splitlines()) if status else 0}


def source_digest() -> str:
    """sha256 of ``workflow_compiler``'s sources: the code under test, even uncommitted
    (others edit the tree while benchmarks run)."""
    import hashlib

    digest = hashlib.sha256()
    for path in sorted((ROOT / "workflow_compiler").rglob("*.py")):
        digest.update(str(path.relative_to(ROOT)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def default_sqlite_dir() -> str | None:
    """tmpfs when there is one: SQLite's fsync waits (the same for every contestant) would
    only add noise and minutes; ``--sqlite-dir`` picks a disk directory instead."""
    return "/dev/shm" if os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK) else None


def code_snapshot() -> dict[str, Any]:
    """The code under test, taken when a benchmark starts (others commit meanwhile)."""
    return {"git": _git(), "workflow_compiler_sha256": source_digest()}


def machine(
    load_before: tuple[float, float, float], code: dict[str, Any] | None = None
) -> dict[str, Any]:
    """The machine block; ``code`` is ``code_snapshot()`` taken at the start."""
    load_after = os.getloadavg()
    code = code or code_snapshot()
    cores = os.cpu_count() or 0
    tmp = tempfile.gettempdir()
    return {
        "platform": platform.platform(),
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "cpu_model": _cpu_model(),
        "cores": cores,
        "usable_cores": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else cores,
        "memory": _memory(),
        "langgraph": _version("langgraph"),
        "langgraph_checkpoint": _version("langgraph-checkpoint"),
        "langgraph_checkpoint_sqlite": _version("langgraph-checkpoint-sqlite"),
        "aiosqlite": _version("aiosqlite"),
        "jinja2": _version("jinja2"),
        "pydantic": _version("pydantic"),
        "tmp_dir": tmp,
        "tmp_filesystem": filesystem(tmp),
        "date": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        "git": code["git"],
        "workflow_compiler_sha256": code["workflow_compiler_sha256"],
        "loadavg_before": [round(x, 2) for x in load_before],
        "loadavg_after": [round(x, 2) for x in load_after],
        "load_note": (
            f"shared machine: other test runs were active (1-min load average "
            f"{load_before[0]:.2f} before, {load_after[0]:.2f} after, on {cores} cores); "
            "contestants were interleaved per repetition, so ratios are comparable, "
            "absolute seconds less so"
        ),
    }


def command(script: str, argv: list[str] | None = None) -> str:
    """The command line that reproduces this run (``argv`` None: the process's own)."""
    exe = sys.executable
    with contextlib.suppress(ValueError):
        exe = os.path.relpath(exe, ROOT)
    path = script
    with contextlib.suppress(ValueError):
        path = os.path.relpath(Path(script).resolve(), ROOT)
    args = sys.argv[1:] if argv is None else argv
    return "cd " + shlex.quote(str(ROOT)) + " && " + shlex.join([exe, path, *args])


def write_json(path: Path, payload: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(payload, indent=2, sort_keys=False) + "\n")


def parse_ints(text: str) -> list[int]:
    return [int(x) for x in text.split(",") if x.strip()]


def parse_names(text: str, allowed: tuple[str, ...]) -> list[str]:
    names = [x.strip() for x in text.split(",") if x.strip()]
    unknown = [x for x in names if x not in allowed]
    if unknown:
        raise SystemExit(f"unknown value(s) {unknown}; choose from {list(allowed)}")
    return names
