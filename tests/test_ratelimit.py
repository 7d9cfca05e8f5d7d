"""The shared limits' process-local leases (textpeak.lib.ratelimit.admit)."""

import uuid

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
