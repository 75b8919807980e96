"""LLM node overhead: an ``llm`` node against calling the same LangChain chat model directly.

Every contestant talks to the same local OpenAI wire server (``tests/fakes``: real HTTP on
127.0.0.1, echo answers, on a thread of this process) through the same ``ChatOpenAI``
configuration, built by graphwright's own ``openai`` provider so the settings cannot drift
apart. Contestants run interleaved in rotated order (ABC, BCA, CAB, ...), a ``gc.collect()``
before each, one repetition = one turn of each:

* ``direct``: ``model.astream(messages)``, chunks merged into the reply, on a model built
  once: what a hand-written call costs. The llm node streams every call (it emits
  ``llm.token`` events), so this is the like-for-like reference and the one the target
  (ratio <= 1.2 per call) applies to;
* ``direct_invoke``: ``model.ainvoke(messages)``, the non-streaming call, for reference;
* ``langgraph``: the same streamed call inside a hand-written one-node ``StateGraph``
  (``astream(stream_mode=["custom", "values"])``, no checkpointer): what running inside
  any LangGraph graph costs (LangChain callbacks reach the model through the graph's
  config);
* ``langgraph_saver``: that graph driven the way ``WorkflowRuntime`` drives graphwright's:
  a fresh ``InMemorySaver`` (compiled in before the clock), a thread id,
  ``astream(stream_mode="custom", subgraphs=True)``, then ``aget_state`` for the result:
  what LangGraph charges for checkpointing one node, so ``graph`` / ``langgraph_saver``
  is the lowering's own share;
* ``executor``: the llm node's executor alone (``LlmExecutor.execute`` with the
  ``NodeContext`` the runner would build), outside any graph: what the node's own code
  costs (settings and key, messages, tools, the shared chat model, streaming);
* ``graph``: graphwright's compiled graph of the one-node workflow driven directly, as
  ``WorkflowRuntime`` drives it (``astream(stream_mode="custom", subgraphs=True)`` with the
  ``RunContext``, on an in-memory checkpointer) with the events discarded: the lowering's
  share (node runner, events on the custom stream, checkpoints) without the runtime's;
* ``node``: ``WorkflowRuntime.start`` of a one-node workflow (the ``llm`` node, provider
  ``openai``, ``base_url`` from an input): the path users take: the run record, the event
  stream (with the coalesced ``llm.token`` events), an in-memory checkpointer, the outputs;
* ``node_exit``: ``node`` on a runtime with ``durability="exit"`` (one checkpoint when the
  run ends instead of one per step), the configuration for short request/response runs;
* ``node_memory``: the same with conversation ``memory`` (one store read and one write
  more; keyed by the run id, so every request has the same size).

And per call over a workflow of ``--chain`` llm nodes in sequence (run-level costs spread
over the calls): ``chain`` (one ``WorkflowRuntime.start``) against ``direct_chain`` (the same
number of ``direct`` calls in a row). Each run of a ``node*`` or ``chain`` contestant gets a
fresh runtime (checkpointer, run store, memory store), bound to the compiled graph before
the clock starts, as in ``engine_overhead.py``.

    .venv/bin/python bench/llm_overhead.py              # full run, writes results JSON
    .venv/bin/python bench/llm_overhead.py --quick      # 3 repetitions: checks it works
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import itertools
import os
import sys
import time
import uuid
from pathlib import Path
from typing import Any, Literal, TypedDict

ROOT = Path(__file__).resolve().parent.parent
if __package__ in (None, ""):  # run as a script: make ``bench`` importable
    sys.path.insert(0, str(ROOT))

from bench._common import (  # noqa: E402
    RESULTS,
    command,
    machine,
    paired_ratios,
    parse_names,
    rotate,
    summarize,
    write_json,
)

TARGET_RATIO = 1.2
CONTESTANTS = ("direct", "direct_invoke", "langgraph", "langgraph_saver", "executor", "graph",
               "node", "node_exit", "node_memory", "chain", "direct_chain")
#: (candidate, reference, whether the target applies)
COMPARISONS = (
    ("node", "direct", True),
    ("chain", "direct_chain", True),
    ("node_exit", "direct", False),
    ("node_memory", "direct", False),
    ("node", "langgraph", False),
    ("executor", "direct", False),
    ("graph", "executor", False),
    ("node", "graph", False),
    ("langgraph", "direct", False),
    ("langgraph_saver", "direct", False),
    ("graph", "langgraph_saver", False),
    ("direct", "direct_invoke", False),
)
CALLS_OF = {"chain": "chain", "direct_chain": "chain"}  # contestants making --chain calls
MODEL = "gpt-4o-mini"
SYSTEM = "You are a terse assistant."
PROMPT = "Say hello to the benchmark, please."
API_KEY = "sk-bench-local"

Sample = tuple[float, float]  # (wall seconds, CPU seconds of this process) per call


def server_class() -> Any:
    """The OpenAI wire server of the test suite (``tests/fakes``), imported as a package."""
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    from tests.fakes import OpenAIServer

    return OpenAIServer


def llm_node(node_id: str, *, memory: bool = False) -> dict[str, Any]:
    node: dict[str, Any] = {
        "id": node_id, "type": "llm", "provider": "openai", "model": MODEL,
        "base_url": "{{ inputs.base_url }}", "system_prompt": SYSTEM,
        "prompt": "{{ inputs.prompt }}",
        "provider_options": {"api_key_secret": "openai_key"},
    }
    if memory:
        node["memory"] = {"key": "{{ run.id }}", "window": 20}
    return node


def spec(name: str, nodes: list[dict[str, Any]]) -> dict[str, Any]:
    ids = [n["id"] for n in nodes]
    return {
        "spec_version": "1", "name": name,
        "inputs": {"type": "object", "required": ["base_url", "prompt"],
                   "properties": {"base_url": {"type": "string"},
                                  "prompt": {"type": "string"}}},
        "nodes": nodes,
        "edges": [{"from": a, "to": b} for a, b in itertools.pairwise(ids)],
        "outputs": {"reply": f"{{{{ nodes.{ids[-1]}.text }}}}"},
    }


class GraphState(TypedDict, total=False):
    reply: str


class Bench:
    """Built before the clock: the direct model, the specs, the hand-written graph."""

    def __init__(self, server: Any, chain: int) -> None:
        from langchain_core.messages import HumanMessage, SystemMessage
        from langgraph.graph import END, START, StateGraph

        from workflow_compiler.compiler.cache import WorkflowCompiler
        from workflow_compiler.nodes.base import get_executor
        from workflow_compiler.providers import ModelSettings, get_provider
        from workflow_compiler.services import DictSecrets, RuntimeServices

        self.base_url = f"{server.url}/v1"
        provider = get_provider("openai")
        assert provider is not None
        self.model = provider.create(ModelSettings(model=MODEL, api_key=API_KEY,
                                                   base_url=self.base_url))
        self.messages = [SystemMessage(SYSTEM), HumanMessage(PROMPT)]
        self.expected = f"echo: {PROMPT}"
        self.chain = chain
        self.services = RuntimeServices(secrets=DictSecrets({"openai_key": API_KEY}))
        self.compiler = WorkflowCompiler()
        self.specs = {
            "node": spec("bench-llm", [llm_node("chat")]),
            "node_exit": spec("bench-llm", [llm_node("chat")]),
            "node_memory": spec("bench-llm-memory", [llm_node("chat", memory=True)]),
            "chain": spec("bench-llm-chain", [llm_node(f"chat{k}") for k in range(chain)]),
        }
        self.compiled = {name: self.compiler.compile(raw) for name, raw in self.specs.items()}
        self.inputs = {"base_url": self.base_url, "prompt": PROMPT}
        self.llm = self.compiled["node"].spec.nodes[0]
        self.executor = get_executor("llm")
        self.executor_cache: dict[int, Any] = {}

        async def call_model(state: GraphState) -> GraphState:
            return {"reply": await self.stream()}

        builder = StateGraph(GraphState)
        builder.add_node("chat", call_model)
        builder.add_edge(START, "chat")
        builder.add_edge("chat", END)
        self.builder = builder
        self.graph = builder.compile()

    async def stream(self) -> str:
        reply: Any = None
        async for chunk in self.model.astream(self.messages):
            reply = chunk if reply is None else reply + chunk
        return str(reply.text) if reply is not None else ""

    def node_context(self) -> Any:
        """What ``NodeRunner`` hands the executor, minus the graph around it."""
        from langgraph.runtime import Runtime

        from workflow_compiler.compiler.context import RunContext
        from workflow_compiler.nodes.base import NodeContext

        run_id = uuid.uuid4().hex
        context = RunContext(run_id=run_id, services=self.services, compiler=self.compiler,
                             secret_values={"openai_key": API_KEY}, workflow="bench-llm")
        return NodeContext(
            node=self.llm, run_id=run_id, services=self.services,
            scope={"inputs": self.inputs, "nodes": {}, "run": {"id": run_id},
                   "secrets": {"openai_key": API_KEY}},
            config={"runtime": Runtime(context=context), "state": {}},
            cache=self.executor_cache)

    async def drive_graph(self, runtime: Any) -> Any:
        """As ``WorkflowRuntime._drive`` drives it, minus run records and event objects."""
        from workflow_compiler.compiler.context import RunContext
        from workflow_compiler.runtime.runtime import utcnow

        compiled = self.compiled["node"]
        graph = compiled.with_checkpointer(runtime.checkpointer, runtime.memory_store)
        run_id = uuid.uuid4().hex
        config: Any = {"configurable": {"thread_id": run_id},
                       "recursion_limit": compiled.spec.limits.max_steps}
        context = RunContext(run_id=run_id, services=self.services, compiler=self.compiler,
                             workflow=compiled.spec.name)
        graph_input = {"inputs": self.inputs, "run": {"id": run_id, "started_at": utcnow()},
                       "path": ""}
        async for _ in graph.astream(graph_input, config, context=context,
                                     stream_mode="custom", subgraphs=True):
            pass
        state = await graph.aget_state(config)
        return compiled.evaluate_outputs(state.values).get("reply")

    def runtime(self, durability: Literal["exit"] | None = None) -> Any:
        from workflow_compiler.runtime import WorkflowRuntime
        from workflow_compiler.runtime.store import MemoryRunStore

        return WorkflowRuntime(store=MemoryRunStore(), services=self.services,
                               compiler=self.compiler, durability=durability)

    async def drive_saver_graph(self, graph: Any) -> Any:
        """The hand-written graph, checkpointed and driven as the runtime drives a run."""
        config: Any = {"configurable": {"thread_id": uuid.uuid4().hex}}
        async for _ in graph.astream({}, config, stream_mode="custom", subgraphs=True):
            pass
        state = await graph.aget_state(config)
        return state.values.get("reply")

    async def once(self, contestant: str) -> Sample:
        from langgraph.checkpoint.memory import InMemorySaver

        runtime, spec_name = None, "node" if contestant == "graph" else contestant
        if spec_name in self.specs:  # a fresh runtime (or its savers), bound before the clock
            runtime = self.runtime("exit" if contestant == "node_exit" else None)
            self.compiled[spec_name].with_checkpointer(runtime.checkpointer,
                                                       runtime.memory_store)
        saver_graph = (self.builder.compile(checkpointer=InMemorySaver())
                       if contestant == "langgraph_saver" else None)
        gc.collect()
        wall, cpu = time.perf_counter(), time.process_time()
        if contestant == "direct":
            text = await self.stream()
        elif contestant == "direct_chain":
            for _ in range(self.chain):
                text = await self.stream()
        elif contestant == "direct_invoke":
            text = (await self.model.ainvoke(self.messages)).text
        elif contestant == "executor":
            result = await self.executor.execute(self.node_context())
            text = result.output["text"]
        elif contestant == "graph":
            text = await self.drive_graph(runtime)
        elif contestant == "langgraph_saver":
            text = await self.drive_saver_graph(saver_graph)
        elif contestant == "langgraph":
            state: dict[str, Any] = {}
            async for part in self.graph.astream({}, stream_mode=["custom", "values"]):
                if part[0] == "values":
                    state = part[1]
            text = state.get("reply")
        else:
            assert runtime is not None
            result = await runtime.start(self.specs[contestant], self.inputs,
                                         run_id=uuid.uuid4().hex)
            if result.status != "completed":
                raise AssertionError(f"{contestant}: run ended {result.status}: {result.error}")
            text = (result.outputs or {}).get("reply")
        elapsed = time.perf_counter() - wall, time.process_time() - cpu
        if runtime is not None:
            self.compiled[spec_name]._bound.pop(id(runtime.checkpointer), None)
        if text != self.expected:
            raise AssertionError(f"{contestant} answered {text!r}, expected {self.expected!r}")
        calls = self.chain if contestant in CALLS_OF else 1
        return elapsed[0] / calls, elapsed[1] / calls


def compare(wall: dict[str, list[float]], cpu: dict[str, list[float]]) -> list[dict[str, Any]]:
    rows = []
    for candidate, reference, targeted in COMPARISONS:
        if candidate not in wall or reference not in wall:
            continue
        cand, ref = summarize(wall[candidate]), summarize(wall[reference])
        paired = summarize(paired_ratios(wall[candidate], wall[reference]))
        rows.append({
            "candidate": candidate, "reference": reference,
            "candidate_median_ms": round(1000 * cand["median"], 3),
            "reference_median_ms": round(1000 * ref["median"], 3),
            "overhead_median_ms": round(1000 * (cand["median"] - ref["median"]), 3),
            "ratio_of_medians": round(cand["median"] / ref["median"], 4),
            "paired_ratio_median": round(paired["median"], 4),
            "paired_ratio_q1": round(paired["q1"], 4),
            "paired_ratio_q3": round(paired["q3"], 4),
            "cpu_ratio_of_medians": round(summarize(cpu[candidate])["median"]
                                          / summarize(cpu[reference])["median"], 4),
            "target_ratio": TARGET_RATIO if targeted else None,
            "meets_target": paired["median"] <= TARGET_RATIO if targeted else None,
        })
    return rows


async def run(args: argparse.Namespace) -> dict[str, Any]:
    load_before = os.getloadavg()
    started = time.perf_counter()
    contestants = parse_names(args.contestants, CONTESTANTS)
    with server_class()(api_key=API_KEY) as server:
        bench = Bench(server, args.chain)
        for _ in range(args.warmup):  # connections, caches, first-call imports
            for contestant in contestants:
                await bench.once(contestant)
        samples: dict[str, list[Sample]] = {c: [] for c in contestants}
        for rep in range(args.reps):
            for contestant in rotate(list(contestants), rep):
                samples[contestant].append(await bench.once(contestant))
        requests = len(server.requests)
        if server.errors:
            raise AssertionError(f"the fake server failed: {server.errors!r}")
    wall = {c: [s[0] for s in v] for c, v in samples.items()}
    cpu = {c: [s[1] for s in v] for c, v in samples.items()}
    return {
        "benchmark": "llm_overhead",
        "command": command(__file__, args.argv),
        "machine": machine(load_before),
        "config": {"reps": args.reps, "warmup": args.warmup, "chain": args.chain,
                   "contestants": contestants, "model": MODEL,
                   "server": "tests/fakes OpenAIServer on 127.0.0.1 (in-process thread, "
                   "Connection: close, streamed echo answers)",
                   "requests_served": requests,
                   "seconds_are": "per model call (chain contestants: run time / chain)"},
        "target_ratio": TARGET_RATIO,
        "wall_seconds": round(time.perf_counter() - started, 1),
        "rows": compare(wall, cpu),
        "contestants": {c: {"seconds": summarize(wall[c]), "cpu_seconds": summarize(cpu[c]),
                            "samples": wall[c]} for c in contestants},
    }


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--reps", type=int, default=200, help="repetitions (default 200)")
    parser.add_argument("--warmup", type=int, default=10, help="untimed turns first")
    parser.add_argument("--chain", type=int, default=5, help="llm nodes in the chain case")
    parser.add_argument("--contestants", default=",".join(CONTESTANTS))
    parser.add_argument("--quick", action="store_true", help="3 repetitions, 1 warm-up")
    parser.add_argument("--out", type=Path, default=RESULTS / "llm_overhead.json")
    parser.add_argument("--silent", action="store_true")
    args = parser.parse_args(argv)
    args.argv = argv
    if args.quick:
        args.reps, args.warmup = 3, 1
    return args


def main(argv: list[str] | None = None) -> dict[str, Any]:
    args = parse_args(argv)
    payload = asyncio.run(run(args))
    write_json(args.out, payload)
    if not args.silent:
        for row in payload["rows"]:
            print(f"{row['candidate']:>12} / {row['reference']:<13} "
                  f"{row['candidate_median_ms']:7.2f} ms vs {row['reference_median_ms']:7.2f} "
                  f"ms per call, paired ratio {row['paired_ratio_median']:.3f}",
                  file=sys.stderr)
        print(f"wrote {args.out} in {payload['wall_seconds']} s", file=sys.stderr)
    return payload


if __name__ == "__main__":
    main()
