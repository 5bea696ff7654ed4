"""A campaign's figures, and what each one means (docs/campaigns.md repeats the definitions).

- **participants**: people who joined (got a share link).
- **invites sent**: visits through participants' share links (``/c/<token>?ref=…``) — what WeChat lets
  us see of a share: the share itself is invisible to a page, the friend's open is not.
- **invites accepted**: invites and helps credited (arrived, passed anti-fraud or review, and — in a
  referral — did the qualifying action); held, pending, denied, revoked and expired ones do not count.
- **K-factor** = accepted / participants who invited (at least one credited invite): how many people
  each active recruiter brought. ``viral_coefficient`` = accepted / participants is the classic
  "invites per user × conversion" over everyone who joined; > 1 means the campaign grows by itself.
- **new customers**: distinct people credited who were new to the brand by the identity graph
  (anti-fraud's ``invitee_is_new``: first seen at the invite, never ordered before).
- **cost per new customer** = budget spent (cost of granted rewards, voided ones given back) / new customers.

- **phases**: a group buy's groups, bargains and split pools by where they stand (open, done, failed).
- **retention** (``retention``): the 7- and 30-day retention of the new customers the campaign brought
  against the other people first seen during it, by first channel (:mod:`siyu.growth.retention`, over
  the analytics engine with its definitions).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from siyu.db.engine import read
from siyu.growth import measurement_store, store
from siyu.growth.retention import retention_by_group
from siyu.runtime import Runtime
from siyu.workspaces import store as workspace_store


def figures(counts: dict[str, int]) -> dict[str, Any]:
    """The derived figures from the raw counts (pure; ratios are None when their base is zero)."""
    accepted = counts["credits_credited"]
    sent = counts["link_opens"]
    return {
        "participants": counts["participants"],
        "invites_sent": sent,
        "invites_arrived": sum(v for k, v in counts.items() if k.startswith("credits_")),
        "invites_accepted": accepted,
        "invites_held": counts["credits_held"],
        "invites_denied": counts["credits_denied"],
        "invites_revoked": counts["credits_revoked"],
        "inviters": counts["inviters"],
        "acceptance_rate": round(accepted / sent, 4) if sent else None,
        "k_factor": round(accepted / counts["inviters"], 4) if counts["inviters"] else None,
        "viral_coefficient": round(accepted / counts["participants"], 4) if counts["participants"] else None,
        "new_customers": counts["new_customers"],
        "spent_fen": counts["spent_fen"],
        "cost_per_new_customer_fen": (round(counts["spent_fen"] / counts["new_customers"])
                                      if counts["new_customers"] else None),
    }


def measure(rt: Runtime, workspace_id: int, campaign_id: int, now: datetime, *,
            with_retention: bool = False) -> dict[str, Any]:
    """The campaign's figures; ``with_retention`` adds the retention comparison (a sync of the
    analytics mirror and a DuckDB query, so the dashboard and the API ask for it, counters don't)."""
    from siyu.growth.landing import link_opens

    link_opens(rt).flush()  # this process's visits through share links, counted in memory until now
    with read(rt.engine) as conn:
        campaign = store.get_campaign(conn, workspace_id, campaign_id)
        counts = measurement_store.campaign_counts(conn, workspace_id, campaign_id)
        budget = store.counters(conn, workspace_id, campaign_id).get("budget")
        by_phase = measurement_store.phases(conn, workspace_id, campaign_id)
        brought = measurement_store.new_customer_ids(conn, workspace_id, campaign_id) if with_retention else []
        timezone = workspace_store.get_workspace(conn, workspace_id).timezone
    found = {"campaign_id": campaign.id, "kind": campaign.kind.value, "status": campaign.status.value,
             "as_of": now, "budget_fen": campaign.budget_fen,
             "budget_left_fen": None if budget is None else budget["cap"] - budget["used"], **figures(counts),
             "phases": by_phase}
    if with_retention:
        found["retention"] = retention_by_group(rt, workspace_id, campaign, brought, timezone, now)
    return found
