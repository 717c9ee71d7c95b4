from datetime import date

import pytest

from refresh_partner_data.events import MAX_DAYS, InvalidEvent, plan_from_event

TODAY = date(2026, 11, 28)
CONFIGURED = ("category", "establishment", "sale")


def plan(event):
    return plan_from_event(event, today=TODAY, configured=CONFIGURED)


@pytest.mark.parametrize("event", [{}, None])
def test_schedule_event_means_yesterday_for_every_dataset(event):
    result = plan(event)
    assert result.days == (date(2026, 11, 27),)
    assert result.datasets == CONFIGURED
    assert result.jobs == [(name, date(2026, 11, 27)) for name in CONFIGURED]


def test_one_day():
    assert plan({"date": "2024-02-29"}).days == (date(2024, 2, 29),)


def test_inclusive_range_with_a_subset_of_datasets():
    result = plan({"start_date": "2026-10-30", "end_date": "2026-11-02", "datasets": ["sale"]})
    assert [d.isoformat() for d in result.days] == ["2026-10-30", "2026-10-31", "2026-11-01", "2026-11-02"]
    assert result.jobs[0] == ("sale", date(2026, 10, 30))
    assert len(result.jobs) == 4


def test_range_of_exactly_the_cap_is_allowed():
    result = plan({"start_date": "2025-11-28", "end_date": "2026-11-28"})
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
        ({"date": "2026-01-01", "start_date": "2026-01-01"}, "either date, or start_date and end_date"),
        ({"start_date": "2026-01-01"}, "needs both start_date and end_date"),
        ({"start_date": "2026-01-02", "end_date": "2026-01-01"}, "start_date is after end_date"),
        ({"start_date": "2025-11-27", "end_date": "2026-11-28"}, "covers 367 days"),
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
