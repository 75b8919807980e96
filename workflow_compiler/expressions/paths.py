"""Following a reference path through plain data, and naming where it broke.

Shared by the fast path (which resolves ``{{ nodes.a.b }}`` without Jinja), by the size
check (which needs the objects a template reads) and by error messages, which should say
``nodes.classify has no attribute 'categry'`` rather than Jinja's
``'dict object' has no attribute 'categry'``: the author needs to know which value.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from workflow_compiler.expressions.references import PathElement

_IDENTIFIER: Final = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_KEYS_SHOWN: Final = 12
#: Roots whose key names are not listed in messages (names of secrets stay private).
_UNLISTED_ROOTS: Final = frozenset({"secrets"})


def format_path(root: str, path: tuple[PathElement, ...]) -> str:
    """``nodes.classify.category``, ``item[0]``, ``inputs["a-b"]``: as an author writes it."""
    parts = [root]
    for key in path:
        if isinstance(key, str) and _IDENTIFIER.match(key):
            parts.append(f".{key}")
        elif isinstance(key, str):
            parts.append(f"[{key!r}]")
        else:
            parts.append(f"[{key}]")
    return "".join(parts)


def type_label(value: Any) -> str:
    """The JSON name of a value's type, for messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, Mapping):
        return "object"
    if isinstance(value, list | tuple):
        return "list"
    return type(value).__name__


#: What ``step`` and ``resolve`` return for a missing value (``None`` is a value).
UNRESOLVED: Final = object()


def step(holder: Any, key: PathElement) -> Any:
    """``holder[key]`` for plain data, or ``UNRESOLVED``; never raises."""
    if isinstance(holder, Mapping):
        try:
            return holder[key]
        except (KeyError, TypeError):
            return UNRESOLVED
    if isinstance(holder, list | tuple) and type(key) is int:
        try:
            return holder[key]
        except IndexError:
            return UNRESOLVED
    return UNRESOLVED


def resolve(scope: Mapping[str, Any], root: str, path: tuple[PathElement, ...]) -> Any:
    """The value at ``root`` + ``path``, or ``UNRESOLVED`` when any step is missing."""
    if root not in scope:
        return UNRESOLVED
    value = scope[root]
    for key in path:
        value = step(value, key)
        if value is UNRESOLVED:
            break
    return value


@dataclass(frozen=True, slots=True)
class Miss:
    """Where a path stopped resolving: ``holder`` (at ``where``) lacks ``key``.

    ``key`` is None when the root itself is missing from the scope.
    """

    root: str
    where: str
    key: PathElement | None
    holder: Any

    def matches(self, jinja_message: str) -> bool:
        """Whether Jinja's own undefined-error message is about this miss."""
        if self.key is None:
            return f"{self.root!r} is undefined" in jinja_message
        needle = repr(self.key) if isinstance(self.key, str) else str(self.key)
        return needle in jinja_message

    def explain(self, scope: Mapping[str, Any]) -> str:
        if self.key is None:
            available = ", ".join(sorted(str(name) for name in scope)) or "nothing"
            return f"{self.root!r} is undefined (available here: {available})"
        what = f"attribute {self.key!r}" if isinstance(self.key, str) else f"item {self.key}"
        holder = self.holder
        if isinstance(holder, Mapping):
            message = f"{self.where} has no {what}"
            if self.root not in _UNLISTED_ROOTS:
                keys = [str(key) for key in list(holder)[:_KEYS_SHOWN]]
                more = ", ..." if len(holder) > _KEYS_SHOWN else ""
                message += f" (it has: {', '.join(keys)}{more})" if keys else " (it is empty)"
            return message
        if isinstance(holder, list | tuple) and isinstance(self.key, int):
            return f"{self.where} has no {what} (it has {len(holder)} items)"
        return f"{self.where} is {with_article(type_label(holder))}, so it has no {what}"


def with_article(label: str) -> str:
    """``an object``, ``a list``, ``null``: a type label as it reads in a sentence."""
    if label == "null":
        return "null"
    return f"an {label}" if label[0] in "aeiouAEIOU" else f"a {label}"


def find_miss(scope: Mapping[str, Any], root: str, path: tuple[PathElement, ...]) -> Miss | None:
    """The first step of ``root`` + ``path`` that does not resolve, if any."""
    if root not in scope:
        return Miss(root, root, None, None)
    value = scope[root]
    for index, key in enumerate(path):
        following = step(value, key)
        if following is UNRESOLVED:
            return Miss(root, format_path(root, path[:index]), key, value)
        value = following
    return None
