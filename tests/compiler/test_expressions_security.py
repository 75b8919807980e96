"""The sandbox against hostile templates: injection payloads, resource bombs, mutation."""

from __future__ import annotations

import contextlib
import copy
import time
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from workflow_compiler.errors import ExpressionError
from workflow_compiler.expressions import (
    MAX_OUTPUT_CHARS,
    MAX_TEMPLATE_CHARS,
    compile_template,
    compile_value,
    limits,
)

PAYLOADS_FILE = Path(__file__).parent / "data" / "injection_payloads.txt"
MARKER = Path("/tmp/gw_ssti_marker")  # what the payloads that run commands would create


def make_scope() -> dict[str, Any]:
    return {
        "inputs": {"ticket": "Where is my refund?", "amount": 150, "tags": ["a", "b"]},
        "nodes": {"classify": {"category": "refund"}, "list": {"values": list(range(10))}},
        "item": {"sku": "A-1"},
        "index": 0,
        "secrets": {"api_key": "sk-live-9f8e7d6c5b4a"},
        "run": {"id": "run-1"},
    }


def attempt(source: str, scope: dict[str, Any] | None = None, **kwargs: Any) -> Any:
    """Compile and evaluate; the template must be refused with an ExpressionError."""
    with pytest.raises(ExpressionError) as caught:
        compile_template(source).evaluate(make_scope() if scope is None else scope, **kwargs)
    return caught.value


def load_payloads() -> list[str]:
    lines = PAYLOADS_FILE.read_text(encoding="utf-8").splitlines()
    return [line for line in lines if line.strip()]


# -- injection corpus ----------------------------------------------------------------------


def test_corpus_is_substantial() -> None:
    payloads = load_payloads()
    assert len(payloads) >= 40
    assert len(set(payloads)) == len(payloads)


@pytest.mark.parametrize("payload", load_payloads())
def test_injection_payload_is_refused(payload: str) -> None:
    MARKER.unlink(missing_ok=True)
    scope = make_scope()
    before = copy.deepcopy(scope)
    attempt(payload, scope)
    assert not MARKER.exists(), "a payload executed a command"
    assert scope == before, "a payload modified the scope"


# -- compile-time refusals -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("{{ inputs._private }}", "attribute '_private' is not allowed"),
        ("{{ inputs['_private'] }}", "key '_private' is not allowed"),
        ("{{ inputs['\\x5fprivate'] }}", "key '_private' is not allowed"),
        ("{% include 'x' %}", "{% include %} is not allowed"),
        ("{% extends 'x' %}", "{% extends %} is not allowed"),
        ("{% import 'x' as y %}", "{% import %} is not allowed"),
        ("{% from 'x' import y %}", "{% from ... import %} is not allowed"),
        ("{% macro m() %}{% endmacro %}", "{% macro %} is not allowed"),
        ("{% call m() %}{% endcall %}", "{% call %} is not allowed"),
        ("{% block b %}{% endblock %}", "{% block %} is not allowed"),
        ("{% autoescape true %}{% endautoescape %}", "{% autoescape %} is not allowed"),
        ("{% for x in y recursive %}{{ loop(x) }}{% endfor %}", "recursive loops"),
        ("{{ self }}", "'self' is not available"),
        ("{% for loop in x %}{% endfor %}", "'loop' cannot be a loop variable"),
        ("{% for a, loop in x %}{% endfor %}", "'loop' cannot be a loop variable"),
        ("{{ x | map(attribute='a.__class__') }}", "attribute 'a.__class__' is not allowed"),
        ("{{ x | selectattr('__dict__') }}", "attribute '__dict__' is not allowed"),
    ],
)
def test_refused_at_compile_time(source: str, message: str) -> None:
    with pytest.raises(ExpressionError) as caught:
        compile_template(source)
    assert message in caught.value.message


def test_refusal_reports_line() -> None:
    with pytest.raises(ExpressionError) as caught:
        compile_template("first\nsecond\n{{ inputs.__class__ }}")
    assert caught.value.details["line"] == 3
    assert "(line 3)" in caught.value.message


def test_template_source_limit() -> None:
    with pytest.raises(ExpressionError, match="limit"):
        compile_template("x" * (MAX_TEMPLATE_CHARS + 1) + "{{ 1 }}")


# -- immutability --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "source",
    [
        "{{ inputs.update({'a': 1}) }}",
        "{{ nodes.x.append(1) }}",
        "{{ inputs.tags.append(1) }}",
        "{{ inputs.tags.pop() }}",
        "{{ inputs.tags.remove('a') }}",
        "{{ inputs.tags.reverse() }}",
        "{{ inputs.pop('ticket') }}",
        "{{ inputs.popitem() }}",
        "{{ inputs.clear() }}",
        "{{ inputs.setdefault('x', 1) }}",
        "{{ nodes.classify.update(category='x') }}",
        "{% if inputs.tags.append(1) %}{% endif %}",
        "{{ inputs.update({'a': 1}) | default('absorbed?') }}",
    ],
)
def test_mutation_is_refused(source: str) -> None:
    scope = make_scope()
    scope["nodes"]["x"] = []
    before = copy.deepcopy(scope)
    attempt(source, scope)
    assert scope == before


# -- string formatting and other back doors ------------------------------------------------


@pytest.mark.parametrize(
    "source",
    [
        "{{ '{0}'.format(inputs) }}",
        "{{ inputs.ticket.format_map({}) }}",
        "{{ '%s' % inputs.ticket }}",
        "{{ '%(ticket)s' % inputs }}",
        "{{ inputs.ticket.center(100) }}",
        "{{ inputs.ticket.zfill(100) }}",
        "{{ inputs.ticket.expandtabs(100) }}",
        "{{ ','.join(inputs.tags) }}",
        "{{ inputs.ticket.replace('a', 'b') }}",
        "{{ (inputs.tags | map('upper')).gi_frame }}",
        "{{ inputs.keys().mapping.copy() }}",
    ],
)
def test_back_doors_are_refused(source: str) -> None:
    attempt(source)


def test_raw_jinja_errors_never_escape() -> None:
    # SecurityError, UndefinedError, TemplateSyntaxError and Python errors all surface as
    # ExpressionError: the attempt() helper would fail on anything else.
    attempt("{{ inputs.update({}) }}")
    attempt("{{ nothing.here }}")
    with pytest.raises(ExpressionError):
        compile_template("{{ inputs[ }}")
    attempt("{{ [1][5] }}")
    attempt("{{ {}['a'] + 1 }}")


def test_secret_values_are_masked_in_messages() -> None:
    error = attempt("{{ inputs.tags.index(secrets.api_key) }}")
    assert "sk-live-9f8e7d6c5b4a" not in error.message
    assert "***" in error.message


fragments = st.sampled_from(
    [
        "{{", "}}", "{%", "%}", "inputs", "nodes", ".", "[", "]", "(", ")", "|", "'", '"',
        "__class__", "_", "upper", "default", "attr", "format", "for", "in", "if", "endif",
        "endfor", "set", "=", "~", "*", "**", "%", "+", "1", "0", "range", " ", ",", "x",
        "tags", "join", "is", "defined", "not", "loop", "self", "-", "\n", "{", "}",
    ]
)  # fmt: skip


@settings(max_examples=250, deadline=None)
@given(st.lists(fragments, max_size=16).map("".join))
def test_arbitrary_templates_only_raise_expression_errors(source: str) -> None:
    with contextlib.suppress(ExpressionError):
        compile_template(source).evaluate(make_scope(), timeout=0.2)


# -- resource limits -----------------------------------------------------------------------

BOMBS = [
    "{{ 'a' * 10**9 }}",
    "{{ 10**9 * 'a' }}",
    "{{ [0] * 10**9 }}",
    "{{ [[1] * 1000] * 1000 }}",
    "{{ 9 ** (9 ** 9) }}",
    "{{ 2 ** 100000 }}",
    "{{ (10 ** 1000) * (10 ** 1000) }}",
    "{{ range(10**9) }}",
    "{{ range(10**9) | list | length }}",
    "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}",
    "{% for i in range(100000) %}{% for j in range(100000) %}{{ j }}{% endfor %}{% endfor %}",
    "{% for i in nodes.big.items %}{% for j in nodes.big.items %}{% endfor %}{% endfor %}",
    "{% set x %}{% for i in range(1000) %}{% for j in range(1000) %}" + "y" * 100 + "{% endfor %}"
    "{% endfor %}{% endset %}{{ x | length }}",
    "{% filter upper %}{% for i in range(100000) %}" + "z" * 200 + "{% endfor %}{% endfilter %}",
    "{% for i in range(100000) %}{{ nodes.big.text }}{% endfor %}",
    "{% set s = 'a' * 1000000 %}{% set s = s ~ s %}{{ s | length }}",
    "{% set s = 'a' * 1000000 %}{{ (s + s) | length }}",
    "{% set a = ['x' * 100000] %}{% set b = [a, a, a, a, a, a, a, a, a, a] %}"
    "{% set c = [b, b, b, b, b, b, b, b, b, b] %}"
    "{% set d = [c, c, c, c, c, c, c, c, c, c] %}{{ d }}",
    "{% set a = ['x' * 100000] %}{% set b = [a, a, a, a, a, a, a, a, a, a] %}"
    "{% set c = [b, b, b, b, b, b, b, b, b, b] %}{{ c | tojson }}",
    "{% set a = ['x' * 100000] %}{% set b = [a, a, a, a, a, a, a, a, a, a, a] %}{{ b }}x",
    "{{ nodes.big.text | replace('x', nodes.big.text) }}",
    "{{ range(100000) | map('string') | join(nodes.big.text) }}",
    "{{ '%0999999999d' % 1 }}",
    "{{ nodes.big.text.center(10**9) }}",
    "{{ {'a': 1} | tojson(indent=10**9) }}",
    "{{ ('x' * 100000) * 100000 }}",
    "{{ [1] | batch(10**8, fill_with=0) | list }}",
    "{{ 1.5 | round(10**8, 'ceil') }}",
    "{{ [1.5] | map('round', 10**8, 'floor') | list }}",
    # Shared-structure bombs: cheap to build, quadratic or worse to compare or write out.
    "{% set a = range(20000) | list %}{% set b = range(20000) | list %}"
    "{% set t = [" + ", ".join(["a"] * 100) + "] %}{% set u = [" + ", ".join(["b"] * 100) + "] %}"
    "{{ t == u }}",
    "{% set n = [none] * 10000 %}{{ n | map('d', range(10000) | list, true) | min }}",
    "{% set n = [none] * 10000 %}{{ n | map('d', range(10000) | list, true) | sort | length }}",
    "{% set n = [none] * 10000 %}{{ n | map('d', range(10000) | list, true) | list | length }}",
    "{% set n = [none] * 10000 %}{{ n | map('d', range(10000) | list, true) | batch(5) | list }}",
    "{% set x = ['y' * 1000] %}{% set b = [x, x, x, x, x, x, x, x, x, x] %}"
    "{% set c = [b, b, b, b, b, b, b, b, b, b] %}{% set d = [c, c, c, c, c, c, c, c, c, c] %}"
    "{{ d | length }}",
    "{{ [1] | batch(100000, fill_with=range(1000) | list) | list | length }}",
]


def bomb_scope() -> dict[str, Any]:
    scope = make_scope()
    scope["nodes"]["big"] = {"items": list(range(100_000)), "text": "x" * 1000}
    return scope


def test_every_bomb_is_refused_quickly() -> None:
    # Bounds against hanging (the deadline is 1 s), not speed targets: loaded CI hosts
    # must not make this flaky.
    for bomb in BOMBS:
        one = time.monotonic()
        attempt(bomb, bomb_scope())
        assert time.monotonic() - one < 10, bomb


def test_deadline_stops_long_loops() -> None:
    # Under the iteration cap but over a tight deadline.
    source = "{% for i in range(100000) %}{% for j in range(9) %}{{ j }}{% endfor %}{% endfor %}"
    started = time.monotonic()
    error = attempt(source, timeout=0.05)
    assert "longer than 0.05s" in error.message
    assert time.monotonic() - started < 10  # stopped, not run to completion


def test_deadline_stops_lazy_filter_chains() -> None:
    # Each comparison is one uninterruptible C call over 50,000 equal items (the lists
    # differ only in their last one, so no length check cuts it short), but the chain
    # checks the clock between items: 100,000 such calls would take many seconds.
    source = (
        "{% set n = [none] * 100000 %}{% set t = range(50000) | list %}"
        "{% set u = (range(49999) | list) + [-1] %}"
        "{{ n | map('d', t, true) | select('eq', u) | first }}"
    )
    started = time.monotonic()
    error = attempt(source, timeout=0.2)
    assert "longer than 0.2s" in error.message
    assert time.monotonic() - started < 10  # stopped, not run to completion


def test_value_shares_one_budget(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(limits, "MAX_ITERATIONS", 20_000)  # the rule, at a cheaper scale
    loop = "{% for i in range(1000) %}{% for j in range(5) %}{% endfor %}{% endfor %}"
    value = {name: loop for name in "abcde"}  # each fits the iteration cap, together not
    # A generous deadline: this test is about the iteration count, not the clock.
    compile_template(loop).evaluate({}, timeout=30)
    with pytest.raises(ExpressionError, match="loop iterations"):
        compile_value(value).evaluate({}, timeout=30)


def test_output_limits() -> None:
    attempt("{% for i in range(2000) %}{{ 'x' * 1000 }}{% endfor %}")
    attempt("{{ range(100000) | list | map('string') | map('upper') | list }}{{ '' }}x" * 3)
    attempt("{{ (range(100000) | list) + (range(100000) | list) }}")


def test_large_scope_values_pass_through() -> None:
    big = "b" * (MAX_OUTPUT_CHARS * 2)
    scope = {"nodes": {"http": {"body": big}}}
    assert compile_template("{{ nodes.http.body }}").evaluate(scope) is big
    assert compile_template("{{ nodes.http.body | default('') }}").evaluate(scope) is big
    assert compile_template("{{ {'body': nodes.http.body} }}").evaluate(scope) == {"body": big}
    attempt("{{ [nodes.http.body, nodes.http.body] }}", scope)
    attempt("Body: {{ nodes.http.body }}", scope)


def test_reasonable_work_is_allowed() -> None:
    scope = bomb_scope()
    assert compile_template("{{ range(100000) | sum }}").evaluate(scope) == sum(range(100000))
    assert compile_template("{{ nodes.big.items | length }}").evaluate(scope) == 100_000
    text = "{% for i in range(300) %}{% for j in range(300) %}.{% endfor %}{% endfor %}"
    assert len(compile_template(text).evaluate(scope)) == 90_000
    assert compile_template("{{ 2 ** 64 }}").evaluate(scope) == 2**64
    assert compile_template("{{ 9 ** 9 ** 9 }}").evaluate(scope) == (9**9) ** 9  # left-assoc
    shared = "{% set x = 'a' * 100 %}{{ [x, x, x] | length }} {{ [x, x] == [x, x] }}"
    assert compile_template(shared).evaluate(scope) == "3 true"
    rows = {"rows": [{"id": i, "v": str(i)} for i in range(5000)]}
    assert compile_template("{{ inputs.rows | sort(attribute='v') | first }}").evaluate(
        {"inputs": rows}
    ) == {"id": 0, "v": "0"}
