"""The quick parser builds exactly Jinja's tree, or declines.

Equality is checked on the whole tree, line numbers included (``dump``), against
``ENVIRONMENT.parse`` on: the common forms (which must take the quick path, or the parser
would be dead weight), every template of the examples and the injection corpus, and
generated sources built from tokens that stress Jinja's lexer (numbers with exponents,
bases and underscores, escapes, whitespace control, keywords, line breaks). A source
Jinja refuses must be declined, never parsed.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jinja2 import TemplateSyntaxError, nodes

from workflow_compiler.expressions.quick_parser import quick_parse
from workflow_compiler.expressions.sandbox import ENVIRONMENT

ROOT = Path(__file__).resolve().parents[2]


def dump(value: Any) -> Any:
    if isinstance(value, list | tuple):
        return [dump(v) for v in value]
    if isinstance(value, nodes.Node):
        return (type(value).__name__, value.lineno,
                [(name, dump(getattr(value, name))) for name in value.fields])
    return (type(value).__name__, value)


def check(source: str) -> bool:
    """Assert the contract for ``source``; True when the quick path took it."""
    quick = quick_parse(source, ENVIRONMENT)
    try:
        reference = ENVIRONMENT.parse(source)
    except TemplateSyntaxError:
        assert quick is None, f"accepted what Jinja refuses: {source!r}"
        return False
    except Exception:  # Jinja's own parser can crash on odd input: decline those too
        assert quick is None, source
        return False
    if quick is None:
        return False
    assert dump(quick) == dump(reference), source
    assert quick.environment is ENVIRONMENT
    return True


COMMON = [
    "{{ nodes.fetch.body }}",
    "{{ nodes.n5.i + 1 }}",
    "Hello {{ inputs.name | title }}!",
    "{{ inputs.items | length > 3 }}",
    "{{ nodes.a.total * 2 - 1 }}",
    "{{ nodes.score.value >= 0.5 and not inputs.dry_run }}",
    "{{ nodes.a.x | default(0) }}",
    "{{ nodes.a.rows[0].id }}",
    "{{ nodes.a['key with spaces'] }}",
    "{{ item.name ~ ': ' ~ item.value }}",
    "{{ inputs.text | truncate(20, killwords=true) }}",
    "{{ (nodes.a.x + nodes.b.y) / 2 }}",
    "{{ inputs.kind in ['a', 'b'] }}" .replace("['a', 'b']", "inputs.kinds"),
    "{{ nodes.a.n not in inputs.blocked }}",
    "{{ -nodes.a.delta | abs }}",
    "{{ index % 2 == 0 }}",
    "{{ nodes.a.items.0 }}",
    "line one\nline two {{ inputs.x }}\n",
    "{{ true }}{{ none }}{{ False }}",
    "{{ 2 ** 10 // 3 }}",
    "",
    "no template at all",
]


@pytest.mark.parametrize("source", COMMON)
def test_common_forms_take_the_quick_path(source: str) -> None:
    assert check(source), f"declined a common form: {source!r}"


DECLINED = [
    "{{- inputs.x }}", "{{ inputs.x -}}", "{{ 1e5 }}", "{{ 0x10 }}", "{{ 1_000 }}",
    "{{ 012 }}", "{{ a.1.2 }}", "{{ 'a\\nb' }}", "{{ a\n+ b }}", "{{ a if b else c }}",
    "{{ a is defined }}", "{{ f(1) }}", "{{ [1, 2] }}", "{{ {'a': 1} }}", "{{ a, b }}",
    "{% if a %}x{% endif %}", "{# c #}", "{{ a[1:2] }}", "{{ 'a' 'b' }}", "a\r\n{{ b }}",
    "{{ a | map(attribute='x') | list }}".replace("| list", "| join(*x)"),
    "{{ café }}", "{{ }}", "{{ a + }}", "{{ a ) }}",
]


@pytest.mark.parametrize("source", DECLINED)
def test_outside_the_subset_jinja_decides(source: str) -> None:
    assert quick_parse(source, ENVIRONMENT) is None
    check(source)


def corpus() -> list[str]:
    found: list[str] = []

    def walk(value: Any) -> None:
        if isinstance(value, str) and "{{" in value:
            found.append(value)
        elif isinstance(value, dict):
            for item in value.values():
                walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)

    for path in sorted((ROOT / "examples").glob("*.json")):
        walk(json.loads(path.read_text(encoding="utf-8")))
    payloads = ROOT / "tests" / "compiler" / "data" / "injection_payloads.txt"
    found += [line for line in payloads.read_text(encoding="utf-8").splitlines() if line]
    return found


def test_examples_and_injection_corpus() -> None:
    sources = corpus()
    taken = sum(check(source) for source in sources)
    assert len(sources) > 100
    assert taken > 0


TOKENS = st.sampled_from([
    "nodes", "inputs", "item", ".", ".", "a", "b_1", "x", "[", "]", "(", ")", ",", "|",
    "default", "length", "title", "=", "+", "-", "*", "/", "//", "%", "**", "~", "==",
    "!=", "<", "<=", ">", ">=", "and", "or", "not", "in", "is", "if", "else", "true",
    "None", "0", "1", "12", "1.5", "1e5", "0x1F", "1_0", "007", "'s'", '"t"', "'a\\'b'",
    "' }} '", "{", "}", ":", "-}}", "}}", " ", " ", "\t", "\n", "é", "_x", "__class__",
])


@settings(max_examples=3000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(TOKENS, max_size=14), st.sampled_from(["", "Hi ", "a}}b ", "\n"]),
       st.sampled_from(["", " tail", "}", "\n"]))
def test_generated_sources(tokens: list[str], before: str, after: str) -> None:
    separator = "" if len(tokens) % 3 else " "
    check(before + "{{ " + separator.join(tokens) + " }}" + after)


@settings(max_examples=1000, deadline=None)
@given(st.text(alphabet="{}%#-+ ab.1'\n|()", max_size=30))
def test_arbitrary_text(source: str) -> None:
    check(source)
