"""The shared limits: a stream's requests (``admit`` and its process-local leases) and a
sender's pace (``reserve_per_second``), on Redis or, without it, on files."""

import itertools
import time
import uuid
from collections import Counter

import pytest

from textpeak.lib import ratelimit


@pytest.fixture
def key():
    """A bucket of this test's own: Redis keeps buckets between tests."""
    return f"test:{uuid.uuid4()}"


def test_a_process_spends_the_slots_it_took_without_the_shared_bucket_and_no_more(settings, key):
    settings.RATE_LEASE_SECONDS = 0.5  # five slots at a time at 10/s
    assert ratelimit.admit(key, rate=10, burst=10).granted
    # Every other process now finds the bucket empty for a while.
    assert ratelimit.reserve(key, rate=10, burst=10, count=100).granted
    assert [ratelimit.admit(key, rate=10, burst=10).granted for _ in range(5)] == [
        True,
        True,
        True,
        True,
        False,
    ]


def test_a_low_limit_takes_its_slots_one_at_a_time(settings, key):
    settings.RATE_LEASE_SECONDS = 0.5
    assert ratelimit.admit(key, rate=1, burst=1).granted
    assert not ratelimit.admit(key, rate=1, burst=1).granted


# One at a time (one_at_a_time).


def test_a_key_is_held_for_its_block_and_refused_to_others_meanwhile(key):
    with ratelimit.one_at_a_time(key, seconds=60) as held:
        assert held
        with ratelimit.one_at_a_time(key, seconds=60) as meanwhile:
            assert not meanwhile
    with ratelimit.one_at_a_time(key, seconds=60) as after:
        assert after


def test_a_holder_that_outlived_its_seconds_does_not_let_go_of_the_next_hold(key):
    first = ratelimit.one_at_a_time(key, seconds=0.05)
    assert first.__enter__()
    time.sleep(0.1)
    with ratelimit.one_at_a_time(key, seconds=60) as second:
        assert second
        first.__exit__(None, None, None)
        with ratelimit.one_at_a_time(key, seconds=60) as third:
            assert not third


# A sender's pace: slots in the clock's seconds (reserve_per_second).


def _seconds_of(slots, count: int) -> Counter:
    """How many of the slots fall in each second of the clock."""
    answered = time.time()
    return Counter(int(answered + slots.window(index)[0]) for index in range(count))


def test_no_second_of_the_clock_gets_more_slots_than_the_limit(key):
    slots = ratelimit.reserve_per_second(key, per_second=10, count=25, max_wait=2)
    more = ratelimit.reserve_per_second(key, per_second=10, count=10, max_wait=5)
    per_second = _seconds_of(slots, 25) + _seconds_of(more, 10)
    assert sum(per_second.values()) == 35
    assert max(per_second.values()) == 10


def test_a_seconds_slots_are_spread_evenly_over_its_slot_span(key):
    slots = ratelimit.reserve_per_second(key, per_second=10, count=20, max_wait=2)
    first = 10 - slots.position  # the first slot of the next second: the whole of it follows
    starts = [slots.window(index)[0] for index in range(first, first + 10)]
    assert [round(b - a, 6) for a, b in itertools.pairwise(starts)] == [0.085] * 9


def test_every_slot_may_be_used_until_the_guard_of_its_second(key):
    slots = ratelimit.reserve_per_second(key, per_second=10, count=20, max_wait=2)
    first = 10 - slots.position
    second_starts = slots.window(first)[0]
    ends = {round(slots.window(index)[1], 6) for index in range(first, first + 10)}
    assert ends == {round(second_starts + 1 - ratelimit.PACE_GUARD, 6)}
    # Even the last slot leaves room for a send that starts late.
    last_start, last_end = slots.window(first + 9)
    assert last_end - last_start >= 0.1 - 1e-6


def test_an_idle_sender_starts_at_the_slot_of_the_moment_not_with_a_burst(key):
    slots = ratelimit.reserve_per_second(key, per_second=10, count=3, max_wait=2)
    assert slots.granted
    assert slots.window(0)[0] >= -0.001


def test_a_slot_further_than_max_wait_is_refused_and_nothing_is_reserved(key):
    first = ratelimit.reserve_per_second(key, per_second=1, count=3, max_wait=2)
    refused = ratelimit.reserve_per_second(key, per_second=1, count=1, max_wait=0.5)
    assert not refused.granted
    assert refused.wait > 1.5
    granted = ratelimit.reserve_per_second(key, per_second=1, count=1, max_wait=10)
    assert granted.window(0)[0] == pytest.approx(first.window(3)[0], abs=0.1)


# Sends to one key at least an interval apart (space): Meta's pair limit.


def test_a_keys_next_send_waits_until_an_interval_after_the_last_ones_window_closed(key):
    assert ratelimit.space([(key, 0.0, 0.5)], interval=2) == [0.0]
    [wait] = ratelimit.space([(key, 0.0, 0.5)], interval=2)
    assert 2.3 < wait <= 2.5


def test_a_send_whose_window_opens_after_the_interval_goes(key):
    assert ratelimit.space([(key, 0.0, 0.1)], interval=1) == [0.0]
    assert ratelimit.space([(key, 1.2, 1.5)], interval=1) == [0.0]


def test_a_key_in_its_interval_holds_no_other_key(key):
    other = f"{key}:other"
    waits = ratelimit.space([(key, 0.0, 0.1), (key, 0.0, 0.1), (other, 0.0, 0.1)], interval=2)
    assert waits[0] == waits[2] == 0.0
    assert waits[1] > 2


def test_a_keys_sends_waiting_in_one_call_come_back_an_interval_apart(key):
    waits = ratelimit.space([(key, 0.0, 0.0)] * 3, interval=2)
    assert waits[0] == 0.0
    assert waits[1] == pytest.approx(2, abs=0.1)
    assert waits[2] == pytest.approx(4, abs=0.1)


def test_a_waiting_send_takes_nothing_from_the_key(key):
    ratelimit.space([(key, 0.0, 0.0)], interval=1)
    ratelimit.space([(key, 0.0, 0.0)], interval=1)
    time.sleep(1.05)
    assert ratelimit.space([(key, 0.0, 0.0)], interval=1) == [0.0]
