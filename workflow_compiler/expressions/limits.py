"""Resource limits for one expression evaluation, and the budget that enforces them.

Templates come from workflow authors, and workflow authors are not trusted with the
worker's CPU or memory: a spec submitted through the API must not be able to stall a
worker or exhaust its memory with a three-line template. Python cannot pre-empt a
running computation, so the limits are cooperative: every place where a template can
loop (``range``, ``{% for %}``), call, multiply or concatenate checks the active budget
before doing the work. The one thing this cannot interrupt is a single built-in
operation on data that is already bounded, which is why sizes are capped as well as time.
"""

from __future__ import annotations

import time
from contextvars import ContextVar, Token
from typing import Final

from workflow_compiler.errors import ExpressionError

#: Longest template source accepted, in characters. Sources are cached compiled, and a
#: prompt larger than this is almost certainly data pasted into the spec by mistake.
MAX_TEMPLATE_CHARS: Final = 100_000

#: Largest evaluation result: the length of a rendered string, or the approximate JSON
#: length of a native value built by the expression.
MAX_OUTPUT_CHARS: Final = 1_000_000

#: Text written while rendering (``{{ }}`` outputs and the literal text of loop bodies),
#: counting text captured by ``{% set %}`` and ``{% filter %}`` blocks, which the output
#: limit never sees. Bounds the memory a template can fill with captured text.
MAX_GENERATED_CHARS: Final = 10_000_000

#: Wall-clock budget of one ``evaluate`` call, in seconds.
EVALUATION_TIMEOUT_SECONDS: Final = 1.0

#: Items one ``range()`` call may produce.
MAX_RANGE_LENGTH: Final = 100_000

#: Loop iterations (``range`` items and ``{% for %}`` items, nested loops multiply) one
#: evaluation may perform. Makes runaway loops fail deterministically, not only on time.
MAX_ITERATIONS: Final = 1_000_000

#: Largest integer an arithmetic operator may produce, in bits: ``9**9**9`` would take
#: minutes and gigabytes, and JSON consumers cannot use such numbers anyway.
MAX_INTEGER_BITS: Final = 4096

# Reading the clock costs more than counting; consult it once per this many iterations.
_CLOCK_EVERY: Final = 256


class Budget:
    """What is left of one evaluation's allowance; shared by every guard it reaches."""

    __slots__ = ("deadline", "generated", "iterations", "timeout")

    def __init__(self, timeout: float = EVALUATION_TIMEOUT_SECONDS) -> None:
        self.timeout = timeout
        self.deadline = time.monotonic() + timeout
        self.iterations = 0
        self.generated = 0

    def tick(self) -> None:
        """Account for one loop iteration."""
        self.iterations += 1
        if self.iterations > MAX_ITERATIONS:
            raise ExpressionError(
                f"expression exceeded {MAX_ITERATIONS} loop iterations; "
                "templates are for shaping data, not for computing"
            )
        if not self.iterations % _CLOCK_EVERY:
            self.check_time()

    def check_time(self) -> None:
        if time.monotonic() > self.deadline:
            raise ExpressionError(f"expression took longer than {self.timeout:g}s")

    def charge_text(self, chars: int) -> None:
        """Account for text produced, whether or not it ends up in the output."""
        self.generated += chars
        if self.generated > MAX_GENERATED_CHARS:
            raise ExpressionError(
                f"expression generated more than {MAX_GENERATED_CHARS} characters of text"
            )


_ACTIVE: ContextVar[Budget | None] = ContextVar("graphwright_expression_budget", default=None)


def active_budget() -> Budget:
    """The budget of the evaluation in progress.

    Guards can also run outside ``evaluate`` (a filter called by a test, say); they then
    get a fresh budget so that the limits still hold per call.
    """
    budget = _ACTIVE.get()
    return budget if budget is not None else Budget()


def current_budget() -> Budget | None:
    """The budget of the evaluation in progress, if any (a value shares one budget)."""
    return _ACTIVE.get()


def enter_budget(budget: Budget) -> Token[Budget | None]:
    """Make ``budget`` the active one; returns the token ``leave_budget`` needs."""
    return _ACTIVE.set(budget)


def leave_budget(token: Token[Budget | None]) -> None:
    _ACTIVE.reset(token)


def refuse_size(what: str, size: int, limit: int = MAX_OUTPUT_CHARS) -> None:
    """Raise when ``size`` exceeds ``limit``; ``what`` names the operation for the user."""
    if size > limit:
        raise ExpressionError(f"{what} would produce about {size} characters (limit {limit})")
