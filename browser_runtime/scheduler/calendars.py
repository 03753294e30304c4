"""Lab hours and operator shifts: calendars as lists of (start, end) windows, and weekly patterns.

The schedule keeps explicit windows (what the book stores and the decoder reads); a lab's
usual week is written once with :func:`weekly` and expanded over the days ahead.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, time, timedelta, tzinfo
from typing import Any

from browser_runtime.scheduler.requests import RequestError, parse_time

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def weekly(days: Iterable[str], start: time, end: time, first_day: date, count_days: int,
           zone: tzinfo) -> list[tuple[datetime, datetime]]:
    """Windows ``start``-``end`` on the given weekdays (``"mon"``...) over ``count_days`` days from
    ``first_day``, in ``zone``. An ``end`` at or before ``start`` runs past midnight (a night shift)."""
    wanted = set()
    for day in days:
        if day not in DAYS:
            raise RequestError(f"weekday must be one of {', '.join(DAYS)}, not {day!r}")
        wanted.add(DAYS.index(day))
    windows = []
    for offset in range(count_days):
        day = first_day + timedelta(days=offset)
        if day.weekday() not in wanted:
            continue
        opens = datetime.combine(day, start, zone)
        closes = datetime.combine(day if end > start else day + timedelta(days=1), end, zone)
        windows.append((opens, closes))
    return windows


def windows_from_document(items: Any, where: str) -> list[tuple[datetime, datetime]]:
    """``[{"starts_at": ISO, "ends_at": ISO}]`` -> windows, each checked (zone, end after start)."""
    if not isinstance(items, list):
        raise RequestError(f"{where}: must be a list of {{starts_at, ends_at}}")
    windows = []
    for index, item in enumerate(items):
        here = f"{where}[{index}]"
        if not isinstance(item, dict) or set(item) - {"starts_at", "ends_at"}:
            raise RequestError(f"{here}: must be an object with starts_at and ends_at only")
        start, end = parse_time(item.get("starts_at"), f"{here}.starts_at"), parse_time(
            item.get("ends_at"), f"{here}.ends_at")
        if start is None or end is None:
            raise RequestError(f"{here}: needs both starts_at and ends_at")
        if end <= start:
            raise RequestError(f"{here}: ends_at {end.isoformat()} is not after starts_at {start.isoformat()}")
        windows.append((start, end))
    return windows


def merged(windows: Iterable[tuple[datetime, datetime]]) -> list[tuple[datetime, datetime]]:
    """Sorted windows with overlapping or touching ones joined."""
    result: list[tuple[datetime, datetime]] = []
    for start, end in sorted(windows):
        if result and start <= result[-1][1]:
            result[-1] = (result[-1][0], max(result[-1][1], end))
        else:
            result.append((start, end))
    return result
