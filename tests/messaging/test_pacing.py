"""Per-channel pacing: a rate in real seconds (tested with a fake clock and sleep) and a cap on
hand-overs in flight, per workspace and channel, re-read when the settings change."""

from __future__ import annotations

import threading

import pytest

from siyu.messaging.pacing import Bucket, Limits, Pacer, limits_of


class FakeTime:
    def __init__(self) -> None:
        self.now = 100.0
        self.slept: list[float] = []

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(round(seconds, 6))
        self.now += seconds


def test_a_bucket_lets_a_second_s_worth_through_then_paces_to_the_rate() -> None:
    fake = FakeTime()
    bucket = Bucket(4, fake.monotonic, fake.sleep)
    waits = [bucket.take() for _ in range(8)]
    assert waits[:4] == [0, 0, 0, 0]  # a burst of one second's worth
    assert waits[4:] == [0.25, 0.25, 0.25, 0.25]  # then one every 1/rate seconds
    fake.now += 10  # idle time refills only up to one second's worth
    assert [bucket.take() for _ in range(5)] == [0, 0, 0, 0, 0.25]


def test_a_slow_rate_waits_whole_seconds() -> None:
    fake = FakeTime()
    bucket = Bucket(0.5, fake.monotonic, fake.sleep)
    assert [bucket.take() for _ in range(3)] == [0, 2.0, 2.0]


def test_limits_come_from_the_channel_settings() -> None:
    assert limits_of(None) == Limits(4, None)
    assert limits_of({"concurrency": 2, "rate_per_second": 10}) == Limits(2, 10.0)
    for bad in ({"concurrency": 0}, {"concurrency": 65}, {"rate_per_second": 0}, {"concurrency": "many"}):
        with pytest.raises(ValueError):
            limits_of(bad)


def test_no_more_than_the_concurrency_are_in_flight_and_a_change_of_settings_applies() -> None:
    pacer = Pacer()
    inside, peak, lock, release = [0], [0], threading.Lock(), threading.Event()

    def hand_over(limits: Limits) -> None:
        with pacer.turn(1, "sms", limits):
            with lock:
                inside[0] += 1
                peak[0] = max(peak[0], inside[0])
            release.wait(5)
            with lock:
                inside[0] -= 1

    threads = [threading.Thread(target=hand_over, args=(Limits(2),)) for _ in range(6)]
    for thread in threads:
        thread.start()
    for _ in range(200):
        with lock:
            if inside[0] == 2:
                break
        threading.Event().wait(0.01)
    with lock:
        assert inside[0] == 2  # the other four wait for a slot
    release.set()
    for thread in threads:
        thread.join(5)
    assert peak[0] == 2
    other, same = pacer._slot(1, "sms", Limits(3)), pacer._slot(1, "sms", Limits(3))
    assert other == same and other[0] is not pacer._slot(2, "sms", Limits(3))[0]  # per workspace
