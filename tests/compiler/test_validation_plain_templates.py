"""The validator's compile-free reading of plain interpolations must agree with the
expression engine on every string it accepts, or it would report different references."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from workflow_compiler.expressions import compile_template
from workflow_compiler.validation.plain_templates import plain_references

names = st.from_regex(r"[A-Za-z][A-Za-z0-9_]{0,6}", fullmatch=True) | st.sampled_from(
    ["if", "in", "is", "not", "and", "or", "else", "true", "None", "for", "endfor", "loop",
     "self", "range", "items", "keys"])
steps = st.one_of(
    names.map(lambda n: f".{n}"),
    names.map(lambda n: f" . {n}"),
    st.integers(-3, 12).map(lambda i: f"[{i}]"),
    st.from_regex(r"[A-Za-z0-9][A-Za-z0-9 _-]{0,5}", fullmatch=True).flatmap(
        lambda k: st.sampled_from([f"['{k}']", f'["{k}"]', f"[ '{k}' ]"])),
)
placeholders = st.builds(
    lambda root, path, left, right: f"{{{{{left}{root}{''.join(path)}{right}}}}}",
    st.sampled_from(["nodes", "inputs", "item", "index", "secrets", "run"]),
    st.lists(steps, max_size=4),
    st.sampled_from([" ", "", "- ", "  ", "\n"]),
    st.sampled_from([" ", "", " -", "\t"]),
)
literals = st.text(alphabet=st.characters(blacklist_characters="{}"), max_size=12)
plain_sources = st.builds(
    lambda parts, tail: "".join(text + ph for text, ph in parts) + tail,
    st.lists(st.tuples(literals, placeholders), min_size=1, max_size=4), literals)


@settings(max_examples=400, deadline=None, database=None)
@given(plain_sources)
def test_plain_interpolations_read_like_the_engine_reads_them(source: str) -> None:
    found = plain_references(source)
    assert found is not None, source
    assert found == list(compile_template(source).references)


tricky = st.text(alphabet=st.sampled_from(list("{}%#-_.[]'\" abnodesinputsitem0123")),
                 max_size=40)


@settings(max_examples=800, deadline=None, database=None)
@given(st.one_of(tricky, plain_sources.map(lambda s: s.replace(" ", "", 1)),
                 st.tuples(plain_sources, tricky).map("".join)))
def test_whatever_is_accepted_compiles_to_the_same_references(source: str) -> None:
    found = plain_references(source)
    if found is not None:
        assert found == list(compile_template(source).references)


@pytest.mark.parametrize("source", [
    "{{ nodes._private }}", "{{ nodes['_x'] }}", "{{ nodes.a + 1 }}", "{{ nodes.a | upper }}",
    "{{{ nodes.a }}", "{{ nodes.a }}}", "{# {{ nodes.a }} #}", "{% if x %}{{ nodes.a }}{% endif %}",
    "{{ range }}", "{{ other.a }}", "{{ nodes[007] }}", "no template at all", "",
])
def test_anything_else_is_left_to_the_engine(source: str) -> None:
    assert plain_references(source) is None
