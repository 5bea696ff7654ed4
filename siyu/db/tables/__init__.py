"""Every table of the operational store, in one MetaData so Alembic sees the whole schema.

Rules that hold for every table: a ``workspace_id`` column (one workspace is one brand, and
every query filters on it); timestamps as :class:`~siyu.db.types.Timestamp`; states as short
strings named in the capability's enum, never magic integers. Only a capability's ``store.py``
reads or writes its tables.
"""

from __future__ import annotations

from siyu.db.tables.base import BigId, metadata
from siyu.db.tables.callbacks import reply_rules, welcome_messages
from siyu.db.tables.channels import subscribe_grants
from siyu.db.tables.contact_details import wecom_contact_details
from siyu.db.tables.distribution import commission_payouts, commission_plans, commissions, promoter_touches, promoters
from siyu.db.tables.events import event_dedupe, events, ingest_queue
from siyu.db.tables.forms import form_codes, form_submissions, form_views, forms
from siyu.db.tables.groups import (
    community_group_members,
    community_groups,
    group_broadcast_tasks,
    group_broadcasts,
    group_code_alerts,
    group_code_daily,
    group_code_groups,
    group_codes,
    group_taggings,
    group_tags,
    poster_avatars,
    poster_links,
    poster_renders,
    poster_templates,
)
from siyu.db.tables.growth import (
    campaign_counters,
    campaign_credits,
    campaign_participants,
    campaign_rewards,
    campaigns,
)
from siyu.db.tables.growth_fraud import growth_fraud_decisions, growth_invites
from siyu.db.tables.growth_landing import campaign_landing_actions
from siyu.db.tables.imports import erasures, imports
from siyu.db.tables.journeys import journey_entries, journey_step_visits, journey_versions, journeys, staff_tasks
from siyu.db.tables.loyalty import (
    loyalty_members,
    loyalty_programmes,
    points_daily,
    points_entries,
    points_lots,
    tier_changes,
    tiers,
)
from siyu.db.tables.loyalty_tasks import loyalty_task_marks, loyalty_task_progress, loyalty_task_rewards, loyalty_tasks
from siyu.db.tables.messaging import broadcasts, messages
from siyu.db.tables.offers import offer_budgets, offer_claims, offer_codes, offer_holdings, offers
from siyu.db.tables.payments import reward_budgets, rewards
from siyu.db.tables.profiles import (
    identities,
    identity_conflicts,
    identity_versions,
    profile_event_counts,
    profile_merges,
    profiles,
)
from siyu.db.tables.segments import (
    channel_spend,
    clv_fits,
    cursors,
    profile_scores,
    segment_members,
    segment_sizes,
    segments,
    tag_rules,
)
from siyu.db.tables.staff import (
    channel_code_arrivals,
    channel_codes,
    customer_owners,
    customer_transfers,
    sop_rules,
    staff,
    staff_task_results,
)
from siyu.db.tables.surveys import survey_answers, surveys
from siyu.db.tables.tags import consents, profile_tags, tag_groups, tags
from siyu.db.tables.tracking import message_links, message_receipts
from siyu.db.tables.workspaces import api_keys, users, workspace_members, workspaces

__all__ = [
    "reply_rules",
    "welcome_messages",
    "BigId",
    "metadata",
    "workspaces",
    "api_keys",
    "users",
    "workspace_members",
    "events",
    "event_dedupe",
    "ingest_queue",
    "forms",
    "form_codes",
    "form_submissions",
    "form_views",
    "profiles",
    "identities",
    "identity_versions",
    "profile_merges",
    "identity_conflicts",
    "profile_event_counts",
    "tag_groups",
    "tags",
    "profile_tags",
    "consents",
    "imports",
    "erasures",
    "segments",
    "segment_members",
    "segment_sizes",
    "tag_rules",
    "profile_scores",
    "clv_fits",
    "channel_spend",
    "cursors",
    "messages",
    "broadcasts",
    "journeys",
    "journey_versions",
    "journey_entries",
    "journey_step_visits",
    "staff_tasks",
    "message_links",
    "message_receipts",
    "subscribe_grants",
    "staff",
    "customer_owners",
    "customer_transfers",
    "staff_task_results",
    "sop_rules",
    "channel_codes",
    "channel_code_arrivals",
    "community_groups",
    "community_group_members",
    "group_tags",
    "group_taggings",
    "group_broadcasts",
    "group_broadcast_tasks",
    "group_codes",
    "group_code_groups",
    "group_code_daily",
    "group_code_alerts",
    "poster_templates",
    "poster_links",
    "poster_avatars",
    "poster_renders",
    "rewards",
    "reward_budgets",
    "offers",
    "offer_codes",
    "offer_holdings",
    "offer_claims",
    "offer_budgets",
    "promoters",
    "promoter_touches",
    "commission_plans",
    "commissions",
    "commission_payouts",
    "campaigns",
    "campaign_participants",
    "campaign_credits",
    "campaign_rewards",
    "campaign_counters",
    "wecom_contact_details",
    "growth_invites",
    "growth_fraud_decisions",
    "campaign_landing_actions",
    "loyalty_programmes",
    "tiers",
    "loyalty_members",
    "tier_changes",
    "points_entries",
    "points_lots",
    "points_daily",
    "surveys",
    "survey_answers",
    "loyalty_tasks",
    "loyalty_task_progress",
    "loyalty_task_rewards",
    "loyalty_task_marks",
]
