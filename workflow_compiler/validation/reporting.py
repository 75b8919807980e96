"""Building issues: JSON pointers into the spec, "did you mean" hints, one collector.

Every check writes through ``IssueLog`` so that ordering and de-duplication are decided in
one place: executors and our own checks sometimes notice the same problem (an invalid
JSON Schema, say), and the user should read it once.
"""

from __future__ import annotations

import difflib
from collections.abc import Collection, Iterable

from workflow_compiler.errors import SpecIssue


def escape_token(token: str | int) -> str:
    """One reference token of a JSON pointer, escaped per RFC 6901 (``~`` first)."""
    text = str(token)
    if "~" in text or "/" in text:
        text = text.replace("~", "~0").replace("/", "~1")
    return text


def pointer(base: str, *tokens: str | int) -> str:
    """``base`` extended by ``tokens``; ``base`` is already a pointer ("" is the whole spec)."""
    for token in tokens:
        base = f"{base}/{escape_token(token)}"
    return base


def nearest(name: object, candidates: Iterable[str]) -> str | None:
    """The candidate closest to ``name``, for a hint; None when nothing is close enough."""
    if not isinstance(name, str):
        return None
    pool = [c for c in candidates if isinstance(c, str)]
    # difflib is quadratic in string length; a pathological name must not stall validation.
    if not pool or len(name) > 200:
        return None
    found = difflib.get_close_matches(name, pool, n=1, cutoff=0.6)
    return found[0] if found else None


def did_you_mean(name: object, candidates: Iterable[str]) -> str | None:
    match = nearest(name, candidates)
    return f"did you mean {match!r}?" if match is not None else None


def show(value: object, limit: int = 60) -> str:
    """A short, safe rendering of a user value for a message."""
    try:
        text = repr(value)
    except Exception:  # a hostile __repr__ must not break reporting
        text = f"<{type(value).__name__}>"
    return text if len(text) <= limit else text[: limit - 3] + "..."


class IssueLog:
    """Collects issues in the order found.

    Exact repeats are dropped. An issue added with ``once_per_place`` is also dropped when
    an issue of the same code already sits at the same place: that is how a second source
    (Pydantic after our own id check, an executor after our own schema check) that words
    the same finding differently stays silent.
    """

    #: Candidates that "did you mean" hints may compare against, summed over one run: a
    #: spec with thousands of bad references to thousands of nodes must not take minutes.
    HINT_BUDGET = 200_000

    def __init__(self) -> None:
        self._issues: list[SpecIssue] = []
        self._seen: set[tuple[str, str, str | None, str]] = set()
        self._places: set[tuple[str, str, str | None]] = set()
        self._hint_budget = self.HINT_BUDGET

    def suggest(self, name: object, candidates: Collection[str]) -> str | None:
        """``did_you_mean`` against a possibly large pool (node ids), within the budget."""
        if len(candidates) > self._hint_budget:
            return None
        self._hint_budget -= len(candidates)
        return did_you_mean(name, candidates)

    def add(
        self,
        code: str,
        message: str,
        path: str,
        node_id: str | None = None,
        hint: str | None = None,
        *,
        once_per_place: bool = False,
    ) -> None:
        place = (code, path, node_id)
        if (once_per_place and place in self._places) or (*place, message) in self._seen:
            return
        self._seen.add((*place, message))
        self._places.add(place)
        self._issues.append(SpecIssue(code, message, path=path, node_id=node_id, hint=hint))

    def merge(self, issues: Iterable[SpecIssue]) -> None:
        """Issues from another checker, each unless one of its code is already there."""
        for issue in issues:
            self.add(issue.code, issue.message, issue.path, issue.node_id, issue.hint,
                     once_per_place=True)

    def __len__(self) -> int:
        return len(self._issues)

    @property
    def issues(self) -> list[SpecIssue]:
        return list(self._issues)
