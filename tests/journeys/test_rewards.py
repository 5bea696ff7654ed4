"""The reward providers' registry (:mod:`siyu.journeys.rewards`) finds every known kind whatever was
imported before: in a fresh interpreter that imports only the registry, asking for ``points`` or
``coupon`` loads the capability that provides it (this test process has imported everything already,
so each case runs in its own ``python -c``). A provider registered or removed on purpose stays so."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from siyu.journeys import rewards
from siyu.journeys.step_definitions import STEP_KINDS

ROOT = Path(__file__).resolve().parents[2]


def _fresh(code: str) -> list[str]:
    """What ``code`` prints, run by a new interpreter that has imported nothing of siyu."""
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout.split()


@pytest.mark.parametrize("order", [("points", "coupon"), ("coupon", "points")])
def test_a_fresh_interpreter_finds_the_points_and_coupon_providers(order: tuple[str, str]) -> None:
    found = _fresh(f"""
import sys
from siyu.journeys import rewards
print(sorted(m for m in sys.modules if m.startswith(("siyu.loyalty", "siyu.offers"))) == [])
for kind in {order!r}:
    found = rewards.provider(kind)
    print(kind, found.__module__ + "." + found.__name__)
""")
    assert found[0] == "True"  # the registry alone loads neither capability: no import cycle, nothing eager
    assert dict(zip(found[1::2], found[2::2], strict=True)) == {
        "points": "siyu.loyalty.journey_rewards.give_points", "coupon": "siyu.offers.journey_rewards.give_coupon"}


def test_a_provider_registered_or_removed_on_purpose_stays_so() -> None:
    assert _fresh("""
from siyu.journeys import rewards
rewards.register("points", lambda conn, request: "reward.fake")
rewards.unregister("coupon")
print(rewards.provider("points")(None, None), rewards.provider("coupon"))
""") == ["reward.fake", "None"]


def test_the_registry_knows_a_provider_for_every_reward_step() -> None:
    steps = {kind.removeprefix("give_") for kind in STEP_KINDS if kind.startswith("give_")}
    assert set(rewards.PROVIDER_MODULES) == steps == {"coupon", "points"}


def test_a_kind_nobody_provides_is_unavailable() -> None:
    assert rewards.provider("stars") is None
    request = rewards.RewardRequest(1, 1, "stars", {}, "journey:1:1:stars:1", None)  # type: ignore[arg-type]
    assert rewards.give(None, request) == rewards.UNAVAILABLE  # type: ignore[arg-type]
