"""Which days and datasets an invocation asks for.

* ``{}`` (what the schedule sends): yesterday in the configured time zone;
* ``{"date": "YYYY-MM-DD"}``: that day;
* ``{"start_date": ..., "end_date": ...}``: every day of the inclusive range (a backfill);
* any of these with ``"datasets": [...]``: only those datasets.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

MAX_DAYS = 366
_EVENT_KEYS = frozenset({"date", "start_date", "end_date", "datasets"})
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


class InvalidEvent(Exception):
    """The event does not say which days and datasets to refresh."""


@dataclass(frozen=True)
class RefreshPlan:
    days: tuple[date, ...]
    datasets: tuple[str, ...]

    @property
    def jobs(self) -> list[tuple[str, date]]:
        """Every (dataset, day) pair, day by day."""
        return [(dataset, day) for day in self.days for dataset in self.datasets]


def plan_from_event(event: Any, *, today: date, configured: tuple[str, ...]) -> RefreshPlan:
    """The plan for ``event``; ``today`` is the current date in the configured time zone."""
    if event is None:
        event = {}
    if not isinstance(event, dict):
        raise InvalidEvent("The event must be a JSON object")
    unknown = sorted(map(str, set(event) - _EVENT_KEYS))
    if unknown:
        raise InvalidEvent(f"Unknown event field(s) {unknown}; allowed: {sorted(_EVENT_KEYS)}")
    return RefreshPlan(_days(event, today), _datasets(event, configured))


def _days(event: dict[str, Any], today: date) -> tuple[date, ...]:
    has_range = "start_date" in event or "end_date" in event
    if "date" in event and has_range:
        raise InvalidEvent("Give either date, or start_date and end_date, not both")
    if "date" in event:
        first = last = _parse_date(event, "date")
    elif has_range:
        if "start_date" not in event or "end_date" not in event:
            raise InvalidEvent("A range needs both start_date and end_date")
        first, last = _parse_date(event, "start_date"), _parse_date(event, "end_date")
        if first > last:
            raise InvalidEvent("start_date is after end_date")
    else:
        first = last = today - timedelta(days=1)
    if last > today:
        raise InvalidEvent(f"{last.isoformat()} is in the future (today is {today.isoformat()})")
    count = (last - first).days + 1
    if count > MAX_DAYS:
        raise InvalidEvent(f"The range covers {count} days; at most {MAX_DAYS} per invocation")
    return tuple(first + timedelta(days=offset) for offset in range(count))


def _parse_date(event: dict[str, Any], name: str) -> date:
    value = event[name]
    if not isinstance(value, str) or not _ISO_DATE.fullmatch(value):
        raise InvalidEvent(f"{name} must be a date as YYYY-MM-DD")
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise InvalidEvent(f"{name} is not a real date: {value!r}") from None


def _datasets(event: dict[str, Any], configured: tuple[str, ...]) -> tuple[str, ...]:
    if "datasets" not in event:
        return configured
    requested = event["datasets"]
    if not isinstance(requested, list) or not requested or not all(isinstance(n, str) for n in requested):
        raise InvalidEvent("datasets must be a non-empty list of dataset names")
    unknown = sorted(set(requested) - set(configured))
    if unknown:
        raise InvalidEvent(f"Unknown dataset(s) {unknown}; configured: {list(configured)}")
    if len(set(requested)) != len(requested):
        raise InvalidEvent("datasets names a dataset twice")
    return tuple(requested)
