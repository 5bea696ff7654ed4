"""The end of a campaign: ended if still live past its end, then its end-of-campaign prizes handed out
once (``settled_at``). A leaderboard ranks its participants with the rules' tie rule and grants each
prize tier through :func:`siyu.growth.leaderboard.award_prizes`; every prize is unique on
``rank:<participant>``, so a settle repeated after a crash grants nothing twice."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection

from siyu.growth import store
from siyu.growth.leaderboard import Entry, PrizeTier, Ranked, TieRule, award_prizes, rank
from siyu.growth.models import Campaign, CampaignStatus
from siyu.growth.rewards import grant_reward
from siyu.growth.rules import LeaderboardRules, parse_rules

MAX_RANKED = 10_000


def standings(conn: Connection, workspace_id: int, campaign_id: int, *, min_progress: int = 1,
              ties: TieRule = TieRule.EARLIEST, limit: int = MAX_RANKED) -> list[Ranked]:
    """The live ranking (participants with at least ``min_progress``), positions by the tie rule."""
    rows = store.ranking(conn, workspace_id, campaign_id, min_progress=min_progress, limit=limit)
    return rank([Entry(p.profile_id, p.progress, p.progress_at) for p in rows], ties)


def settle(conn: Connection, workspace_id: int, campaign: Campaign, now: datetime) -> None:
    if campaign.status is CampaignStatus.LIVE:
        store.update_campaign(conn, workspace_id, campaign.id, now, expected_status=CampaignStatus.LIVE,
                              status=CampaignStatus.ENDED.value)
    rules = parse_rules(campaign.kind, campaign.rules)
    if isinstance(rules, LeaderboardRules):
        tiers = [PrizeTier(p.rank_from, p.rank_to, str(i), p.max_winners, rules.min_progress)
                 for i, p in enumerate(rules.prizes)]
        awards = award_prizes(standings(conn, workspace_id, campaign.id, min_progress=rules.min_progress,
                                         ties=TieRule(rules.ties)), tiers)
        for award in awards.awards:
            grant_reward(conn, workspace_id, campaign, profile_id=award.profile_id,
                         reward_key=f"rank:{award.profile_id}", spec=rules.prizes[int(award.prize_key)].reward,
                         now=now)
    store.update_campaign(conn, workspace_id, campaign.id, now, settled_at=now)
