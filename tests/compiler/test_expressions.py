"""Behaviour of the expression engine as the rest of graphwright relies on it."""

from __future__ import annotations

import copy
import json
import re
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from markupsafe import Markup

from workflow_compiler.errors import ExpressionError
from workflow_compiler.expressions import (
    ROOTS,
    CompiledTemplate,
    CompiledValue,
    Reference,
    compile_template,
    compile_value,
    is_template,
    references_in,
)


def make_scope() -> dict[str, Any]:
    return {
        "inputs": {"ticket": "Where is my refund?", "amount": 150, "tags": ["a", "b"]},
        "nodes": {
            "classify": {"category": "refund", "confidence": 0.9},
            "fetch": {"items": [{"id": 1, "name": "x"}, {"id": 2, "name": "y"}], "count": 2},
            "empty": None,
        },
        "item": {"sku": "A-1", "qty": 3},
        "index": 4,
        "secrets": {"api_key": "sk-test-0123456789"},
        "run": {"id": "run-1", "started_at": "2025-01-01T00:00:00Z"},
    }


def evaluate(source: str, scope: dict[str, Any] | None = None) -> Any:
    return compile_template(source).evaluate(make_scope() if scope is None else scope)


def refs(source: str) -> list[tuple[str, tuple[str | int, ...], bool]]:
    return [(r.root, r.path, r.has_fallback) for r in compile_template(source).references]


# -- detection and compilation ---------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("{{ x }}", True),
        ("{% if x %}y{% endif %}", True),
        ("a {{ b }} c", True),
        ("plain text", False),
        ("{ not } a template", False),
        ("{# only a comment #}", False),
        ("", False),
    ],
)
def test_is_template(text: str, expected: bool) -> None:
    assert is_template(text) is expected


def test_roots() -> None:
    assert frozenset({"inputs", "nodes", "item", "index", "secrets", "run"}) == ROOTS


def test_compile_is_cached() -> None:
    assert compile_template("{{ inputs.a }}") is compile_template("{{ inputs.a }}")
    assert isinstance(compile_template("{{ inputs.a }}"), CompiledTemplate)


def test_syntax_error_has_line() -> None:
    with pytest.raises(ExpressionError) as caught:
        compile_template("line one\n{{ inputs.a + }}")
    assert "line 2" in caught.value.message
    assert caught.value.details["line"] == 2
    assert caught.value.code == "expression_error"


@pytest.mark.parametrize("source", ["{{ }}", "{% if %}", "{{ a", "{% for x in %}{% endfor %}"])
def test_syntax_errors_are_expression_errors(source: str) -> None:
    with pytest.raises(ExpressionError):
        compile_template(source)


# -- native versus mixed ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("{{ inputs.amount }}", 150),
        ("{{ inputs.tags }}", ["a", "b"]),
        ("{{ nodes.classify }}", {"category": "refund", "confidence": 0.9}),
        ("{{ nodes.empty }}", None),
        ("{{ inputs.amount > 100 }}", True),
        ("{{ inputs.amount * 2 }}", 300),
        ("  {{ inputs.amount }}\n", 150),
        ("{{ '150' }}", "150"),
        ("{{ [1, (2, 3)] }}", [1, [2, 3]]),
        ("{{ {'a': (1, 2)} }}", {"a": [1, 2]}),
        ("{{ none }}", None),
    ],
)
def test_native_values(source: str, expected: Any) -> None:
    template = compile_template(source)
    assert template.native
    result = template.evaluate(make_scope())
    assert result == expected
    assert type(result) is type(expected)


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("Ticket: {{ inputs.ticket }}", "Ticket: Where is my refund?"),
        ("{{ inputs.amount }}{{ inputs.amount }}", "150150"),
        ("n={{ inputs.amount }}", "n=150"),
        ("{{ inputs.tags }}!", '["a", "b"]!'),
        ("{{ nodes.classify }}.", '{"category": "refund", "confidence": 0.9}.'),
        ("[{{ nodes.empty }}]", "[null]"),
        ("{{ true }} {{ false }}", "true false"),
        ("{% if inputs.amount > 100 %}big{% else %}small{% endif %}", "big"),
        ("{% for t in inputs.tags %}{{ loop.index }}:{{ t }} {% endfor %}", "1:a 2:b "),
        ("keeps the trailing newline {{ index }}\n", "keeps the trailing newline 4\n"),
        ("no templates here", "no templates here"),
    ],
)
def test_mixed_text(source: str, expected: str) -> None:
    template = compile_template(source)
    assert not template.native
    assert template.evaluate(make_scope()) == expected


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("{{ inputs.ticket }}", "Where is my refund?"),
        ("{{ nodes.classify.category }}", "refund"),
        ("{{ nodes['classify']['category'] }}", "refund"),
        ("{{ nodes.fetch.items[1].name }}", "y"),
        ("{{ nodes.fetch.items[-1].id }}", 2),
        ("{{ nodes.fetch.items.0.id }}", 1),
        ("{{ item }}", {"sku": "A-1", "qty": 3}),
        ("{{ item.sku }}", "A-1"),
        ("{{ index }}", 4),
        ("{{ index + 1 }}", 5),
        ("{{ secrets.api_key }}", "sk-test-0123456789"),
        ("{{ run.id }}", "run-1"),
        ("{{ run.started_at[:4] }}", "2025"),
    ],
)
def test_every_root(source: str, expected: Any) -> None:
    assert evaluate(source) == expected


def test_keys_win_over_methods() -> None:
    scope = {"inputs": {"items": [1, 2], "keys": "k", "values": 3}}
    assert evaluate("{{ inputs.items }}", scope) == [1, 2]
    assert evaluate("{{ inputs.keys }}", scope) == "k"
    assert evaluate("{{ inputs['values'] }}", scope) == 3
    assert evaluate("{{ [inputs.items][0] }}", scope) == [1, 2]


def test_read_only_methods_work() -> None:
    assert evaluate("{{ inputs.ticket.upper() }}") == "WHERE IS MY REFUND?"
    assert evaluate("{{ inputs.ticket.split(' ')[0] }}") == "Where"
    assert evaluate("{{ nodes.classify.get('missing', 'dflt') }}") == "dflt"
    assert evaluate("{{ nodes.classify.keys() | list }}") == ["category", "confidence"]
    assert evaluate("{{ inputs.tags.index('b') }}") == 1


def test_native_results_are_plain_python() -> None:
    assert evaluate("{{ inputs | tojson }}") == json.dumps(make_scope()["inputs"])
    assert type(evaluate("{{ inputs | tojson }}")) is str
    assert evaluate("{{ inputs.tags | map('upper') }}") == ["A", "B"]
    assert evaluate("{{ nodes.classify | dictsort }}") == [
        ["category", "refund"],
        ["confidence", 0.9],
    ]
    assert evaluate("{{ nodes.classify | items }}") == [["category", "refund"], ["confidence", 0.9]]
    assert evaluate("{{ range(3) }}") == [0, 1, 2]
    assert evaluate("{{ inputs.tags | unique }}") == ["a", "b"]
    markup_scope = {"inputs": {"m": Markup("<b>")}}
    assert type(evaluate("{{ [inputs.m][0] }}", markup_scope)) is str


def test_method_value_is_refused() -> None:
    with pytest.raises(ExpressionError, match="function or method"):
        evaluate("{{ inputs.ticket.upper }}")
    with pytest.raises(ExpressionError, match="function or method"):
        evaluate("x {{ inputs.ticket.upper }}")


# -- filters and tests -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("{{ -3 | abs }}", 3),
        ("{{ 'hello' | capitalize }}", "Hello"),
        ("{{ inputs.tags | count }}", 2),
        ("{{ inputs.tags | length }}", 2),
        ("{{ inputs.tags | first }}", "a"),
        ("{{ inputs.tags | last }}", "b"),
        ("{{ '2.5' | float }}", 2.5),
        ("{{ '7' | int }}", 7),
        ("{{ inputs.tags | join('-') }}", "a-b"),
        ("{{ nodes.fetch.items | join(', ', attribute='name') }}", "x, y"),
        ("{{ [1, {'a': 1}] | join('|') }}", '1|{"a": 1}'),
        ("{{ 'ABC' | lower }}", "abc"),
        ("{{ nodes.fetch.items | map(attribute='id') | list }}", [1, 2]),
        ("{{ [3, 1, 2] | max }}", 3),
        ("{{ [3, 1, 2] | min }}", 1),
        ("{{ [1, 2, 3, 4] | select('even') | list }}", [2, 4]),
        ("{{ [1, 2, 3, 4] | reject('even') | list }}", [1, 3]),
        (
            "{{ nodes.fetch.items | selectattr('id', 'gt', 1) | map(attribute='name') | list }}",
            ["y"],
        ),
        ("{{ nodes.fetch.items | rejectattr('id', 'eq', 1) | list | length }}", 1),
        ("{{ 'a-b' | replace('-', '+') }}", "a+b"),
        ("{{ [1, 2] | reverse | list }}", [2, 1]),
        ("{{ 'abc' | reverse }}", "cba"),
        ("{{ 2.567 | round(2) }}", 2.57),
        ("{{ [3, 1, 2] | sort }}", [1, 2, 3]),
        (
            "{{ nodes.fetch.items | sort(attribute='name', reverse=true) | first }}",
            {"id": 2, "name": "y"},
        ),
        ("{{ 12 | string }}", "12"),
        ("{{ {'a': [1]} | string }}", '{"a": [1]}'),
        ("{{ [1, 2.5] | sum }}", 3.5),
        ("{{ nodes.fetch.items | sum(attribute='id') }}", 3),
        ("{{ 'hello world' | title }}", "Hello World"),
        ("{{ {'a': 1} | tojson }}", '{"a": 1}'),
        ("{{ '  x ' | trim }}", "x"),
        ("{{ 'abcdefghij' | truncate(5, leeway=0) }}", "ab..."),
        ("{{ [1, 1, 2] | unique | list }}", [1, 2]),
        ("{{ 'abc' | upper }}", "ABC"),
        ("{{ '{\"a\": [1, 2]}' | fromjson }}", {"a": [1, 2]}),
        ("{{ nodes.classify | keys }}", ["category", "confidence"]),
        ("{{ nodes.classify | values }}", ["refund", 0.9]),
        ("{{ [1, 2, 3] | batch(2) | list }}", [[1, 2], [3]]),
        ("{{ (nodes.fetch.items | groupby('name'))[0].grouper }}", "x"),
        ("{{ 'a b c' | wordcount }}", 3),
        ("{{ {'q': 'a b'} | urlencode }}", "q=a+b"),
        ("{{ inputs.amount is number }}", True),
        ("{{ inputs.ticket is string }}", True),
        ("{{ inputs is mapping }}", True),
        ("{{ inputs.tags is sequence }}", True),
        ("{{ nodes.empty is none }}", True),
        ("{{ 4 is even and 3 is odd }}", True),
        ("{{ 'a' is in inputs.tags }}", True),
        ("{{ inputs.amount is eq 150 }}", True),
        ("{{ 9 is divisibleby 3 }}", True),
    ],
)
def test_filters_and_tests(source: str, expected: Any) -> None:
    assert evaluate(source) == expected


@pytest.mark.parametrize("name", ["attr", "format", "random", "center", "indent", "safe", "pprint"])
def test_unlisted_filters_are_unknown(name: str) -> None:
    with pytest.raises(ExpressionError, match="unknown filter"):
        compile_template(f"{{{{ inputs | {name} }}}}")


def test_unlisted_filter_inside_condition_is_refused_at_compile_time() -> None:
    with pytest.raises(ExpressionError, match="unknown filter 'attr'"):
        compile_template("{% if x %}{{ y | attr('a') }}{% endif %}")


def test_unlisted_test_is_unknown() -> None:
    with pytest.raises(ExpressionError, match="unknown test 'callable'"):
        compile_template("{{ inputs is callable }}")


def test_filter_errors() -> None:
    with pytest.raises(ExpressionError, match="fromjson: invalid JSON"):
        evaluate("{{ 'nope' | fromjson }}")
    with pytest.raises(ExpressionError, match="sum adds numbers"):
        evaluate("{{ [[1], [2]] | sum(start=[]) }}")
    with pytest.raises(ExpressionError, match="keys expects an object"):
        evaluate("{{ inputs.tags | keys }}")


# -- defaults and undefined values -----------------------------------------------------


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("{{ nodes.missing | default(0) }}", 0),
        ("{{ nodes.missing | d('x') }}", "x"),
        ("{{ nodes.missing.deeper.still | default('deep') }}", "deep"),
        ("{{ nodes.classify.missing | default([]) }}", []),
        ("{{ nodes.classify.category | default('other') }}", "refund"),
        ("{{ nodes.missing is defined }}", False),
        ("{{ nodes.missing.x is undefined }}", True),
        ("{{ nodes.classify is defined }}", True),
        ("{{ nodes.missing.x if nodes.missing is defined else 'fallback' }}", "fallback"),
        ("{{ nodes.missing is defined and nodes.missing.x }}", False),
        ("{% if nodes.missing is defined %}{{ nodes.missing.x }}{% else %}none{% endif %}", "none"),
        ("{{ foo | default(1) }}", 1),
        ("{{ nodes.empty | default('was null') }}", None),
        ("{{ nodes.empty | default('was null', true) }}", "was null"),
        ("{{ [] | first | default('none left') }}", "none left"),
    ],
)
def test_fallbacks(source: str, expected: Any) -> None:
    assert evaluate(source) == expected


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("{{ nodes.classify.categry }}", "nodes.classify has no attribute 'categry'"),
        ("Route: {{ nodes.classify.categry }}", "nodes.classify has no attribute 'categry'"),
        ("{{ nodes.classify.categry | upper }}", "nodes.classify has no attribute 'categry'"),
        ("{{ nodes.nope }}", "nodes has no attribute 'nope'"),
        ("{{ nodes.nope.deeper }}", "nodes has no attribute 'nope'"),
        ("{{ nodes.fetch.items[5] }}", "nodes.fetch.items has no item 5 (it has 2 items)"),
        ("{{ nodes.empty.x }}", "nodes.empty is null, so it has no attribute 'x'"),
        ("{{ inputs.amount.x }}", "inputs.amount is a number, so it has no attribute 'x'"),
        ("{{ foo.bar }}", "'foo' is undefined"),
        ("{{ nodes.missing + 1 }}", "nodes has no attribute 'missing'"),
        ("{% if nodes.missing %}x{% endif %}", "nodes has no attribute 'missing'"),
        ("{% for x in nodes.missing %}{% endfor %}", "nodes has no attribute 'missing'"),
        ("{{ nodes.missing | items | list }}", "nodes has no attribute 'missing'"),
        ("{{ [] | first }}", "No first item, sequence was empty"),
        ("{{ nodes['a-b'] }}", "nodes has no attribute 'a-b'"),
    ],
)
def test_strict_undefined_messages(source: str, message: str) -> None:
    with pytest.raises(ExpressionError) as caught:
        evaluate(source)
    assert message in caught.value.message
    assert caught.value.details["expression"] == source


def test_undefined_message_lists_keys_but_not_secret_names() -> None:
    with pytest.raises(ExpressionError) as caught:
        evaluate("{{ nodes.classify.categry }}")
    assert "category" in caught.value.message
    with pytest.raises(ExpressionError) as caught:
        evaluate("{{ secrets.nope }}")
    assert "api_key" not in caught.value.message


def test_missing_root_lists_available_roots() -> None:
    with pytest.raises(ExpressionError) as caught:
        evaluate("{{ item.sku }}", {"inputs": {}, "nodes": {}})
    assert "'item' is undefined" in caught.value.message
    assert "inputs, nodes" in caught.value.message


def test_undefined_inside_loop_variable() -> None:
    with pytest.raises(ExpressionError, match=r"undefined value.*'nope'"):
        evaluate("{% for i in nodes.fetch.items %}{{ i.nope }}{% endfor %}")


def test_runtime_errors_are_expression_errors() -> None:
    with pytest.raises(ExpressionError, match="ZeroDivisionError"):
        evaluate("{{ 1 / 0 }}")
    with pytest.raises(ExpressionError, match="TypeError"):
        evaluate("{{ inputs.amount + 'x' }}")


# -- references ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("{{ nodes.classify.category }}", [("nodes", ("classify", "category"), False)]),
        ("{{ inputs.a['b'][0][-1] }}", [("inputs", ("a", "b", 0, -1), False)]),
        ("{{ nodes.a['b-c'].d }}", [("nodes", ("a", "b-c", "d"), False)]),
        ("{{ item }} {{ index }}", [("item", (), False), ("index", (), False)]),
        ("{{ secrets.key }}{{ run.id }}", [("secrets", ("key",), False), ("run", ("id",), False)]),
        ("{{ foo.bar }}", [("foo", ("bar",), False)]),
        ("{{ nodes[inputs.pick].x }}", [("nodes", (), False), ("inputs", ("pick",), False)]),
        ("{{ nodes.a[index].b }}", [("nodes", ("a",), False), ("index", (), False)]),
        ("{{ inputs.s[1:3] }}", [("inputs", ("s",), False)]),
        ("{{ nodes.a[true] }}", [("nodes", ("a",), False)]),
        ("{{ inputs.name.upper() }}", [("inputs", ("name",), False)]),
        ("{{ nodes.a.get(inputs.k) }}", [("nodes", ("a",), False), ("inputs", ("k",), False)]),
        ("{{ nodes.x.y }}{{ nodes.x.y }}", [("nodes", ("x", "y"), False)]),
        ("{{ range(3) | list }}", []),
        ("{{ 1 + 2 }}", []),
    ],
)
def test_reference_paths(source: str, expected: list[Any]) -> None:
    assert refs(source) == expected


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("{{ nodes.x | default(0) }}", [("nodes", ("x",), True)]),
        ("{{ nodes.x.y | d }}", [("nodes", ("x", "y"), True)]),
        ("{{ nodes.x | upper | default('') }}", [("nodes", ("x",), False)]),
        ("{{ nodes.x is defined }}", [("nodes", ("x",), True)]),
        ("{{ nodes.x is undefined }}", [("nodes", ("x",), True)]),
        (
            "{{ nodes.x.v if nodes.x is defined else nodes.y }}",
            [("nodes", ("x",), True), ("nodes", ("x", "v"), True), ("nodes", ("y",), False)],
        ),
        (
            "{{ nodes.x.v if nodes.x is not defined else 0 }}",
            [("nodes", ("x",), True), ("nodes", ("x", "v"), False)],
        ),
        (
            "{{ nodes.x is defined and nodes.x.v }}",
            [("nodes", ("x",), True), ("nodes", ("x", "v"), True)],
        ),
        (
            "{{ nodes.x is undefined or nodes.x.v }}",
            [("nodes", ("x",), True), ("nodes", ("x", "v"), True)],
        ),
        (
            "{% if nodes.x is defined %}{{ nodes.x.v }}{% else %}{{ nodes.x.w }}{% endif %}",
            [("nodes", ("x",), True), ("nodes", ("x", "v"), True), ("nodes", ("x", "w"), False)],
        ),
        (
            "{% if nodes.x is undefined %}-{% else %}{{ nodes.x.w }}{% endif %}",
            [("nodes", ("x",), True), ("nodes", ("x", "w"), True)],
        ),
        (
            "{{ nodes.x.a if nodes.x.b is defined else 0 }}",
            [("nodes", ("x", "b"), True), ("nodes", ("x", "a"), False)],
        ),
        ("{{ nodes.x | default(nodes.y) }}", [("nodes", ("x",), True), ("nodes", ("y",), False)]),
    ],
)
def test_reference_fallbacks(source: str, expected: list[Any]) -> None:
    assert refs(source) == expected


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        (
            "{% for x in inputs.list %}{{ x.name }}{{ loop.index }}{% endfor %}",
            [("inputs", ("list",), False)],
        ),
        (
            "{% for k, v in inputs.d | items %}{{ k }}={{ v }}{% endfor %}",
            [("inputs", ("d",), False)],
        ),
        ("{% set t = inputs.a %}{{ t.b }}", [("inputs", ("a",), False)]),
        ("{% set blk %}{{ nodes.z }}{% endset %}{{ blk }}", [("nodes", ("z",), False)]),
        ("{% with w = nodes.q %}{{ w.z }}{% endwith %}", [("nodes", ("q",), False)]),
        # Jinja scoping: loop variables and ``with`` names do not leak.
        (
            "{% for x in inputs.l %}{% endfor %}{{ x }}{{ loop }}",
            [("inputs", ("l",), False), ("x", (), False), ("loop", (), False)],
        ),
        ("{% with w = 1 %}{% endwith %}{{ w }}", [("w", (), False)]),
        ("{{ t }}{% set t = 1 %}", [("t", (), False)]),
    ],
)
def test_bound_names_are_not_references(source: str, expected: list[Any]) -> None:
    assert refs(source) == expected


def test_reference_carries_source() -> None:
    source = "Hi {{ inputs.name }}"
    assert compile_template(source).references == (Reference("inputs", ("name",), False, source),)


# -- compiled values -------------------------------------------------------------------


def test_static_value_is_returned_as_is() -> None:
    value = {"a": [1, "plain", {"b": None}], "c": "{ not a template }"}
    compiled = compile_value(value)
    assert compiled.static
    assert compiled.references == ()
    assert compiled.evaluate(make_scope()) is value


def test_nested_value() -> None:
    value = {
        "text": "Handled: {{ nodes.classify.category }}",
        "amount": "{{ inputs.amount }}",
        "list": [1, "{{ index }}", {"deep": "{{ item.sku }}"}],
        "static": {"k": "v"},
        "{{ not.a.key }}": 1,
    }
    compiled = compile_value(value)
    assert isinstance(compiled, CompiledValue)
    assert not compiled.static
    result = compiled.evaluate(make_scope())
    assert result == {
        "text": "Handled: refund",
        "amount": 150,
        "list": [1, 4, {"deep": "A-1"}],
        "static": {"k": "v"},
        "{{ not.a.key }}": 1,
    }
    assert result["static"] is value["static"]
    assert [(r.root, r.path) for r in compiled.references] == [
        ("nodes", ("classify", "category")),
        ("inputs", ("amount",)),
        ("index", ()),
        ("item", ("sku",)),
    ]


def test_value_of_scalars_and_strings() -> None:
    assert compile_value(5).static
    assert compile_value(None).evaluate({}) is None
    assert compile_value("plain").evaluate({}) == "plain"
    assert compile_value("{{ index }}").evaluate({"index": 2}) == 2
    assert compile_value("{{ index }}") is compile_value("{{ index }}")
    assert compile_value(("{{ index }}", 1)).evaluate({"index": 2}) == (2, 1)


def test_references_in() -> None:
    found = references_in({"a": ["{{ inputs.x }}", "{{ nodes.y | default(1) }}"], "b": 2})
    assert [(r.root, r.path, r.has_fallback) for r in found] == [
        ("inputs", ("x",), False),
        ("nodes", ("y",), True),
    ]
    with pytest.raises(ExpressionError):
        references_in({"a": ["{{ broken"]})


def test_value_errors_are_expression_errors() -> None:
    with pytest.raises(ExpressionError, match="nodes has no attribute 'nope'"):
        compile_value({"a": ["{{ nodes.nope }}"]}).evaluate(make_scope())


def test_evaluation_does_not_mutate_scope() -> None:
    scope = make_scope()
    before = copy.deepcopy(scope)
    compile_value(
        {"a": "{{ inputs.tags | reverse | list }}", "b": "{{ inputs | dictsort }}"}
    ).evaluate(scope)
    compile_template("{{ inputs.tags | sort(reverse=true) }}").evaluate(scope)
    assert scope == before


# -- fast path ---------------------------------------------------------------------------

json_scalars = st.none() | st.booleans() | st.integers(-5, 5) | st.text(max_size=4)
json_values = st.recursive(
    json_scalars,
    lambda children: (
        st.lists(children, max_size=3)
        | st.dictionaries(st.sampled_from(["a", "b", "items", "c-d", "0"]), children, max_size=3)
    ),
    max_leaves=12,
)
path_keys = st.sampled_from(["a", "b", "items", "c-d", "0", "keys"]) | st.integers(-3, 3)


def _path_source(root: str, path: list[str | int]) -> str:
    text = root
    for key in path:
        text += f".{key}" if isinstance(key, str) and key.isidentifier() else f"[{key!r}]"
    return text


def _outcome(source: str, scope: dict[str, Any]) -> tuple[str, Any]:
    try:
        return "value", compile_template(source).evaluate(scope)
    except ExpressionError as exc:
        return "error", exc.message


@settings(max_examples=150, deadline=None)
@given(
    root=st.sampled_from(["inputs", "nodes", "item", "missing"]),
    data=json_values,
    path=st.lists(path_keys, max_size=4),
)
def test_fast_path_matches_jinja(root: str, data: Any, path: list[str | int]) -> None:
    scope = {"inputs": data, "nodes": {"a": data, "b": [data]}, "item": [data, data]}
    reference = _path_source(root, path)
    fast = _outcome(f"{{{{ {reference} }}}}", scope)
    # The same reference inside a list literal cannot take the fast path.
    slow = _outcome(f"{{{{ [{reference}][0] }}}}", scope)
    assert fast == slow


@settings(max_examples=150, deadline=None)
@given(
    root=st.sampled_from(["inputs", "nodes", "item", "missing"]),
    data=json_values,
    paths=st.lists(st.lists(path_keys, max_size=3), min_size=1, max_size=3),
)
def test_text_fast_path_matches_jinja(root: str, data: Any, paths: list[list[str | int]]) -> None:
    scope = {"inputs": data, "nodes": {"a": data, "b": [data]}, "item": [data, data]}
    references = [_path_source(root, path) for path in paths]
    fast = _outcome(" / ".join(f"<{{{{ {ref} }}}}>" for ref in references) + "\n", scope)
    slow = _outcome(" / ".join(f"<{{{{ [{ref}][0] }}}}>" for ref in references) + "\n", scope)
    assert fast == slow


def test_fast_path_values_are_not_copied() -> None:
    scope = make_scope()
    assert (
        compile_template("{{ nodes.fetch.items }}").evaluate(scope)
        is scope["nodes"]["fetch"]["items"]
    )


def test_timeout_argument() -> None:
    source = "{% for i in range(90000) %}{% for j in range(10) %}{{ j }}{% endfor %}{% endfor %}"
    with pytest.raises(ExpressionError, match=re.escape("longer than 0.01s")):
        compile_template(source).evaluate({}, timeout=0.01)
