"""`siyu demo`'s steps, each timed: what the README's first command costs, and which step grew.

    python bench/bench_demo.py [--customers 100000] [--seed 42]

Runs the demo's generation and every step after it (parcel card, distribution, campaigns, loyalty,
growth tasks, understanding, the survey) in this process, as ``siyu demo --no-serve`` runs them, on a
fresh SQLite data directory in a temporary directory (removed at the end). Reported: each step's
seconds and CPU seconds and what it made. The floor is the generation itself (customers and their
history through the ingest pipeline, the demo's unavoidable part): each later step is reported as a
ratio to it, so a step that starts following the whole log, or reads it quadratically, stands out
whatever the machine's speed that day.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from typing import Any


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args()
    directory = tempfile.mkdtemp(prefix="siyu-bench-demo-")
    os.environ["SIYU_DATA_DIR"] = directory
    os.environ.pop("SIYU_DATABASE_URL", None)
    try:
        run(args.customers, args.seed)
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def run(customers: int, seed: int) -> None:
    from siyu.cli import runtime
    from siyu.demo.campaigns import campaigns
    from siyu.demo.cli import _generate_with_progress, _prepare
    from siyu.demo.distribution import distribution
    from siyu.demo.loyalty import loyalty
    from siyu.demo.loyalty_tasks import growth_tasks
    from siyu.demo.parcel_card import parcel_card
    from siyu.demo.surveys import surveys
    from siyu.demo.understand import understand

    rt = runtime(migrate=True)
    workspace_id, _, _ = _prepare(rt, False)
    load = os.getloadavg()[0]
    floor, _ = timed(lambda: _generate_with_progress(rt, workspace_id, customers, seed))
    steps: list[tuple[str, Callable[[], Any]]] = [
        ("parcel card", lambda: parcel_card(rt, workspace_id, seed=seed, customers=customers)),
        ("distribution", lambda: distribution(rt, workspace_id, seed=seed)),
        ("campaigns", lambda: campaigns(rt, workspace_id, seed=seed)),
        ("loyalty", lambda: loyalty(rt, workspace_id, seed=seed)),
        ("growth tasks", lambda: growth_tasks(rt, workspace_id, seed=seed)),
        ("understand", lambda: understand(rt, workspace_id)),
        ("survey", lambda: surveys(rt, workspace_id, seed=seed)),
    ]
    print(f"{customers:,} customers, seed {seed}, load average {load:.2f} at the start", flush=True)
    print(f"generation (the floor): {floor[0]:.1f} s, {floor[1]:.1f} s CPU", flush=True)
    total = floor[0]
    for name, step in steps:
        (seconds, cpu), made = timed(step)
        total += seconds
        print(f"{name}: {seconds:.1f} s ({seconds / floor[0]:.2f}x the floor), {cpu:.1f} s CPU; {str(made)[:160]}",
              flush=True)
    print(f"all steps: {total:.1f} s; after generation: {total - floor[0]:.1f} s "
          f"({(total - floor[0]) / floor[0]:.2f}x the floor); load average {os.getloadavg()[0]:.2f} at the end")


def timed(step: Callable[[], Any]) -> tuple[tuple[float, float], Any]:
    started, cpu = time.perf_counter(), time.process_time()
    made = step()
    return (time.perf_counter() - started, time.process_time() - cpu), made


if __name__ == "__main__":
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    main()
