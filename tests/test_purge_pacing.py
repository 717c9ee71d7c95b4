"""The pacer of one prefix's deletes: slots at its rate, probing up, cutting on overload."""

import pytest

from purge_bucket.engine import pacing
from purge_bucket.engine.pacing import Pacer

SLOW = 2.5


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock():
    return Clock()


def test_a_new_prefix_starts_at_s3s_documented_rate_in_tenth_of_a_second_chunks(clock):
    pacer = Pacer(clock, SLOW)
    assert pacer.rate == pacing.INITIAL_RATE == 3500
    assert pacer.chunk_size() == 3500 // pacing.CHUNKS_PER_SECOND
    assert not pacer.throttled


def test_slots_are_spaced_evenly_at_the_rate(clock):
    pacer = Pacer(clock, SLOW)
    waits = [pacer.book(175)[0] for _ in range(4)]
    assert waits == pytest.approx([0.0, 0.05, 0.1, 0.15])
    clock.now += 1.0
    assert pacer.book(175)[0] == 0.0, "a slot in the past is not waited for"


def test_a_cut_voids_the_slots_booked_before_it_and_books_again_from_now(clock):
    pacer = Pacer(clock, SLOW)
    tickets = [pacer.book(175)[1] for _ in range(10)]
    assert all(pacer.still_valid(ticket) for ticket in tickets)
    pacer.overloaded(pacer.cuts)
    assert not any(pacer.still_valid(ticket) for ticket in tickets)
    wait, ticket = pacer.book(175)
    assert wait == 0.0, "not behind the voided slots"
    assert pacer.still_valid(ticket)
    assert pacer.book(175)[0] == pytest.approx(175 / pacer.rate)


def test_every_accepted_key_raises_the_rate(clock):
    pacer = Pacer(clock, SLOW)
    pacer.answered(1000, 0.1, 0)
    assert pacer.rate == pytest.approx(pacing.INITIAL_RATE + 1000 * pacing.PROBE_PER_KEY)
    assert not pacer.throttled


def test_a_throttle_cuts_the_rate_once_for_everything_in_flight(clock):
    pacer = Pacer(clock, SLOW)
    in_flight = [pacer.book(175)[1] for _ in range(5)]
    pacer.overloaded(in_flight[0])
    assert pacer.throttled
    assert pacer.rate == pytest.approx(pacing.INITIAL_RATE * pacing.CUT)
    clock.now += 10 * pacing.CUT_INTERVAL_SECONDS
    for ticket in in_flight[1:]:
        pacer.overloaded(ticket)
    assert pacer.rate == pytest.approx(pacing.INITIAL_RATE * pacing.CUT), "sent before the cut: no second cut"
    after = pacer.book(175)[1]
    pacer.overloaded(after)
    assert pacer.rate == pytest.approx(pacing.INITIAL_RATE * pacing.CUT**2), "sent after it: cut again"


def test_throttles_of_requests_sent_after_the_cut_are_still_spaced_by_the_interval(clock):
    pacer = Pacer(clock, SLOW)
    pacer.overloaded(pacer.book(175)[1])
    ticket = pacer.book(175)[1]
    pacer.overloaded(ticket)
    assert pacer.cuts == 1
    clock.now += pacing.CUT_INTERVAL_SECONDS
    pacer.overloaded(ticket)
    assert pacer.cuts == 2


def test_the_cut_starts_from_what_s3_accepted_when_that_was_less_than_the_rate(clock):
    pacer = Pacer(clock, SLOW)
    for _ in range(20):  # 2,000 keys over 2 s: 1,000 a second.
        pacer.answered(100, 0.1, 0)
        clock.now += 0.1
    rate_before = pacer.rate
    pacer.overloaded(pacer.cuts)
    accepted_last_second = 1000
    expected = max(rate_before * pacing.DEEPEST_CUT, accepted_last_second * pacing.CUT)
    assert pacer.rate == pytest.approx(expected)


def test_a_second_of_nothing_accepted_halves_the_rate_and_no_more(clock):
    pacer = Pacer(clock, SLOW)
    pacer.answered(100, 0.1, 0)
    clock.now += 5.0
    rate_before = pacer.rate
    pacer.overloaded(pacer.cuts)
    assert pacer.rate == pytest.approx(rate_before * pacing.DEEPEST_CUT)


def test_the_rate_never_falls_below_its_floor(clock):
    pacer = Pacer(clock, SLOW)
    for _ in range(100):
        pacer.overloaded(pacer.cuts)
        clock.now += pacing.CUT_INTERVAL_SECONDS
    assert pacer.rate == pacing.MIN_RATE
    assert pacer.chunk_size() >= 1


def test_a_slow_answer_is_an_overload(clock):
    pacer = Pacer(clock, SLOW)
    pacer.answered(100, SLOW + 0.1, 0)
    assert pacer.throttled
    assert pacer.rate < pacing.INITIAL_RATE


def test_chunks_follow_the_rate_up_to_a_full_delete_objects(clock):
    pacer = Pacer(clock, SLOW)
    for _ in range(1000):
        pacer.answered(1000, 0.1, 0)
    assert pacer.rate > 20_000
    assert pacer.chunk_size() == pacing.MAX_CHUNK == 1000
