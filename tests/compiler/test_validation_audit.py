"""Static checks added after an audit: approvals that can never decide, timeout ports that
can never fire (or fire into nothing), the shape of approval ``notify`` channels, edges
with several problems at once, and inline subworkflow inputs of the wrong type."""

from __future__ import annotations

from typing import Any

import pytest

from workflow_compiler.errors import SpecIssue
from workflow_compiler.spec.models import spec_json_schema
from workflow_compiler.validation import check_spec


def spec(*nodes: dict[str, Any], edges: tuple[dict[str, Any], ...] = (),
         **top: Any) -> dict[str, Any]:
    return {"spec_version": "1", "name": "t", "nodes": list(nodes), "edges": list(edges), **top}


def t(node_id: str, value: Any = 1) -> dict[str, Any]:
    return {"id": node_id, "type": "transform", "value": value}


def e(source: str, target: str, port: str | None = None, **extra: Any) -> dict[str, Any]:
    return {"from": source, "to": target, **({"port": port} if port else {}), **extra}


def found(raw: dict[str, Any]) -> list[tuple[str, str, str | None]]:
    issues = check_spec(raw)
    assert all(i.code != "internal_error" for i in issues), issues
    return [(i.code, i.path, i.node_id) for i in issues]


def only(raw: dict[str, Any], code: str) -> SpecIssue:
    matching = [i for i in check_spec(raw) if i.code == code]
    assert len(matching) == 1, check_spec(raw)
    return matching[0]


def approval(**config: Any) -> dict[str, Any]:
    return {"id": "ask", "type": "approval", "question": "ok?", **config}


# -- approvals that may never decide ------------------------------------------------------


@pytest.mark.parametrize(("approvers", "min_approvals", "max_rejections"), [
    (["a", "b"], 2, 2),  # one approves, one rejects: neither threshold
    (["a", "b", "c"], 2, 3),  # 1 approval + 2 rejections
    (["a", "b", "c", "d"], 3, 3),
    (["a", "b", "c"], 3, 2),
])
def test_a_split_vote_that_decides_nothing_is_refused_without_a_timeout(
    approvers: list[str], min_approvals: int, max_rejections: int
) -> None:
    node = approval(approvers=approvers, min_approvals=min_approvals,
                    max_rejections=max_rejections)
    issue = only(spec(node), "approval_may_never_decide")
    assert (issue.path, issue.node_id) == ("/nodes/0/max_rejections", "ask")
    assert issue.hint is not None and "timeout" in issue.hint
    assert f"lower max_rejections to {len(approvers) + 1 - min_approvals}" in issue.hint


def test_with_a_timeout_the_timeout_decides_a_split_vote() -> None:
    node = approval(approvers=["a", "b"], min_approvals=2, max_rejections=2, timeout="PT1H")
    assert found(spec(node)) == []


@pytest.mark.parametrize(("approvers", "min_approvals", "max_rejections"), [
    (["a", "b", "c"], 2, 2), (["a", "b"], 1, 1), (["a", "b"], 2, 1), (["a"], 1, 1),
    ([], 5, 5),  # anyone may answer: more responses can always come
])
def test_thresholds_every_split_reaches_are_fine(
    approvers: list[str], min_approvals: int, max_rejections: int
) -> None:
    assert found(spec(approval(approvers=approvers, min_approvals=min_approvals,
                               max_rejections=max_rejections))) == []


def test_max_rejections_beyond_the_approvers_is_refused_even_with_a_timeout() -> None:
    for extra in ({}, {"timeout": "PT1H"}):
        node = approval(approvers=["a", "b"], max_rejections=3, **extra)
        assert found(spec(node)) == [("invalid_value", "/nodes/0/max_rejections", "ask")]
    issue = only(spec(approval(approvers=["a", "b"], max_rejections=3)), "invalid_value")
    assert "never be rejected" in issue.message


def test_duplicate_approvers_count_once() -> None:
    node = approval(approvers=["a", "a"], min_approvals=2)
    assert found(spec(node)) == [("invalid_value", "/nodes/0/min_approvals", "ask")]


# -- timeout ports ------------------------------------------------------------------------


@pytest.mark.parametrize("node", [
    {"id": "ask", "type": "signal", "signal": "paid"},
    {"id": "ask", "type": "input"},
    approval(),
    approval(timeout="PT1H"),  # on_timeout reject (the default): leaves through "rejected"
    approval(timeout="PT1H", on_timeout="approve"),
])
def test_an_edge_from_a_timeout_port_that_never_fires_is_refused(node: dict[str, Any]) -> None:
    issue = only(spec(node, t("late"), edges=(e("ask", "late", "timeout"),)),
                 "port_never_fires")
    assert (issue.path, issue.node_id) == ("/edges/0/port", "ask")
    assert issue.hint


@pytest.mark.parametrize("node", [
    {"id": "ask", "type": "signal", "signal": "paid", "timeout": "P1D"},
    {"id": "ask", "type": "input", "timeout": 60},
    approval(timeout="PT1H", on_timeout="route"),
])
def test_an_edge_from_a_timeout_port_that_can_fire_is_fine(node: dict[str, Any]) -> None:
    assert found(spec(node, t("late"), edges=(e("ask", "late", "timeout"),))) == []


def test_on_timeout_route_without_a_timeout_is_refused_once() -> None:
    alone = spec(approval(on_timeout="route"))
    assert found(alone) == [("missing_timeout", "/nodes/0/on_timeout", "ask")]
    wired = spec(approval(on_timeout="route"), t("late"), edges=(e("ask", "late", "timeout"),))
    assert found(wired) == [("missing_timeout", "/nodes/0/on_timeout", "ask")]


def test_on_timeout_route_without_an_edge_from_the_timeout_port_is_refused() -> None:
    raw = spec(approval(timeout="PT1H", on_timeout="route"), t("ok"),
               edges=(e("ask", "ok", "approved"),))
    issue = only(raw, "timeout_not_routed")
    assert (issue.path, issue.node_id) == ("/nodes/0/on_timeout", "ask")
    assert issue.hint is not None and '"port": "timeout"' in issue.hint


def test_timeout_ports_are_checked_in_map_bodies_too() -> None:
    body = {"nodes": [{"id": "hook", "type": "signal", "signal": "go"}, t("late")],
            "edges": [e("hook", "late", "timeout")]}
    raw = spec({"id": "m", "type": "map", "items": "{{ [1] }}", "body": body})
    assert found(raw) == [("port_never_fires", "/nodes/0/body/edges/0/port", "hook")]


def test_a_timeout_that_just_ends_an_input_or_signal_branch_is_fine() -> None:
    assert found(spec({"id": "hook", "type": "signal", "signal": "go", "timeout": "PT1H"})) == []


# -- notify channels ------------------------------------------------------------------------


def test_valid_notify_channels_pass() -> None:
    channels = [{"channel": "webhook", "url": "https://hooks.example.com/approvals"},
                {"channel": "email", "to": ["ops@example.com"], "subject": "Refund waiting"}]
    assert found(spec(approval(notify=channels))) == []


@pytest.mark.parametrize(("channel", "expected"), [
    ("ops", [("invalid_value", "/nodes/0/notify/0")]),
    ({"channel": "sms", "to": ["x"]}, [("invalid_value", "/nodes/0/notify/0/channel")]),
    ({"url": "https://x.example.com"}, [("missing_field", "/nodes/0/notify/0/channel")]),
    ({"channel": "email", "to": ["a@b.co"], "cc": ["x"]},
     [("unknown_field", "/nodes/0/notify/0/cc")]),
    ({"channel": "email", "to": "a@b.co"}, [("invalid_value", "/nodes/0/notify/0/to")]),
    ({"channel": "email", "to": []}, [("invalid_value", "/nodes/0/notify/0/to")]),
    ({"channel": "webhook"}, [("missing_field", "/nodes/0/notify/0/url")]),
    ({"channel": "email"}, [("missing_field", "/nodes/0/notify/0/to")]),
    ({"channel": "webhook", "url": "ftp://hooks.example.com/"},
     [("invalid_url", "/nodes/0/notify/0/url")]),
    ({"channel": "webhook", "url": "hooks.example.com/x"},
     [("invalid_url", "/nodes/0/notify/0/url")]),
    ({"channel": "webhook", "url": "https://h.example.com/", "to": ["a@b.co"]},
     [("invalid_value", "/nodes/0/notify/0/to")]),
    ({"channel": "email", "to": ["a@b.co", "not an address"], "url": "https://h.example.com/"},
     [("invalid_value", "/nodes/0/notify/0/url"), ("invalid_value", "/nodes/0/notify/0/to/1")]),
])
def test_bad_notify_channels_are_refused_where_they_are(
    channel: Any, expected: list[tuple[str, str]]
) -> None:
    assert [(code, path) for code, path, _ in found(spec(approval(notify=[channel])))] \
        == expected


def test_notify_is_described_in_the_json_schema() -> None:
    schema = spec_json_schema()
    channel = schema["$defs"]["NotifyChannel"]
    assert channel["properties"]["channel"]["enum"] == ["webhook", "email"]
    assert "not done yet" in " ".join(channel["description"].split())
    notify = schema["$defs"]["ApprovalNode"]["properties"]["notify"]
    assert notify["items"] == {"$ref": "#/$defs/NotifyChannel"}


# -- an edge with several problems ------------------------------------------------------------


def test_an_edge_with_a_bad_kind_and_a_bad_port_reports_both() -> None:
    raw = spec({"id": "c", "type": "condition", "if": "{{ true }}"}, t("x"),
               edges=(e("c", "x", "ture", kind="main_"), e("c", "x", "true")))
    assert found(raw) == [("unknown_edge_kind", "/edges/0/kind", None),
                          ("unknown_port", "/edges/0/port", "c")]
    assert only(raw, "unknown_port").hint == "did you mean 'true'?"


def test_an_edge_with_a_bad_kind_and_no_port_reports_only_the_kind() -> None:
    raw = spec({"id": "c", "type": "condition", "if": "{{ true }}"}, t("x"),
               edges=(e("c", "x", kind="weird"), e("c", "x", "true")))
    assert found(raw) == [("unknown_edge_kind", "/edges/0/kind", None)]


# -- inline subworkflow inputs against the child's schema ------------------------------------


CHILD_INPUTS = {"type": "object", "required": ["count"],
                "properties": {"count": {"type": "integer", "minimum": 0},
                               "tags": {"type": "array", "items": {"type": "string"}},
                               "label": {"type": "string"},
                               "ratio": {"type": "number"},
                               "anything": {}}}
PARENT_INPUTS = {"type": "object",
                 "properties": {"word": {"type": "string"}, "n": {"type": "integer"},
                                "amount": {"type": "number"}, "free": {},
                                "maybe": {"type": ["string", "null"]}}}


def inline(inputs: dict[str, Any]) -> dict[str, Any]:
    child = spec(t("x", "{{ inputs.count }}"), inputs=CHILD_INPUTS)
    return spec({"id": "sub", "type": "subworkflow", "spec": child, "inputs": inputs},
                inputs=PARENT_INPUTS)


@pytest.mark.parametrize(("inputs", "path"), [
    ({"count": "three"}, "/nodes/0/inputs/count"),
    ({"count": -1}, "/nodes/0/inputs/count"),
    ({"count": 1, "tags": ["a", 2]}, "/nodes/0/inputs/tags/1"),
    ({"count": 1, "label": {"text": "x"}}, "/nodes/0/inputs/label"),
    ({"count": "{{ inputs.word }}"}, "/nodes/0/inputs/count"),
    ({"count": 1, "tags": "{{ inputs.n }}"}, "/nodes/0/inputs/tags"),
    ({"count": 1, "label": "{{ inputs.amount }}"}, "/nodes/0/inputs/label"),
])
def test_inputs_of_a_declared_wrong_type_are_type_mismatches(
    inputs: dict[str, Any], path: str
) -> None:
    issue = only(inline(inputs), "type_mismatch")
    assert (issue.path, issue.node_id) == (path, "sub")


@pytest.mark.parametrize("inputs", [
    {"count": 3, "tags": ["a"], "label": "x", "ratio": 1, "anything": {"a": [1]}},
    {"count": "{{ inputs.n }}", "ratio": "{{ inputs.n }}"},
    {"count": "{{ inputs.amount }}"},  # a number may be whole: not provably wrong
    {"count": "{{ inputs.free }}", "label": "{{ inputs.maybe }}"},  # open or partly right
    {"count": "{{ inputs.n + 1 }}"},  # an expression: its type is not known
    {"count": "{{ inputs.word | length }}"},
    {"count": 1, "label": "{{ inputs.n }} items"},  # mixed text is a string
    {"count": 1, "tags": ["{{ inputs.n }}"]},  # a template inside a constant: unknown
    {"count": 1, "extra": "ignored here"},
])
def test_inputs_that_may_fit_are_not_flagged(inputs: dict[str, Any]) -> None:
    assert found(inline(inputs)) == []


def test_a_subworkflow_used_as_a_tool_is_not_judged_on_its_inputs() -> None:
    child = spec(t("x", "{{ inputs.count }}"), inputs=CHILD_INPUTS)
    sub = {"id": "sub", "type": "subworkflow", "spec": child, "inputs": {"count": "three"},
           "description": "counts"}
    agent = {"id": "agent", "type": "llm", "provider": "fake", "model": "m", "prompt": "hi"}
    raw = spec(sub, agent, edges=(e("sub", "agent", kind="ai_tool"),))
    assert [c for c, _, _ in found(raw) if c == "type_mismatch"] == []
