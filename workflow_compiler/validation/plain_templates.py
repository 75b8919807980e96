"""References of plain interpolations, found without compiling them.

Most templates in real specs are text with bare references dropped in
(``"Ticket: {{ inputs.ticket }}"``, ``"{{ nodes.classify.category }}"``), and compiling a
template with Jinja costs about half a millisecond: on a 10,000-node spec that alone is
seconds. For exactly this shape (literal text without braces, placeholders holding a
known root followed by names, integer or string subscripts, nothing private, nothing
else) the references can be read off the text. Anything else goes through
``compile_template``. Tests check that both agree on every string this accepts; if the
expressions package grows a parse-free fast path of its own, this module should go.
"""

from __future__ import annotations

import re

from workflow_compiler.expressions import MAX_TEMPLATE_CHARS, ROOTS, Reference

_NAME = r"[A-Za-z][A-Za-z0-9_]*"
_KEY = r"-?(?:0|[1-9][0-9]{0,17})|'[A-Za-z0-9][^'\\{}]*'|\"[A-Za-z0-9][^\"\\{}]*\""
_STEP = re.compile(rf"\s*(?:\.\s*(?P<name>{_NAME})|\[\s*(?P<key>{_KEY})\s*\])")
_PLACEHOLDER = re.compile(
    rf"\{{\{{-?\s*(?P<root>{_NAME})(?P<steps>(?:{_STEP.pattern})*)\s*-?\}}\}}")


def plain_references(source: str) -> list[Reference] | None:
    """The references of ``source`` if it is a plain interpolation, else None."""
    if len(source) > MAX_TEMPLATE_CHARS:
        return None
    found: dict[tuple[str, tuple[str | int, ...]], Reference] = {}
    end = 0
    for match in _PLACEHOLDER.finditer(source):
        if not _is_literal(source[end:match.start()]) or match.group("root") not in ROOTS:
            return None
        path: list[str | int] = []
        for step in _STEP.finditer(match.group("steps")):
            key = step.group("key")
            if key is None:
                path.append(step.group("name"))
            elif key[0] in "'\"":
                path.append(key[1:-1])
            else:
                path.append(int(key))
        reference = Reference(match.group("root"), tuple(path), False, source)
        found.setdefault((reference.root, reference.path), reference)
        end = match.end()
    if not found or not _is_literal(source[end:]):
        return None
    return list(found.values())


def _is_literal(text: str) -> bool:
    return "{" not in text and "}" not in text
