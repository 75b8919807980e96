"""Static validation: one test per issue code (code, node, exact JSON pointer), the reference
rules on branch, join and loop shapes, and the facts ``validate_spec`` hands the compiler."""

from __future__ import annotations

import copy
import itertools
import json
from typing import Any

import pytest

from workflow_compiler.errors import SpecIssue, SpecValidationError
from workflow_compiler.nodes.base import ValidationContext
from workflow_compiler.validation import ValidatedSpec, check_spec, spec_hash, validate_spec

PROVIDERS = ValidationContext(provider_names=frozenset({"fake", "openai"}))


# -- building specs ---------------------------------------------------------------------

def spec(*nodes: dict[str, Any], edges: tuple[dict[str, Any], ...] = (),
         **top: Any) -> dict[str, Any]:
    return {"spec_version": "1", "name": "t", "nodes": list(nodes), "edges": list(edges), **top}


def t(node_id: str, value: Any = 1, **extra: Any) -> dict[str, Any]:
    return {"id": node_id, "type": "transform", "value": value, **extra}


def cond(node_id: str, expr: str = "{{ inputs.flag }}", **extra: Any) -> dict[str, Any]:
    return {"id": node_id, "type": "condition", "if": expr, **extra}


def e(source: str, target: str, port: str | None = None, **extra: Any) -> dict[str, Any]:
    edge = {"from": source, "to": target, **extra}
    if port is not None:
        edge["port"] = port
    return edge


def chain(*ids: str) -> tuple[dict[str, Any], ...]:
    return tuple(e(a, b) for a, b in itertools.pairwise(ids))


def issues(raw: object, context: ValidationContext | None = None) -> list[SpecIssue]:
    found = check_spec(raw, context=context)
    assert all(i.code != "internal_error" for i in found), found
    return found


def one(raw: object, code: str, context: ValidationContext | None = None) -> SpecIssue:
    """The single issue with ``code`` (failing with the full list otherwise)."""
    found = issues(raw, context)
    matching = [i for i in found if i.code == code]
    assert len(matching) == 1, found
    return matching[0]


def codes(raw: object, context: ValidationContext | None = None) -> list[str]:
    return [i.code for i in issues(raw, context)]


def clean(raw: object, context: ValidationContext | None = None) -> None:
    assert issues(raw, context) == []


def design_example() -> dict[str, Any]:
    """The refund-triage example of the design brief (section 2), verbatim."""
    return {
        "spec_version": "1",
        "name": "refund-triage",
        "description": "Classify a ticket; big refunds need a human",
        "inputs": {"type": "object",
                   "properties": {"ticket": {"type": "string"}, "amount": {"type": "number"}},
                   "required": ["ticket"]},
        "nodes": [
            {"id": "classify", "type": "llm", "provider": "openai", "model": "gpt-4o-mini",
             "system_prompt": "You route support tickets.",
             "prompt": "Ticket: {{ inputs.ticket }}",
             "output_schema": {"type": "object", "required": ["category"],
                               "properties": {"category": {"enum": ["refund", "other"]}}}},
            {"id": "route", "type": "switch", "value": "{{ nodes.classify.category }}",
             "cases": ["refund"], "default": "other"},
            {"id": "big", "type": "condition", "if": "{{ inputs.amount > 100 }}"},
            {"id": "approve", "type": "approval", "question": "Refund {{ inputs.amount }}?",
             "approvers": ["alice", "bob"], "min_approvals": 1, "timeout": "PT48H",
             "on_timeout": "reject"},
            {"id": "reply", "type": "transform",
             "value": {"text": "Handled: {{ nodes.classify.category }}"}},
        ],
        "edges": [
            {"from": "classify", "to": "route"},
            {"from": "route", "port": "refund", "to": "big"},
            {"from": "route", "port": "other", "to": "reply"},
            {"from": "big", "port": "true", "to": "approve"},
            {"from": "big", "port": "false", "to": "reply"},
            {"from": "approve", "port": "approved", "to": "reply"},
            {"from": "approve", "port": "rejected", "to": "reply"},
        ],
        "outputs": {"reply": "{{ nodes.reply.text }}"},
    }


# -- the whole spec ---------------------------------------------------------------------

@pytest.mark.parametrize("raw", [None, 5, "spec", [], [{"name": "x"}], 2.5, True])
def test_invalid_spec_for_anything_but_an_object(raw: object) -> None:
    [issue] = issues(raw)
    assert (issue.code, issue.path, issue.node_id) == ("invalid_spec", "", None)


def test_unsupported_spec_version() -> None:
    issue = one(spec(t("a"), spec_version="2"), "unsupported_spec_version")
    assert issue.path == "/spec_version"
    assert issue.hint is not None
    assert '"1"' in issue.hint


def test_spec_version_may_be_left_out() -> None:
    raw = spec(t("a"))
    del raw["spec_version"]
    clean(raw)


def test_missing_top_level_fields() -> None:
    found = issues({"spec_version": "1"})
    assert {(i.code, i.path) for i in found} == {("missing_field", "/name"),
                                                 ("missing_field", "/nodes")}


def test_unknown_top_level_field_with_hint() -> None:
    issue = one({**spec(t("a")), "edgse": []}, "unknown_field")
    assert issue.path == "/edgse"
    assert issue.hint == "did you mean 'edges'?"


def test_empty_nodes_is_invalid() -> None:
    issue = one(spec(), "invalid_value")
    assert issue.path == "/nodes"


def test_too_many_nodes() -> None:
    raw = spec(*[t(f"n{i}") for i in range(20_001)])
    [issue] = issues(raw)
    assert (issue.code, issue.path) == ("too_many_nodes", "/nodes")


def test_too_many_nodes_counts_map_bodies() -> None:
    body = {"nodes": [t(f"b{i}") for i in range(15_000)]}
    raw = spec(*[t(f"n{i}") for i in range(5_000)],
               {"id": "m", "type": "map", "items": "{{ inputs.list }}", "body": body})
    assert codes(raw) == ["too_many_nodes"]


def test_non_json_values_are_reported_where_they_are() -> None:
    found = issues(spec(t("a", {"x": float("nan"), "y": [1, {2: 3}]})))
    assert ("invalid_value", "/nodes/0/value/x") in {(i.code, i.path) for i in found}
    assert ("invalid_value", "/nodes/0/value/y/1") in {(i.code, i.path) for i in found}


def test_deep_nesting_is_refused_not_recursed_into() -> None:
    deep: Any = 1
    for _ in range(5_000):
        deep = [deep]
    issue = one(spec(t("a", deep)), "invalid_value")
    assert issue.path.startswith("/nodes/0/value/0/0/0")
    assert "nested" in issue.message


def test_self_containing_value_does_not_hang() -> None:
    loop: list[Any] = []
    loop.append(loop)
    issue = one(spec(t("a", loop)), "invalid_value")
    assert issue.path.startswith("/nodes/0/value/0/0")


# -- nodes ------------------------------------------------------------------------------

def test_missing_field_in_a_node() -> None:
    issue = one(spec({"id": "c", "type": "condition"}), "missing_field")
    assert (issue.path, issue.node_id) == ("/nodes/0/if", "c")


def test_unknown_field_in_a_node_with_hint() -> None:
    issue = one(spec(cond("c", iff=1), t("x"), t("y"),
                     edges=(e("c", "x", "true"), e("c", "y", "false"))), "unknown_field")
    assert (issue.path, issue.node_id, issue.hint) == ("/nodes/0/iff", "c", "did you mean 'if'?")


def test_unknown_field_in_a_nested_object() -> None:
    issue = one(spec(t("a", retry={"max_attempt": 3})), "unknown_field")
    assert (issue.path, issue.node_id) == ("/nodes/0/retry/max_attempt", "a")
    assert issue.hint == "did you mean 'max_attempts'?"


def test_invalid_value() -> None:
    issue = one(spec({"id": "s", "type": "switch", "value": "{{ inputs.x }}", "cases": []}),
                "invalid_value")
    assert (issue.path, issue.node_id) == ("/nodes/0/cases", "s")


def test_invalid_value_of_a_union_field_is_one_issue() -> None:
    node = {"id": "l", "type": "llm", "provider": "fake", "model": "m", "messages": [5]}
    issue = one(spec(node), "invalid_value")
    assert (issue.path, issue.node_id) == ("/nodes/0/messages", "l")


def test_unknown_node_type_with_hint() -> None:
    issue = one(spec({"id": "a", "type": "transfrom", "value": 1}), "unknown_node_type")
    assert (issue.path, issue.node_id) == ("/nodes/0/type", "a")
    assert issue.hint == "did you mean 'transform'?"


def test_missing_node_type() -> None:
    issue = one(spec({"id": "a", "value": 1}), "missing_field")
    assert (issue.path, issue.node_id) == ("/nodes/0/type", "a")


@pytest.mark.parametrize("bad_id", ["Fetch", "1st", "with-dash", "x" * 65, ""])
def test_invalid_node_id(bad_id: str) -> None:
    issue = one(spec(t(bad_id)), "invalid_node_id")
    assert issue.path == "/nodes/0/id"
    assert issue.node_id == (bad_id or None)


def test_non_string_node_id() -> None:
    issue = one(spec(t(7)), "invalid_node_id")  # type: ignore[arg-type]
    assert (issue.path, issue.node_id) == ("/nodes/0/id", None)


def test_node_that_is_not_an_object() -> None:
    issue = one(spec(t("a"), 5), "invalid_value")  # type: ignore[arg-type]
    assert (issue.path, issue.node_id) == ("/nodes/1", None)


def test_duplicate_node_id() -> None:
    issue = one(spec(t("a"), t("b"), t("a"), edges=chain("a", "b")), "duplicate_node_id")
    assert (issue.path, issue.node_id) == ("/nodes/2/id", "a")


def test_duplicate_node_id_between_body_and_outer_level() -> None:
    body = {"nodes": [t("a")]}
    raw = spec(t("a"), {"id": "m", "type": "map", "items": "{{ inputs.list }}", "body": body},
               edges=chain("a", "m"))
    issue = one(raw, "duplicate_node_id")
    assert (issue.path, issue.node_id) == ("/nodes/1/body/nodes/0/id", "a")


@pytest.mark.parametrize(("field", "value", "path"), [
    ("timeout", "soon", "/nodes/0/timeout"),
    ("timeout", -5, "/nodes/0/timeout"),
    ("timeout", [1], "/nodes/0/timeout"),
])
def test_invalid_duration_on_a_node(field: str, value: Any, path: str) -> None:
    issue = one(spec(t("a", **{field: value})), "invalid_duration")
    assert (issue.path, issue.node_id) == (path, "a")


def test_invalid_duration_of_a_wait_and_of_limits() -> None:
    raw = spec({"id": "w", "type": "wait", "duration": "PT"}, limits={"timeout": "forever"})
    found = {(i.code, i.path, i.node_id) for i in issues(raw)}
    assert found == {("invalid_duration", "/nodes/0/duration", "w"),
                     ("invalid_duration", "/limits/timeout", None)}


def test_model_validator_problem_points_at_the_node() -> None:
    issue = one(spec({"id": "w", "type": "wait"}), "invalid_value")
    assert (issue.path, issue.node_id) == ("/nodes/0", "w")
    assert "exactly one of" in issue.message


# -- edges ------------------------------------------------------------------------------

def test_dangling_edge_with_hint() -> None:
    issue = one(spec(t("fetch"), t("store"), edges=(e("fetch", "stor"),)), "dangling_edge")
    assert (issue.path, issue.node_id, issue.hint) == ("/edges/0/to", "fetch",
                                                       "did you mean 'store'?")


def test_dangling_edge_source() -> None:
    issue = one(spec(t("a"), t("b"), edges=(e("nope", "b"), e("a", "b"))), "dangling_edge")
    assert issue.path == "/edges/0/from"


def test_duplicate_edge() -> None:
    issue = one(spec(t("a"), t("b"), edges=(e("a", "b"), e("a", "b", "out"))), "duplicate_edge")
    assert (issue.path, issue.node_id) == ("/edges/1", "a")


def test_unknown_port_with_hint() -> None:
    raw = spec(cond("c"), t("x"), t("y"), edges=(e("c", "x", "ture"), e("c", "y", "false")))
    issue = one(raw, "unknown_port")
    assert (issue.path, issue.node_id, issue.hint) == ("/edges/0/port", "c",
                                                       "did you mean 'true'?")


def test_default_port_out_on_a_condition_is_unknown() -> None:
    issue = one(spec(cond("c"), t("x"), edges=(e("c", "x"),)), "unknown_port")
    assert issue.path == "/edges/0/port"
    assert "default" in issue.message


def test_error_port_exists_only_with_on_error_route() -> None:
    raw = spec(t("a"), t("b"), edges=(e("a", "b", "error"),))
    assert one(raw, "unknown_port").path == "/edges/0/port"
    routed = spec(t("a", on_error="route"), t("b"), t("c"),
                  edges=(e("a", "b", "error"), e("a", "c")))
    clean(routed)


def test_switch_and_approval_ports() -> None:
    raw = spec(
        {"id": "s", "type": "switch", "value": "{{ inputs.kind }}", "cases": ["a", 2, True]},
        {"id": "ok", "type": "approval", "question": "?", "options": ["escalate"]},
        t("x"),
        edges=(e("s", "ok", "a"), e("s", "x", "2"), e("s", "x", "true"), e("s", "x", "default"),
               e("ok", "x", "approved"), e("ok", "x", "rejected"), e("ok", "x", "escalate")))
    clean(raw)


def test_unknown_edge_kind_by_name() -> None:
    issue = one(spec(t("a"), t("b"), edges=(e("a", "b", kind="ai_tools"),)), "unknown_edge_kind")
    assert (issue.path, issue.hint) == ("/edges/0/kind", "did you mean 'ai_tool'?")


def test_invalid_ai_edges() -> None:
    llm = {"id": "agent", "type": "llm", "provider": "fake", "model": "m", "prompt": "hi"}
    tool = {"id": "search", "type": "tool", "tool": "text.upper", "args": {"text": "x"}}
    bad_source = spec(llm, t("x"), edges=(e("x", "agent", kind="ai_tool"),))
    issue = one(bad_source, "invalid_ai_edge")
    assert (issue.path, issue.node_id) == ("/edges/0/from", "x")
    bad_target = spec(tool, t("x"), edges=(e("search", "x", kind="ai_tool"), e("x", "search")))
    issue = one(bad_target, "invalid_ai_edge")
    assert (issue.path, issue.node_id) == ("/edges/0/to", "x")
    memory = spec(t("mem"), t("x"), edges=(e("mem", "x", kind="ai_memory"),))
    assert one(memory, "invalid_ai_edge").path == "/edges/0/to"


def test_ai_tool_sources_are_not_entries_nor_unreachable() -> None:
    llm = {"id": "agent", "type": "llm", "provider": "fake", "model": "m", "prompt": "hi"}
    tool = {"id": "search", "type": "tool", "tool": "text.upper", "args": {"text": "x"}}
    result = validate_spec(spec(t("start"), llm, tool,
                                edges=(e("start", "agent"), e("search", "agent", kind="ai_tool"))))
    assert result.topology.roots == ("start",)
    assert "search" not in result.topology.node_ids


# -- control flow -----------------------------------------------------------------------

def test_no_entry_node() -> None:
    raw = spec(cond("a"), cond("b"), t("out"),
               edges=(e("a", "b", "true"), e("b", "a", "true"), e("a", "out", "false"),
                      e("b", "out", "false"), e("out", "a")))
    found = issues(raw)
    entry = [i for i in found if i.code == "no_entry_node"]
    assert [(i.path, i.node_id) for i in entry] == [("/nodes", None)]
    assert "unreachable_node" not in [i.code for i in found]


def test_unreachable_node() -> None:
    raw = spec(t("start"), cond("b"), t("c"), t("d"),
               edges=(e("b", "c", "true"), e("c", "b"), e("b", "d", "false")))
    found = [(i.path, i.node_id) for i in issues(raw) if i.code == "unreachable_node"]
    assert found == [("/nodes/1", "b"), ("/nodes/2", "c"), ("/nodes/3", "d")]


def test_cycle_without_exit() -> None:
    issue = one(spec(t("a"), t("b"), t("c"), edges=(*chain("a", "b", "c"), e("c", "b"))),
                "cycle_without_exit")
    assert (issue.path, issue.node_id) == ("/nodes/1", "b")


def test_self_loop_without_exit_is_a_cycle_without_exit() -> None:
    issue = one(spec(t("a"), t("b"), edges=(e("a", "b"), e("b", "b"))), "cycle_without_exit")
    assert issue.node_id == "b"


def test_self_loop_through_a_condition_is_a_valid_loop() -> None:
    clean(spec(t("a"), cond("poll", "{{ nodes.poll.result | default(true) }}"), t("done"),
               edges=(e("a", "poll"), e("poll", "poll", "true"), e("poll", "done", "false"))))


def test_cycle_multiple_entries() -> None:
    raw = spec(cond("a"), t("b"), cond("c"), t("end"),
               edges=(e("a", "b", "true"), e("a", "c", "false"), e("b", "c"),
                      e("c", "b", "true"), e("c", "end", "false")))
    issue = one(raw, "cycle_multiple_entries")
    assert (issue.path, issue.node_id) == ("/nodes/2", "c")


def test_nested_cycle_is_a_loop_inside_a_loop() -> None:
    """A cycle inside a loop's body is a nested loop (its own rejections are covered in
    test_nested_loops.py); only a cycle entered at several nodes is refused."""
    raw = spec(t("a"), t("h"), cond("x"), t("y"), cond("z"), t("end"),
               edges=(e("a", "h"), e("h", "x"), e("x", "y", "true"), e("y", "x"),
                      e("x", "z", "false"), e("z", "h", "true"), e("z", "end", "false")))
    clean(raw)
    topology = validate_spec(raw).topology
    assert [(loop.header, loop.parent, sorted(loop.members)) for loop in topology.loops] == [
        ("h", None, ["h", "x", "y", "z"]), ("x", "h", ["x", "y"])]


def test_cycle_exit_not_branch() -> None:
    raw = spec(t("a"), t("h"), cond("c"), t("leak"), t("end"),
               edges=(e("a", "h"), e("h", "c"), e("c", "h", "true"), e("c", "end", "false"),
                      e("h", "leak")))
    issue = one(raw, "cycle_exit_not_branch")
    assert (issue.path, issue.node_id) == ("/edges/4", "h")


def test_cycle_may_be_left_through_an_error_port() -> None:
    raw = spec(t("a"), t("h", on_error="route"), cond("c"), t("end"), t("oops"),
               edges=(e("a", "h"), e("h", "c"), e("c", "h", "true"), e("c", "end", "false"),
                      e("h", "oops", "error")))
    clean(raw)


# -- expressions and references ---------------------------------------------------------

def test_bad_expression_path_inside_a_transform_value() -> None:
    raw = spec(t("a"), t("b", {"list": [1, {"text": "{{ nodes.a. }}"}]}), edges=chain("a", "b"))
    issue = one(raw, "bad_expression")
    assert (issue.path, issue.node_id) == ("/nodes/1/value/list/1/text", "b")


def test_bad_expression_for_forbidden_constructs() -> None:
    raw = spec(t("a", "{{ inputs.__class__ }}"), t("b", "{% include 'x' %}"),
               t("c", "{{ inputs.x | nosuchfilter }}"), edges=chain("a", "b", "c"))
    found = [(i.code, i.path) for i in issues(raw)]
    assert found == [("bad_expression", "/nodes/0/value"), ("bad_expression", "/nodes/1/value"),
                     ("bad_expression", "/nodes/2/value")]


def test_pointer_tokens_are_escaped() -> None:
    issue = one(spec(t("a", {"a/b~c": "{{ nodes. }}"})), "bad_expression")
    assert issue.path == "/nodes/0/value/a~1b~0c"


def test_text_that_is_not_a_template_is_left_alone() -> None:
    clean(spec(t("a", {"text": "costs {5} or } {"}), description="{{ not checked"))


@pytest.mark.parametrize(("template", "hint"), [
    ("{{ nodez.a }}", "did you mean 'nodes'?"),
    ("{{ input.x }}", "did you mean 'inputs'?"),
])
def test_unknown_reference_root(template: str, hint: str) -> None:
    issue = one(spec(t("a", template)), "unknown_reference")
    assert (issue.path, issue.node_id, issue.hint) == ("/nodes/0/value", "a", hint)


def test_unknown_reference_to_a_node() -> None:
    raw = spec(t("fetch"), t("b", "{{ nodes.fetc.x }}"), edges=chain("fetch", "b"))
    issue = one(raw, "unknown_reference")
    assert (issue.path, issue.node_id, issue.hint) == ("/nodes/1/value", "b",
                                                       "did you mean 'fetch'?")


@pytest.mark.parametrize("template", ["{{ item }}", "{{ index + 1 }}"])
def test_item_and_index_outside_a_map_body(template: str) -> None:
    issue = one(spec(t("a", template)), "unknown_reference")
    assert "map body" in issue.message


def test_not_an_ancestor_on_a_sibling_branch() -> None:
    raw = spec(cond("c"), t("x"), t("y", "{{ nodes.x | default(0) }}"),
               edges=(e("c", "x", "true"), e("c", "y", "false")))
    issue = one(raw, "not_an_ancestor")  # a fallback does not help: x never runs first
    assert (issue.path, issue.node_id) == ("/nodes/2/value", "y")


def test_not_an_ancestor_downstream_and_self() -> None:
    raw = spec(t("a", "{{ nodes.b }}"), t("b", "{{ nodes.b }}"), edges=chain("a", "b"))
    found = [(i.code, i.node_id) for i in issues(raw)]
    assert found == [("not_an_ancestor", "a"), ("not_an_ancestor", "b")]


def branch_then_join(join: str = "all", template: str = "{{ nodes.x.v }}") -> dict[str, Any]:
    return spec(cond("c"), t("x", {"v": 1}), t("j", template, join=join),
                edges=(e("c", "x", "true"), e("x", "j"), e("c", "j", "false")))


def test_conditional_reference_after_a_branch() -> None:
    issue = one(branch_then_join(), "conditional_reference")
    assert (issue.path, issue.node_id) == ("/nodes/2/value", "j")
    assert issue.hint == "give it a fallback: nodes.x.v | default(...)"
    assert "nodes.x.v | default(...)" in issue.message


@pytest.mark.parametrize("template", [
    "{{ nodes.x.v | default(0) }}",
    "{{ nodes.x.v if nodes.x is defined else 0 }}",
    "{% if nodes.x is defined %}{{ nodes.x.v }}{% endif %}",
])
def test_fallback_makes_a_conditional_reference_fine(template: str) -> None:
    clean(branch_then_join(template=template))


def test_reading_the_branching_node_itself_is_fine() -> None:
    clean(branch_then_join(template="{{ nodes.c.result }}"))


def diamond(join: str = "all") -> dict[str, Any]:
    return spec(t("a", {"v": 1}), t("b", {"v": 2}), t("c", {"v": 3}),
                t("d", {"sum": "{{ nodes.b.v + nodes.c.v + nodes.a.v }}"}, join=join),
                edges=(e("a", "b"), e("a", "c"), e("b", "d"), e("c", "d")))


def test_parallel_branches_joined_may_read_each_other_via_always_live() -> None:
    clean(diamond())


def test_join_any_makes_sibling_references_conditional() -> None:
    found = issues(diamond("any"))
    # a dominates d; b and c may not have finished when d fires on the first arrival
    assert [(i.code, i.path) for i in found] == [("conditional_reference",
                                                  "/nodes/3/value/sum")] * 2
    assert "node 'b'" in found[0].message
    assert "node 'c'" in found[1].message


def test_error_route_makes_successors_conditional() -> None:
    raw = spec(t("a", {"v": 1}, on_error="route"), t("b", {"v": 2}), t("fix"),
               t("d", "{{ nodes.b.v }}"),
               edges=(e("a", "b"), e("a", "fix", "error"), e("b", "d"), e("fix", "d")))
    issue = one(raw, "conditional_reference")
    assert (issue.path, issue.node_id) == ("/nodes/3/value", "d")


def test_when_makes_reading_properties_conditional() -> None:
    raw = spec(t("a", {"v": 1}, when="{{ inputs.go }}"),
               t("b", {"whole": "{{ nodes.a }}", "part": "{{ nodes.a.v }}"}),
               edges=chain("a", "b"))
    issue = one(raw, "conditional_reference")  # a skipped node's output is null: fine as such
    assert issue.path == "/nodes/1/value/part"
    assert "when" in issue.message


def counter_loop(body_value: str, check: str = "{{ nodes.h.n < 3 }}") -> dict[str, Any]:
    return spec(t("start"), t("h", {"n": body_value}), cond("c", check),
                t("done", "{{ nodes.h.n }}"),
                edges=(e("start", "h"), e("h", "c"), e("c", "h", "true"), e("c", "done", "false")))


def test_loop_state_needs_a_fallback_on_the_first_pass() -> None:
    issue = one(counter_loop("{{ nodes.h.n + 1 }}"), "conditional_reference")
    assert (issue.path, issue.node_id) == ("/nodes/1/value/n", "h")
    assert "loop" in issue.message
    clean(counter_loop("{{ (nodes.h.n | default(0)) + 1 }}"))


def test_loop_reading_a_later_member_needs_a_fallback() -> None:
    issue = one(counter_loop("{{ nodes.c.result }}"), "conditional_reference")
    assert issue.node_id == "h"
    clean(counter_loop("{{ nodes.c.result | default(false) }}"))


def test_unknown_property_of_a_node_output() -> None:
    raw = spec(t("a", {"total": 1}), t("b", "{{ nodes.a.totl }}"), edges=chain("a", "b"))
    issue = one(raw, "unknown_property")
    assert (issue.path, issue.node_id, issue.hint) == ("/nodes/1/value", "b",
                                                       "did you mean 'total'?")


def test_unknown_property_of_inputs_nested() -> None:
    inputs = {"type": "object", "properties": {
        "user": {"type": "object", "properties": {"name": {"type": "string"}}},
        "tags": {"type": "array", "items": {"type": "object", "properties": {"k": {}}}}}}
    raw = spec(t("a", {"x": "{{ inputs.user.nmae }}", "y": "{{ inputs.tags[0].q }}",
                       "ok": "{{ inputs.user.name }} {{ inputs.tags[1].k }}"}), inputs=inputs)
    found = [(i.code, i.path, i.hint) for i in issues(raw)]
    assert found == [("unknown_property", "/nodes/0/value/x", "did you mean 'name'?"),
                     ("unknown_property", "/nodes/0/value/y", None)]


def test_inputs_open_to_additional_properties() -> None:
    for extra in (True, {"type": "string"}):
        inputs: dict[str, Any] = {"type": "object", "properties": {"a": {}},
                                  "additionalProperties": extra}
        clean(spec(t("a", "{{ inputs.b }}"), inputs=inputs))
    clean(spec(t("a", "{{ inputs.anything.at.all }}")))  # no properties declared


def test_unknown_property_of_run() -> None:
    issue = one(spec(t("a", "{{ run.id }} {{ run.startedat }}")), "unknown_property")
    assert issue.hint == "did you mean 'started_at'?"


def test_type_mismatch_map_items() -> None:
    inputs = {"type": "object", "properties": {"name": {"type": "string"},
                                               "list": {"type": "array"}}}
    body = {"nodes": [t("inner", "{{ item }}")]}
    bad = spec({"id": "m", "type": "map", "items": "{{ inputs.name }}", "body": body},
               inputs=inputs)
    issue = one(bad, "type_mismatch")
    assert (issue.path, issue.node_id) == ("/nodes/0/items", "m")
    clean(spec({"id": "m", "type": "map", "items": "{{ inputs.list }}", "body": body},
               inputs=inputs))


def test_type_mismatch_switch_case_outside_the_declared_enum() -> None:
    llm = {"id": "classify", "type": "llm", "provider": "fake", "model": "m", "prompt": "x",
           "output_schema": {"type": "object",
                             "properties": {"category": {"enum": ["refund", "other"]}}}}
    switch = {"id": "route", "type": "switch", "value": "{{ nodes.classify.category }}",
              "cases": ["refund", "refnd"]}
    issue = one(spec(llm, switch, t("x"),
                     edges=(e("classify", "route"), e("route", "x", "refund"))), "type_mismatch")
    assert (issue.path, issue.node_id) == ("/nodes/1/cases/1", "route")


def test_invalid_json_schema_in_inputs_input_node_and_llm() -> None:
    llm = {"id": "l", "type": "llm", "provider": "fake", "model": "m", "prompt": "x",
           "output_schema": {"type": "objekt"}}
    ask = {"id": "ask", "type": "input", "schema": {"properties": 5}}
    found = [(i.code, i.path, i.node_id) for i in issues(
        spec(llm, ask, edges=chain("l", "ask"), inputs={"type": 3}))]
    assert found == [("invalid_json_schema", "/inputs", None),
                     ("invalid_json_schema", "/nodes/0/output_schema", "l"),
                     ("invalid_json_schema", "/nodes/1/schema", "ask")]


def test_secret_not_allowed_in_outputs_and_transforms() -> None:
    raw = spec(t("a", "{{ secrets.api_key }}"), outputs={"leak": "{{ secrets.api_key }}"})
    found = [(i.code, i.path, i.node_id) for i in issues(raw)]
    assert found == [("secret_not_allowed", "/nodes/0/value", "a"),
                     ("secret_not_allowed", "/outputs/leak", None)]


def test_secrets_allowed_in_http_tool_and_llm_endpoint_fields() -> None:
    http = {"id": "call", "type": "http", "url": "https://api.example.com/{{ secrets.path }}",
            "headers": {"Authorization": "Bearer {{ secrets.token }}"}}
    tool = {"id": "up", "type": "tool", "tool": "text.upper", "args": {"text": "{{ secrets.t }}"}}
    llm = {"id": "l", "type": "llm", "provider": "fake", "model": "m", "prompt": "hi",
           "base_url": "https://{{ secrets.host }}/v1",
           "provider_options": {"key": "{{ secrets.k }}"}}
    clean(spec(http, tool, llm, edges=chain("call", "up", "l")))
    prompt = {**llm, "prompt": "{{ secrets.k }}"}
    assert one(spec(prompt), "secret_not_allowed").path == "/nodes/0/prompt"


def test_executor_issues_come_through() -> None:
    tool = {"id": "x", "type": "tool", "tool": "text.uper", "args": {}}
    context = ValidationContext(tool_names=frozenset({"text.upper"}))
    issue = one(spec(tool), "unknown_tool", context)
    assert (issue.path, issue.node_id) == ("/nodes/0/tool", "x")
    bad_args = {"id": "x", "type": "tool", "tool": "text.upper", "args": {"txt": "a"}}
    assert "invalid_tool_args" in codes(spec(bad_args))


# -- map bodies, inline subworkflows, outputs -------------------------------------------

def map_spec(body: dict[str, Any], **extra: Any) -> dict[str, Any]:
    inputs = {"type": "object", "properties": {
        "flag": {"type": "boolean"},
        "rows": {"type": "array", "items": {"type": "object", "properties": {"id": {}}}}}}
    return spec(t("first", {"v": 1}), cond("c"), t("side", {"v": 2}),
                {"id": "m", "type": "map", "items": "{{ inputs.rows }}", "body": body, **extra},
                edges=(e("first", "c"), e("c", "side", "true"), e("c", "m", "false"),
                       e("side", "m")), inputs=inputs)


def test_map_body_errors_have_full_paths() -> None:
    body = {"nodes": [t("inner", "{{ nodes.inner2.v }}"), {"id": "inner2", "type": "nope"}],
            "edges": [e("inner", "ghost")]}
    found = [(i.code, i.path, i.node_id) for i in issues(map_spec(body))]
    assert ("unknown_node_type", "/nodes/3/body/nodes/1/type", "inner2") in found
    assert ("dangling_edge", "/nodes/3/body/edges/0/to", "inner") in found
    assert ("not_an_ancestor", "/nodes/3/body/nodes/0/value", "inner") in found


def test_map_body_scope() -> None:
    body = {"nodes": [t("one", {"id": "{{ item.id }}", "i": "{{ index }}",
                                "first": "{{ nodes.first.v }}", "c": "{{ nodes.c.result }}",
                                "side": "{{ nodes.side.v | default(0) }}"}),
                      t("two", "{{ nodes.one.id }}")],
            "edges": [e("one", "two")], "output": "{{ nodes.two }}"}
    clean(map_spec(body))


def test_map_body_reads_outer_nodes_as_the_map_node_would() -> None:
    body = {"nodes": [t("one", {"side": "{{ nodes.side.v }}", "self": "{{ nodes.m }}",
                                "item": "{{ item.nope }}"})]}
    found = [(i.code, i.path) for i in issues(map_spec(body))]
    assert found == [("conditional_reference", "/nodes/3/body/nodes/0/value/side"),
                     ("not_an_ancestor", "/nodes/3/body/nodes/0/value/self"),
                     ("unknown_property", "/nodes/3/body/nodes/0/value/item")]


def test_map_body_nodes_are_invisible_outside() -> None:
    body = {"nodes": [t("inner", {"v": 1})]}
    raw = map_spec(body)
    raw["nodes"].append(t("after", "{{ nodes.inner.v }}"))
    raw["edges"].append(e("m", "after"))
    issue = one(raw, "unknown_reference")
    assert issue.path == "/nodes/4/value"
    assert "body of map 'm'" in issue.message


def test_map_body_output_is_checked_after_all_body_nodes() -> None:
    body = {"nodes": [cond("pick"), t("yes", {"v": 1})], "edges": [e("pick", "yes", "true")],
            "output": {"v": "{{ nodes.yes.v }}", "ok": "{{ nodes.pick.result }}"}}
    issue = one(map_spec(body), "conditional_reference")
    assert issue.path == "/nodes/3/body/output/v"


def inline(child: dict[str, Any], inputs: dict[str, Any] | None = None) -> dict[str, Any]:
    node = {"id": "sub", "type": "subworkflow", "spec": child, "inputs": inputs or {}}
    return spec(t("a", {"v": 1}), node, edges=chain("a", "sub"))


def test_inline_subworkflow_is_a_standalone_spec() -> None:
    child = spec({"id": "x", "type": "tranform", "value": 1}, t("y", "{{ nodes.a.v }}"),
                 edges=chain("x", "y"))
    found = [(i.code, i.path, i.node_id) for i in issues(inline(child))]
    assert found == [("unknown_node_type", "/nodes/1/spec/nodes/0/type", "x"),
                     ("unknown_reference", "/nodes/1/spec/nodes/1/value", "y")]


def test_inline_subworkflow_has_its_own_id_namespace() -> None:
    clean(inline(spec(t("a", "{{ inputs.v }}"))))


def test_missing_input_of_an_inline_subworkflow() -> None:
    child = spec(t("x", "{{ inputs.name }}"),
                 inputs={"type": "object", "required": ["name", "age"],
                         "properties": {"name": {}, "age": {}}})
    issue = one(inline(child, {"name": "{{ nodes.a.v }}"}), "missing_input")
    assert (issue.path, issue.node_id) == ("/nodes/1/inputs", "sub")
    assert "'age'" in issue.message
    clean(inline(child, {"name": "n", "age": 3}))


def test_outputs_follow_the_fallback_rules() -> None:
    raw = branch_then_join(template="{{ nodes.x.v | default(0) }}")
    raw["outputs"] = {"x": "{{ nodes.x.v }}", "safe": "{{ nodes.x.v | default(0) }}",
                      "join": "{{ nodes.j }}", "c": "{{ nodes.c.result }}"}
    issue = one(raw, "conditional_reference")
    assert (issue.path, issue.node_id) == ("/outputs/x", None)


def test_outputs_after_a_branch_that_can_end_the_run() -> None:
    raw = spec(cond("c"), t("x", {"v": 1}), edges=(e("c", "x", "true"),),
               outputs={"x": "{{ nodes.x.v }}"})
    assert one(raw, "conditional_reference").path == "/outputs/x"


def test_outputs_of_unknown_nodes_and_properties() -> None:
    raw = spec(t("a", {"v": 1}), outputs={"r": "{{ nodes.b }}", "s": "{{ nodes.a.w }}"})
    found = [(i.code, i.path) for i in issues(raw)]
    assert found == [("unknown_reference", "/outputs/r"), ("unknown_property", "/outputs/s")]


# -- everything at once, the example, the result ------------------------------------------

def test_every_problem_is_reported_at_once() -> None:
    raw = {
        "spec_version": "1", "name": "many", "colour": "red",
        "nodes": [
            {"id": "Start", "type": "transform", "value": "{{ nodes.later.x }}"},
            {"id": "later", "type": "transfrom"},
            cond("c", "{{ inputs.x ) }}"),
            t("c"),
            t("leak", "{{ secrets.token }}"),
            {"id": "w", "type": "wait", "duration": "soon"},
        ],
        "edges": [e("Start", "c"), e("c", "leak", "yes"), e("c", "nowhere", "true"),
                  e("c", "w", "false", kind="magic")],
    }
    found = {(i.code, i.path) for i in issues(raw)}
    expected = {
        ("unknown_field", "/colour"),
        ("invalid_node_id", "/nodes/0/id"),
        ("unknown_node_type", "/nodes/1/type"),
        ("bad_expression", "/nodes/2/if"),
        ("duplicate_node_id", "/nodes/3/id"),
        ("secret_not_allowed", "/nodes/4/value"),
        ("invalid_duration", "/nodes/5/duration"),
        ("unknown_port", "/edges/1/port"),
        ("dangling_edge", "/edges/2/to"),
        ("unknown_edge_kind", "/edges/3/kind"),
        ("not_an_ancestor", "/nodes/0/value"),
    }
    assert expected <= found, sorted(found - expected)


def test_design_example_validates_cleanly() -> None:
    raw = design_example()
    clean(raw, PROVIDERS)
    result = validate_spec(raw, context=PROVIDERS)
    assert list(result.node_map) == ["classify", "route", "big", "approve", "reply"]
    assert result.topology.roots == ("classify",)


def test_validate_spec_returns_the_typed_spec_and_facts() -> None:
    raw = diamond()
    result = validate_spec(raw)
    assert isinstance(result, ValidatedSpec)
    assert result.raw is raw
    assert [n.type_name for n in result.spec.nodes] == ["transform"] * 4
    assert result.spec.edges[0].from_ == "a"
    assert result.node_map["d"].join == "all"
    assert result.topology.roots == ("a",)
    assert len(result.spec_hash) == 64
    with pytest.raises(AttributeError):
        result.spec_hash = "x"  # type: ignore[misc]


def test_spec_hash_is_canonical() -> None:
    raw = diamond()
    shuffled = json.loads(json.dumps(raw, sort_keys=True))
    shuffled["nodes"][0] = dict(reversed(list(shuffled["nodes"][0].items())))
    assert validate_spec(shuffled).spec_hash == validate_spec(raw).spec_hash == spec_hash(raw)
    changed = copy.deepcopy(raw)
    changed["nodes"][0]["value"] = {"v": 2}
    assert spec_hash(changed) != spec_hash(raw)


def test_validate_spec_raises_with_every_issue() -> None:
    raw = spec(t("A"), t("b", "{{ nodes.zz }}"))
    with pytest.raises(SpecValidationError) as caught:
        validate_spec(raw)
    assert [i.code for i in caught.value.issues] == ["invalid_node_id", "unknown_reference"]


def test_issues_serialise() -> None:
    [issue] = issues(spec(t("a", "{{ nodes.b }}")))
    assert issue.to_dict() == {"code": "unknown_reference", "message": issue.message,
                               "path": "/nodes/0/value", "node_id": "a", "hint": None}


# -- speed --------------------------------------------------------------------------------

def long_chain(n: int) -> dict[str, Any]:
    nodes = [t(f"n{i}", {"v": f"{{{{ nodes.n{i - 1}.v }}}}" if i else "{{ inputs.x }}"})
             for i in range(n)]
    return spec(*nodes, edges=chain(*[f"n{i}" for i in range(n)]),
                outputs={"last": f"{{{{ nodes.n{n - 1}.v }}}}"})


def test_ten_thousand_node_chain_validates() -> None:
    # Its speed is measured by bench/compile_time.py, not asserted here.
    result = validate_spec(long_chain(10_000))
    assert len(result.topology.node_ids) == 10_000


def test_error_output_is_readable_when_errors_are_routed() -> None:
    from workflow_compiler.validation import check_spec

    issues = check_spec({"spec_version": "1", "name": "r",
                         "nodes": [{"id": "fetch", "type": "http", "url": "https://example.com/x",
                                    "on_error": "route"},
                                   {"id": "why", "type": "transform",
                                    "value": "{{ nodes.fetch.error.message }}"}],
                         "edges": [{"from": "fetch", "port": "error", "to": "why"}]})
    assert issues == []


def test_outputs_after_a_join_any_may_read_nodes_that_always_run() -> None:
    from workflow_compiler.validation import check_spec

    issues = check_spec({"spec_version": "1", "name": "r",
                         "nodes": [{"id": "a", "type": "transform", "value": 1},
                                   {"id": "c", "type": "transform", "value": 2},
                                   {"id": "b", "type": "transform", "value": 3, "join": "any"}],
                         "edges": [{"from": "a", "to": "b"}, {"from": "a", "to": "c"},
                                   {"from": "c", "to": "b"}],
                         "outputs": {"c": "{{ nodes.c }}"}})
    assert issues == []
