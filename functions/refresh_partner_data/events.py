"""Which days and datasets an invocation asks for.

* ``{"scheduled_time": "2026-11-28T03:00:00Z"}`` (what the schedule sends: its
  ``<aws.scheduler.scheduled-time>``): the day before that time's date in the configured time
  zone, so a run delivered late, or replayed from the failure queue, refreshes the day it was
  scheduled for;
* ``{}``: the day before today, by the clock (a manual run);
* ``{"date": "YYYY-MM-DD"}``: that day;
* ``{"start_date": ..., "end_date": ...}``: every day of the inclusive range (a backfill);
* any of these with ``"datasets": [...]``: only those datasets.

Today is not finished, so it is refused unless the event says ``"allow_partial_day": true``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta, tzinfo
from typing import Any

MAX_DAYS = 366
_EVENT_KEYS = frozenset({"scheduled_time", "date", "start_date", "end_date", "datasets", "allow_partial_day"})
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
#: EventBridge Scheduler's <aws.scheduler.scheduled-time>: UTC, to the second.
_SCHEDULED_TIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z")


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


def plan_from_event(
    event: Any, *, now: datetime, timezone: tzinfo, configured: tuple[str, ...]
) -> RefreshPlan:
    """The plan for ``event``, ``now`` being the current time (aware)."""
    if event is None:
        event = {}
    if not isinstance(event, dict):
        raise InvalidEvent("The event must be a JSON object")
    unknown = sorted(map(str, set(event) - _EVENT_KEYS))
    if unknown:
        raise InvalidEvent(f"Unknown event field(s) {unknown}; allowed: {sorted(_EVENT_KEYS)}")
    partial = event.get("allow_partial_day", False)
    if type(partial) is not bool:
        raise InvalidEvent("allow_partial_day must be true or false")
    today = now.astimezone(timezone).date()
    days = _days(event, today, timezone)
    if days[-1] == today and not partial:
        raise InvalidEvent(
            f"{today.isoformat()} is today, not finished: its file would look complete but not be."
            ' Add "allow_partial_day": true to refresh it anyway'
        )
    return RefreshPlan(days, _datasets(event, configured))


def _days(event: dict[str, Any], today: date, timezone: tzinfo) -> tuple[date, ...]:
    has_range = "start_date" in event or "end_date" in event
    given = [name for name in ("scheduled_time", "date") if name in event] + (
        ["a range"] if has_range else []
    )
    if len(given) > 1:
        raise InvalidEvent(
            f"Give one of scheduled_time, date, or start_date and end_date, not {' and '.join(given)}"
        )
    if "scheduled_time" in event:
        value = event["scheduled_time"]
        if not isinstance(value, str) or not _SCHEDULED_TIME.fullmatch(value):
            raise InvalidEvent("scheduled_time must be a UTC time such as 2026-11-28T03:00:00Z")
        try:
            scheduled = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise InvalidEvent(f"scheduled_time is not a real time: {value!r}") from None
        first = last = scheduled.astimezone(timezone).date() - timedelta(days=1)
    elif "date" in event:
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
