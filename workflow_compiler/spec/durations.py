"""Durations as the spec writes them: ISO-8601 (``PT48H``, ``P1DT2H``) or plain seconds."""

from __future__ import annotations

import re

_ISO = re.compile(
    r"^P(?!$)(?:(?P<weeks>\d+(?:\.\d+)?)W)?(?:(?P<days>\d+(?:\.\d+)?)D)?"
    r"(?:T(?=\d)(?:(?P<hours>\d+(?:\.\d+)?)H)?(?:(?P<minutes>\d+(?:\.\d+)?)M)?"
    r"(?:(?P<seconds>\d+(?:\.\d+)?)S)?)?$"
)
_FACTORS = {"weeks": 604800.0, "days": 86400.0, "hours": 3600.0, "minutes": 60.0, "seconds": 1.0}
MAX_DURATION_SECONDS = 366 * 86400.0 * 10


def parse_duration(value: object) -> float:
    """Seconds for a spec duration; ``ValueError`` with a readable reason otherwise."""
    if isinstance(value, bool):
        raise ValueError("a duration is an ISO-8601 string such as 'PT30S' or a number of seconds")
    if isinstance(value, int | float):
        seconds = float(value)
    elif isinstance(value, str):
        text = value.strip().upper()
        try:
            seconds = float(text)
        except ValueError:
            match = _ISO.match(text)
            if match is None or text.endswith("T"):
                raise ValueError(
                    f"{value!r} is not an ISO-8601 duration (e.g. 'PT30S', 'PT48H', 'P1D')"
                ) from None
            seconds = sum(
                float(v) * _FACTORS[k] for k, v in match.groupdict().items() if v is not None
            )
    else:
        raise ValueError("a duration is an ISO-8601 string such as 'PT30S' or a number of seconds")
    if not seconds == seconds or seconds <= 0:  # NaN or non-positive
        raise ValueError("a duration must be positive")
    if seconds > MAX_DURATION_SECONDS:
        raise ValueError("a duration may not exceed ten years")
    return seconds
