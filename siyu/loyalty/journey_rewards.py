"""The "give points" step of journeys, credited through the points ledger (:mod:`siyu.journeys.rewards`
is the registry; this module registers the ``points`` kind when it is imported — by :mod:`siyu.loyalty`,
or by the registry itself the first time a step asks for ``points``).

The step says how many: ``{"amount": 200}``. That many are credited, as written — no tier multiplier
and no daily cap, because the step's message promises the figure ("200 points are in your account")
and the journey's entry rule already bounds how often a person gets it — in a lot of their own that
expires as the programme's expiry says. The ledger entry's idempotency key is the step's key
(``journey:<id>:<version>:<step>:<entry>``), so a step retried after a crash or run again for the same
entry credits once; the next entry (next year's anniversary) has a new key and credits again.

Outcomes, the step's figures: ``reward.given``; ``reward.no_programme`` when the workspace has no
loyalty programme (there is no ledger to credit: the person goes on, and the step's figures say why).
"""

from __future__ import annotations

from sqlalchemy import Connection

from siyu.journeys import rewards
from siyu.loyalty import points, store
from siyu.loyalty.errors import ProgrammeMissing

GIVEN = "reward.given"
NO_PROGRAMME = "reward.no_programme"


def give_points(conn: Connection, request: rewards.RewardRequest) -> str:
    from siyu.profiles.read_store import resolve_profile_id
    from siyu.workspaces import store as workspace_store

    amount = request.params.get("amount")
    if isinstance(amount, bool) or not isinstance(amount, int) or amount <= 0:
        return rewards.UNAVAILABLE  # a published step always has one (siyu.journeys.step_definitions checks)
    try:
        programme, _, _ = store.get_programme(conn, request.workspace_id)
    except ProgrammeMissing:
        return NO_PROGRAMME
    # An entry's person merged away meanwhile: the points go to the survivor, who holds the ledger now.
    profile_id = resolve_profile_id(conn, request.workspace_id, request.profile_id)
    timezone = workspace_store.get_workspace(conn, request.workspace_id).timezone
    source = ":".join(request.key.split(":", 2)[:2])  # "journey:<id>": the reason the member page shows
    points.earn(conn, request.workspace_id, profile_id, amount, key=request.key, reason=source, now=request.now,
                expiry=programme.expiry, timezone=timezone)
    return GIVEN


rewards.register("points", give_points)
