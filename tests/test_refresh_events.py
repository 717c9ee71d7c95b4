from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from refresh_partner_data.events import MAX_DAYS, InvalidEvent, plan_from_event

SAO_PAULO = ZoneInfo("America/Sao_Paulo")
NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)  # 09:00 on the 28th in São Paulo.
CONFIGURED = ("category", "establishment", "sale")


def plan(event, now=NOW):
    return plan_from_event(event, now=now, timezone=SAO_PAULO, configured=CONFIGURED)


@pytest.mark.parametrize("event", [{}, None])
def test_a_manual_run_without_a_day_means_yesterday_by_the_clock(event):
    result = plan(event)
    assert result.days == (date(2026, 11, 27),)
    assert result.datasets == CONFIGURED
    assert result.jobs == [(name, date(2026, 11, 27)) for name in CONFIGURED]


@pytest.mark.parametrize(
    ("scheduled_time", "day"),
    [
        ("2026-11-28T03:00:00Z", date(2026, 11, 27)),  # Midnight of the 28th in São Paulo.
        ("2026-11-28T02:59:59Z", date(2026, 11, 26)),  # Still the 27th there.
        ("2026-11-28T03:00:00.123Z", date(2026, 11, 27)),
    ],
)
def test_a_scheduled_run_refreshes_the_day_before_its_scheduled_time(scheduled_time, day):
    assert plan({"scheduled_time": scheduled_time}).days == (day,)


def test_a_scheduled_run_replayed_days_later_still_refreshes_its_own_day():
    replayed_at = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)
    assert plan({"scheduled_time": "2026-11-28T03:00:00Z"}, now=replayed_at).days == (date(2026, 11, 27),)


def test_today_is_refused_unless_a_partial_day_is_asked_for():
    with pytest.raises(InvalidEvent, match=r'2026-11-28 is today, not finished.*"allow_partial_day": true'):
        plan({"date": "2026-11-28"})
    with pytest.raises(InvalidEvent, match="is today"):
        plan({"start_date": "2026-11-20", "end_date": "2026-11-28"})
    assert plan({"date": "2026-11-28", "allow_partial_day": True}).days == (date(2026, 11, 28),)
    assert plan({"date": "2026-11-27", "allow_partial_day": False}).days == (date(2026, 11, 27),)


def test_one_day():
    assert plan({"date": "2024-02-29"}).days == (date(2024, 2, 29),)


def test_inclusive_range_with_a_subset_of_datasets():
    result = plan({"start_date": "2026-10-30", "end_date": "2026-11-02", "datasets": ["sale"]})
    assert [d.isoformat() for d in result.days] == ["2026-10-30", "2026-10-31", "2026-11-01", "2026-11-02"]
    assert result.jobs[0] == ("sale", date(2026, 10, 30))
    assert len(result.jobs) == 4


def test_range_of_exactly_the_cap_is_allowed():
    result = plan({"start_date": "2025-11-27", "end_date": "2026-11-27"})
    assert len(result.days) == MAX_DAYS


@pytest.mark.parametrize(
    ("event", "message"),
    [
        ([], "must be a JSON object"),
        ("2026-01-01", "must be a JSON object"),
        ({"day": "2026-01-01"}, "Unknown event field(s) ['day']"),
        ({"date": "2026-1-1"}, "date must be a date as YYYY-MM-DD"),
        ({"date": 20260101}, "date must be a date as YYYY-MM-DD"),
        ({"date": "2026-02-30"}, "date is not a real date"),
        ({"date": "2026-11-29"}, "is in the future"),
        ({"date": "2026-01-01", "start_date": "2026-01-01"}, "not date and a range"),
        ({"scheduled_time": "2026-11-28T03:00:00Z", "date": "2026-01-01"}, "not scheduled_time and date"),
        ({"scheduled_time": "2026-11-28 03:00:00"}, "scheduled_time must be a UTC time"),
        ({"scheduled_time": "2026-11-28T03:00:00+01:00"}, "scheduled_time must be a UTC time"),
        ({"scheduled_time": 1795834800}, "scheduled_time must be a UTC time"),
        ({"scheduled_time": "2026-02-30T03:00:00Z"}, "scheduled_time is not a real time"),
        ({"allow_partial_day": "yes"}, "allow_partial_day must be true or false"),
        ({"start_date": "2026-01-01"}, "needs both start_date and end_date"),
        ({"start_date": "2026-01-02", "end_date": "2026-01-01"}, "start_date is after end_date"),
        ({"start_date": "2025-11-26", "end_date": "2026-11-27"}, "covers 367 days"),
        ({"datasets": []}, "non-empty list"),
        ({"datasets": "sale"}, "non-empty list"),
        ({"datasets": ["sale", 1]}, "non-empty list"),
        ({"datasets": ["sales"]}, "Unknown dataset(s) ['sales']"),
        ({"datasets": ["sale", "sale"]}, "names a dataset twice"),
    ],
)
def test_invalid_events_are_refused_with_a_reason(event, message):
    with pytest.raises(InvalidEvent) as caught:
        plan(event)
    assert message in str(caught.value)
