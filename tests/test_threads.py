"""The threads a worker process keeps for its calls (``textpeak.lib.threads``)."""

import threading
import time

from textpeak.lib.threads import run_each, run_in_groups


def test_run_each_gives_the_results_in_the_items_order():
    assert run_each("test", 4, lambda n: n * 2, [3, 1, 2]) == [6, 2, 4]


def test_run_in_groups_hands_back_what_finished_while_the_rest_still_runs():
    release = threading.Event()

    def work(name):
        if name == "slow":
            assert release.wait(5)
        return name

    groups = run_in_groups("test", 4, work, ["fast", "quick", "slow"], seconds=0.05)
    first = next(groups)
    release.set()

    assert sorted(first) == ["fast", "quick"]
    assert list(groups) == [["slow"]]


def test_run_in_groups_gathers_what_finishes_within_the_seconds_of_the_first():
    def work(delay):
        time.sleep(delay)
        return delay

    groups = list(run_in_groups("test", 4, work, [0.0, 0.01, 0.02], seconds=2))

    assert [sorted(group) for group in groups] == [[0.0, 0.01, 0.02]]


def test_run_in_groups_of_nothing_hands_back_nothing():
    assert list(run_in_groups("test", 4, lambda n: n, [], seconds=1)) == []
