"""No input crashes the validator: random JSON, random plausible specs, and mutations of
valid specs all come back as a list of well-formed issues whose paths point into the spec.

These run in the default test run (a few thousand cases, well under a minute); they are
also marked ``slow`` so that a quick local loop can leave them out with ``-m "not slow"``.
"""

from __future__ import annotations

import copy
import math
import random
from typing import Any

import pytest
from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st

from workflow_compiler.errors import SpecIssue
from workflow_compiler.spec.models import NODE_MODELS
from workflow_compiler.validation import ValidatedSpec, check_spec, validate_spec

pytestmark = pytest.mark.slow

FUZZ = settings(deadline=None, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

WEIRD_STRINGS = [
    "", " ", "{{", "}}", "{{ }}", "{%", "{% for x in y %}", "{% for x in nodes.a %}{{ x }}",
    "{{ nodes.a.b }}", "{{ nodes.a | default(1) }}", "{{ item.x }}", "{{ secrets.k }}",
    "{{ inputs.__class__ }}", "{{ nodes['a'][0] }}", "{{ nodes. }}", "{{ 9**9**9 }}",
    "{{ range(10**9) }}", "{# c #}", "{{ nodes[inputs.k].x }}", "{{ run.id }}", "{{ index }}",
    "PT30S", "P", "PT", "-1", "a/b~c", "~1", "/", "\u00e9\u00e8", "\U0001f600", "\x00",
    "x" * 300, "{{ nodes.a" * 50, "((((((((((((((((((((",
    "{{ " + "(" * 400 + "1" + ")" * 400 + " }}",
    "true", "null", "out", "error", "default", "main", "ai_tool", "route", "any",
]
WEIRD_VALUES: list[Any] = [
    None, True, False, 0, -1, 1.5, 2**70, -(2**70), 10**400, float("nan"), float("inf"),
    [], {}, [None], {"": None}, {"id": 1}, [[[]]], *WEIRD_STRINGS,
]
NODE_TYPES = [*NODE_MODELS, "transfrom", "", "LLM", "loop"]
IDS = ["a", "b", "c", "d", "e", "m", "sub", "A", "1x", "", "a-b"]
PORTS = ["out", "true", "false", "default", "error", "timeout", "approved", "rejected", "x",
         "refund", "other", ""]


def well_formed(raw: object, found: list[SpecIssue]) -> None:
    """Every issue has a code, a message and a JSON pointer whose parent exists in ``raw``."""
    assert isinstance(found, list)
    for issue in found:
        assert isinstance(issue, SpecIssue)
        assert isinstance(issue.code, str)
        assert issue.code
        assert issue.code != "internal_error", issue
        assert isinstance(issue.message, str)
        assert issue.message
        assert issue.path == "" or issue.path.startswith("/"), issue
        assert issue.node_id is None or isinstance(issue.node_id, str)
        assert issue.hint is None or isinstance(issue.hint, str)
        assert _parent_exists(raw, issue.path), issue


def _parent_exists(raw: object, path: str) -> bool:
    if not path:
        return True
    tokens = [t.replace("~1", "/").replace("~0", "~") for t in path.split("/")[1:]]
    current = raw
    for token in tokens[:-1]:
        if isinstance(current, dict) and token in current:
            current = current[token]
        elif isinstance(current, list) and token.isdigit() and int(token) < len(current):
            current = current[int(token)]
        else:
            return False
    return isinstance(current, dict | list)


def consistent(raw: object) -> list[SpecIssue]:
    """Well-formed issues; a spec without any must also build a ``ValidatedSpec``.

    (Both functions share one run, so an invalid spec's ``SpecValidationError`` needs no
    second look here; the accepted ones exercise the part only ``validate_spec`` has.)
    """
    found = check_spec(raw)
    well_formed(raw, found)
    if not found:
        assert isinstance(validate_spec(raw), ValidatedSpec)
    return found


# -- 1. any JSON value at all -------------------------------------------------------------

scalars = (st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True)
           | st.text(max_size=12) | st.sampled_from(WEIRD_STRINGS))
json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4)
    | st.dictionaries(st.text(max_size=6) | st.sampled_from(
        ["id", "type", "nodes", "edges", "from", "to", "value"]), inner, max_size=4),
    max_leaves=12,
)


@settings(FUZZ, max_examples=800)
@given(json_values)
def test_random_json_never_crashes(raw: object) -> None:
    consistent(raw)


@settings(FUZZ, max_examples=400)
@given(st.dictionaries(st.sampled_from(["spec_version", "name", "nodes", "edges", "inputs",
                                        "outputs", "limits", "metadata", "extra"]),
                       json_values, max_size=9))
def test_random_top_level_fields_never_crash(raw: dict[str, Any]) -> None:
    consistent(raw)


# -- 2. plausible specs -------------------------------------------------------------------
# Built from a Hypothesis-seeded ``random.Random``: drawing every choice through Hypothesis
# costs ten times more than validating the result, and these are meant to be many.

ROOT_NAMES = ["nodes", "inputs", "item", "index", "secrets", "run", "nodez"]
SUFFIXES = ["", ".x", ".v", "[0]", " | default(0)", ".result", " + 1"]


def random_template(rng: random.Random) -> str:
    if rng.random() < 0.3:
        return rng.choice(WEIRD_STRINGS)
    ref = f"{rng.choice(ROOT_NAMES)}.{rng.choice(IDS)}{rng.choice(SUFFIXES)}"
    return rng.choice(["{{{{ {} }}}}", "text {{{{ {} }}}} more", "{{{{ {} > 2 }}}}"]).format(ref)


def random_value(rng: random.Random) -> Any:
    roll = rng.random()
    if roll < 0.45:
        return random_template(rng)
    if roll < 0.7:
        return rng.choice(WEIRD_VALUES)
    if roll < 0.85:
        return [random_template(rng) for _ in range(rng.randint(0, 3))]
    return {rng.choice(["x", "v", "text", "a/b"]): random_value(rng)
            for _ in range(rng.randint(0, 3))}


def random_node(rng: random.Random, depth: int) -> dict[str, Any]:
    node_type = rng.choice(NODE_TYPES)
    node: dict[str, Any] = {"id": rng.choice(IDS), "type": node_type}
    if rng.random() < 0.1:
        del node[rng.choice(["id", "type"])]
    model = NODE_MODELS.get(node_type)
    names = [f.alias or n for n, f in model.model_fields.items()] if model else ["value"]
    for name in rng.sample([*names, "bogus"], k=min(len(names) + 1, rng.randint(0, 6))):
        if name not in {"id", "type"}:
            node[name] = random_value(rng)
    if node_type == "map" and depth < 2 and rng.random() < 0.6:
        node["body"] = random_graph(rng, depth + 1)
        if rng.random() < 0.5:
            node["body"]["output"] = random_value(rng)
    if node_type == "subworkflow" and depth < 2 and rng.random() < 0.6:
        node["spec"] = {"name": "child", **random_graph(rng, depth + 1)}
        node.pop("workflow", None)
    return node


def random_edge(rng: random.Random) -> dict[str, Any]:
    edge: dict[str, Any] = {"from": rng.choice(IDS), "to": rng.choice(IDS)}
    if rng.random() < 0.5:
        edge["port"] = rng.choice(PORTS)
    if rng.random() < 0.2:
        edge["kind"] = rng.choice(["main", "ai_tool", "ai_memory", "magic", 3])
    if rng.random() < 0.05:
        edge[rng.choice(["from", "to", "port"])] = rng.choice(WEIRD_VALUES)
    return edge


def random_graph(rng: random.Random, depth: int = 0) -> dict[str, Any]:
    return {"nodes": [random_node(rng, depth) for _ in range(rng.randint(1, 7))],
            "edges": [random_edge(rng) for _ in range(rng.randint(0, 9))]}


def random_spec(rng: random.Random) -> dict[str, Any]:
    raw: dict[str, Any] = {"spec_version": "1", "name": "fuzz", **random_graph(rng)}
    if rng.random() < 0.5:
        raw["outputs"] = {key: random_value(rng) for key in rng.sample(["r", "s"], k=2)}
    if rng.random() < 0.5:
        raw["inputs"] = rng.choice([
            {"type": "object", "properties": {"x": {"type": "string"}, "list": {}}},
            {"type": "objekt"}, {"properties": 5}, {}, [],
        ])
    return raw


@settings(FUZZ, max_examples=1000)
@given(st.randoms(use_true_random=False))
def test_plausible_specs_never_crash(rng: random.Random) -> None:
    raw = random_spec(rng)
    note(repr(raw))
    consistent(raw)


# -- 3. mutations of valid specs ----------------------------------------------------------

def _t(node_id: str, value: Any = 1, **extra: Any) -> dict[str, Any]:
    return {"id": node_id, "type": "transform", "value": value, **extra}


VALID_SPECS: list[dict[str, Any]] = [
    {"spec_version": "1", "name": "diamond",
     "nodes": [_t("a", {"v": 1}), _t("b", {"v": 2}), _t("c", {"v": 3}),
               _t("d", {"s": "{{ nodes.b.v + nodes.c.v }}"})],
     "edges": [{"from": "a", "to": "b"}, {"from": "a", "to": "c"}, {"from": "b", "to": "d"},
               {"from": "c", "to": "d"}],
     "outputs": {"s": "{{ nodes.d.s }}"}},
    {"spec_version": "1", "name": "loop",
     "nodes": [_t("start"), _t("h", {"n": "{{ (nodes.h.n | default(0)) + 1 }}"}),
               {"id": "c", "type": "condition", "if": "{{ nodes.h.n < 3 }}"}, _t("done")],
     "edges": [{"from": "start", "to": "h"}, {"from": "h", "to": "c"},
               {"from": "c", "port": "true", "to": "h"},
               {"from": "c", "port": "false", "to": "done"}]},
    {"spec_version": "1", "name": "mapped",
     "inputs": {"type": "object", "properties": {"rows": {"type": "array"}}},
     "nodes": [_t("first", {"v": 1}),
               {"id": "m", "type": "map", "items": "{{ inputs.rows }}", "concurrency": 2,
                "body": {"nodes": [_t("one", {"i": "{{ item }}", "f": "{{ nodes.first.v }}"}),
                                   _t("two", "{{ nodes.one.i }}")],
                         "edges": [{"from": "one", "to": "two"}], "output": "{{ nodes.two }}"}},
               {"id": "sub", "type": "subworkflow", "inputs": {"n": "{{ nodes.m }}"},
                "spec": {"name": "child", "nodes": [_t("x", "{{ inputs.n }}")]}}],
     "edges": [{"from": "first", "to": "m"}, {"from": "m", "to": "sub"}],
     "outputs": {"r": "{{ nodes.sub }}"}},
    {"spec_version": "1", "name": "kinds",
     "nodes": [{"id": "ask", "type": "input", "schema": {"type": "object"}, "timeout": "PT1H"},
               {"id": "s", "type": "switch", "value": "{{ nodes.ask.kind }}",
                "cases": ["a", 1, True]},
               {"id": "ok", "type": "approval", "question": "ok?", "options": ["later"]},
               {"id": "w", "type": "wait", "duration": "PT5S"},
               {"id": "sig", "type": "signal", "signal": "go"},
               {"id": "call", "type": "http", "url": "https://example.com/{{ secrets.p }}"},
               {"id": "tool", "type": "tool", "tool": "text.upper", "args": {"text": "x"}},
               {"id": "l", "type": "llm", "provider": "fake", "model": "m", "prompt": "hi"}],
     "edges": [{"from": "ask", "to": "s"}, {"from": "ask", "port": "timeout", "to": "w"},
               {"from": "s", "port": "a", "to": "ok"}, {"from": "s", "port": "1", "to": "w"},
               {"from": "s", "port": "true", "to": "sig"},
               {"from": "s", "port": "default", "to": "call"},
               {"from": "ok", "port": "approved", "to": "l"},
               {"from": "tool", "to": "l", "kind": "ai_tool"}]},
]


def test_the_seed_specs_are_valid() -> None:
    for raw in VALID_SPECS:
        assert check_spec(raw) == []


def _places(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [path]
    if isinstance(value, dict):
        for key, child in value.items():
            found += _places(child, (*path, key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            found += _places(child, (*path, index))
    return found


def _mutate(raw: Any, place: tuple[Any, ...], action: str, replacement: Any) -> Any:
    if not place:
        return replacement if action == "replace" else raw
    parent = raw
    for step in place[:-1]:
        parent = parent[step]
    key = place[-1]
    if action == "delete":
        del parent[key]
    elif action == "duplicate" and isinstance(parent, list):
        parent.insert(key, copy.deepcopy(parent[key]))
    elif action == "duplicate" and isinstance(parent, dict):
        parent[f"{key}_copy"] = copy.deepcopy(parent[key])
    elif action == "swap_type":
        parent[key] = _swapped(parent[key])
    else:
        parent[key] = replacement
    return raw


def _swapped(value: Any) -> Any:
    if isinstance(value, str):
        return len(value)
    if isinstance(value, bool | int | float):
        return str(value) if not (isinstance(value, float) and math.isnan(value)) else None
    if isinstance(value, dict):
        return list(value.values())
    if isinstance(value, list):
        return {str(i): v for i, v in enumerate(value)}
    return "null"


def mutated_spec(rng: random.Random) -> Any:
    raw: Any = copy.deepcopy(rng.choice(VALID_SPECS))
    for _ in range(rng.randint(1, 4)):
        place = rng.choice(_places(raw))
        action = rng.choice(["delete", "replace", "duplicate", "swap_type"])
        replacement = rng.choice(WEIRD_VALUES) if rng.random() < 0.7 else random_value(rng)
        raw = _mutate(raw, place, action, copy.deepcopy(replacement))
    return raw


@settings(FUZZ, max_examples=1800)
@given(st.randoms(use_true_random=False))
def test_mutated_specs_never_crash(rng: random.Random) -> None:
    raw = mutated_spec(rng)
    note(repr(raw))
    consistent(raw)
