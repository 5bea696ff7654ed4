"""Growth tasks in the demo brand (issue 7, part 3): five tasks — complete the profile, follow the
official account, write two reviews, invite three friends a month, attend a salon — counted from the
brand's own history (its follows, identifies and invites), a few reviews and salon attendances
added, then one worker step: progress, completions, points, ``Task Completed`` events (which the
loyalty step turns into growth value on its next pass).

Everything goes through the tasks' public functions. Idempotent: a workspace with tasks is left as it is.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from siyu import clock
from siyu.db.engine import read, write
from siyu.loyalty import store, tasks_service, tasks_store, tasks_worker
from siyu.loyalty.tasks_models import RewardStatus
from siyu.profiles.read_store import append_profile_events
from siyu.runtime import Runtime
from siyu.workspaces import store as workspace_store

DAY = timedelta(days=1)
TASKS = [
    {"key": "profile", "name_zh": "完善个人资料", "name_en": "Complete your profile", "kind": "profile_complete",
     "traits": ["name", "phone", "city", "email"], "points": 50},
    {"key": "follow", "name_zh": "关注公众号", "name_en": "Follow the official account", "kind": "follow_account",
     "points": 20},
    {"key": "reviews", "name_zh": "发表两条评价", "name_en": "Write two reviews", "kind": "write_review", "target": 2,
     "points": 30},
    {"key": "invite3", "name_zh": "每月邀请 3 位好友", "name_en": "Invite 3 friends a month", "kind": "invite_friends",
     "source": "event", "target": 3, "repeat": "monthly", "points": 100},
    {"key": "salon", "name_zh": "参加线下美妆沙龙", "name_en": "Attend a beauty salon", "kind": "attend_event",
     "points": 40},
]


def growth_tasks(runtime: Runtime, workspace_id: int, *, seed: int, now: datetime | None = None) -> dict[str, int]:
    """Create the tasks and count the brand's history into them; what it made, in figures."""
    now = now or clock.now()
    rnd = random.Random(seed * 13 + 5)
    with write(runtime.engine) as conn:
        if tasks_store.list_tasks(conn, workspace_id):
            return {}
        zone = workspace_store.get_workspace(conn, workspace_id).timezone
        made = [tasks_service.create_task(conn, workspace_id, {**task, "starts_at": (now - 120 * DAY).isoformat()},
                                          now=now - 120 * DAY) for task in TASKS]
        people = [profile_id for profile_id, _ in store.top_spenders(conn, workspace_id, 60)]
        reviews = [(p, "Review Written", {"product": rnd.choice(["精华", "面霜", "防晒"]), "stars": rnd.randint(3, 5)})
                   for p in people for _ in range(rnd.randint(0, 2))]
        append_profile_events(conn, workspace_id, reviews, "demo", now - rnd.randint(1, 30) * DAY)
        salon = next(t for t in made if t.key == "salon")
        for p in people[:12]:
            tasks_service.mark_attendance(conn, workspace_id, salon.id, p, key=f"demo-salon-{p}", now=now - 3 * DAY)
    steps = tasks_worker.run_workspace(runtime.engine, workspace_id, zone, now)
    with read(runtime.engine) as conn:
        counts = tasks_store.completion_counts(conn, workspace_id)
        delivered = tasks_store.count_rewards(conn, workspace_id, RewardStatus.DELIVERED)
        pending = tasks_store.count_rewards(conn, workspace_id, RewardStatus.PENDING)
    # one worker step delivers 500 rewards; the served demo's worker delivers the rest, 500 a pass
    return {"tasks": len(made), "people": sum(c[0] for c in counts.values()),
            "completions": sum(c[1] for c in counts.values()), "rewards": int(delivered),
            "rewards_pending": int(pending), "events": steps["events"]}
