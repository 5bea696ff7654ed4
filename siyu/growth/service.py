"""Campaigns at work: create, edit, launch and end them; people join, invite and help.

Every function takes the caller's connection and ``now`` and does its work in that one transaction.
An invite or a help is assessed by anti-fraud before it counts (:mod:`siyu.growth.assessment`):
``deny`` records it denied, ``review`` holds it for an operator, ``allow`` lets it go on — credited
at once, or pending the invitee's qualifying action in a referral.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, assert_never

from sqlalchemy import Connection

from siyu.growth import reward_values, store
from siyu.growth.assessment import Verdict, assess_credit
from siyu.growth.compliance import check_rules, has_errors
from siyu.growth.credits import credit, needs_qualifying
from siyu.growth.errors import CampaignError, NotLive
from siyu.growth.models import Campaign, CampaignKind, CampaignStatus, Credit, CreditKind, CreditStatus, Participant
from siyu.growth.rewards import BUDGET
from siyu.growth.rules import AssistRules, CommonRules, TaskUnlockRules, parse_rules
from siyu.growth.sessions import STATEFUL, open_session, record_check_in
from siyu.growth.take_back import leave_group_buy
from siyu.growth.worker import start_cursor
from siyu.profiles.read_store import resolve_profile_id

INVITE_KINDS = (CampaignKind.REFERRAL, CampaignKind.TASK_UNLOCK, CampaignKind.LEADERBOARD)


@dataclass(frozen=True)
class Draft:
    kind: CampaignKind
    name: str
    rules: dict[str, Any]
    operator: dict[str, Any]
    starts_at: datetime
    ends_at: datetime
    budget_fen: int | None = None


def validate(kind: CampaignKind, rules: Any) -> tuple[CommonRules, list[Any]]:
    """The parsed rules and the compliance findings (the editor shows both; InvalidRules if they don't parse)."""
    parsed = parse_rules(kind, rules)
    return parsed, check_rules(kind.value, parsed.model_dump(mode="json"))


def check_reward_offers(conn: Connection, workspace_id: int, rules: CommonRules) -> None:
    """The offers of the rewards whose value the rules decide can carry it (422 ``campaigns.offer_*``,
    ``campaigns.list_price_required``, ``campaigns.face_value_out_of_range``:
    :func:`siyu.growth.reward_values.check_reward_offers`)."""
    from siyu.offers.store import find_offer

    reward_values.check_reward_offers(rules, {offer_id: find_offer(conn, workspace_id, offer_id)
                                              for offer_id in reward_values.valued_offer_ids(rules)})


def _check_draft(conn: Connection, workspace_id: int, draft: Draft) -> dict[str, Any]:
    parsed, _ = validate(draft.kind, draft.rules)
    check_reward_offers(conn, workspace_id, parsed)
    if draft.ends_at <= draft.starts_at:
        raise CampaignError("The campaign must end after it starts.", code="campaigns.invalid_window",
                            details={"starts_at": str(draft.starts_at), "ends_at": str(draft.ends_at)})
    if not str(draft.operator.get("name") or "").strip():
        raise CampaignError("Name the operator: every campaign page shows who runs it.",
                            code="campaigns.operator_required")
    return parsed.model_dump(mode="json")


def create_campaign(conn: Connection, workspace_id: int, draft: Draft, *, created_by: str | None,
                    now: datetime) -> Campaign:
    rules = _check_draft(conn, workspace_id, draft)
    return store.insert_campaign(conn, workspace_id, now=now, token=secrets.token_urlsafe(12), kind=draft.kind.value,
                                 name=draft.name, status=CampaignStatus.DRAFT.value, rules=rules,
                                 operator=draft.operator, starts_at=draft.starts_at, ends_at=draft.ends_at,
                                 budget_fen=draft.budget_fen, created_by=created_by)


def edit_campaign(conn: Connection, workspace_id: int, campaign_id: int, draft: Draft, now: datetime) -> Campaign:
    """A draft changes freely; a live or ended campaign keeps the rules its participants joined under."""
    campaign = store.get_campaign(conn, workspace_id, campaign_id)
    rules = _check_draft(conn, workspace_id, draft)
    if draft.kind is not campaign.kind:
        raise CampaignError("A campaign's kind cannot change; create a new campaign.", code="campaigns.kind_fixed")
    if not store.update_campaign(conn, workspace_id, campaign_id, now, expected_status=CampaignStatus.DRAFT,
                                 name=draft.name, rules=rules, operator=draft.operator, starts_at=draft.starts_at,
                                 ends_at=draft.ends_at, budget_fen=draft.budget_fen):
        raise CampaignError(f"Campaign {campaign_id} is {campaign.status.value}: only a draft can be edited.",
                            code="campaigns.not_draft", status=409)
    return store.get_campaign(conn, workspace_id, campaign_id)


def launch(conn: Connection, workspace_id: int, campaign_id: int, now: datetime) -> Campaign:
    """draft → live, unless compliance finds an error; the budget and tier stocks are set as counters."""
    campaign = store.get_campaign(conn, workspace_id, campaign_id)
    parsed, findings = validate(campaign.kind, campaign.rules)
    check_reward_offers(conn, workspace_id, parsed)  # again: a draft saved before the check existed
    if has_errors(findings):
        raise CampaignError("The rules break a platform rule; fix the findings before launching.",
                            code="campaigns.compliance", details={"findings": [f.to_dict() for f in findings]})
    if not store.update_campaign(conn, workspace_id, campaign_id, now, expected_status=CampaignStatus.DRAFT,
                                 status=CampaignStatus.LIVE.value):
        raise CampaignError(f"Campaign {campaign_id} is {campaign.status.value}, not a draft.",
                            code="campaigns.not_draft", status=409)
    if campaign.budget_fen is not None:
        store.set_counter(conn, workspace_id, campaign_id, BUDGET, campaign.budget_fen)
    start_cursor(conn, workspace_id, now)
    rules = parse_rules(campaign.kind, campaign.rules)
    if isinstance(rules, TaskUnlockRules):
        for index, tier in enumerate(rules.tiers):
            store.set_counter(conn, workspace_id, campaign_id, f"tier:{index}", tier.stock)
    return store.get_campaign(conn, workspace_id, campaign_id)


def end(conn: Connection, workspace_id: int, campaign_id: int, now: datetime) -> Campaign:
    """live → ended now (the worker hands out end-of-campaign prizes)."""
    campaign = store.get_campaign(conn, workspace_id, campaign_id)
    if not store.update_campaign(conn, workspace_id, campaign_id, now, expected_status=CampaignStatus.LIVE,
                                 status=CampaignStatus.ENDED.value, ends_at=min(now, campaign.ends_at)):
        raise CampaignError(f"Campaign {campaign_id} is {campaign.status.value}, not live.",
                            code="campaigns.not_live", status=409)
    return store.get_campaign(conn, workspace_id, campaign_id)


def is_new_customer(created_at: datetime, order_count: int, campaign: Campaign) -> bool:
    """New to the brand: the (live, after merges) profile first appeared during the campaign and has
    never ordered. A person who merges into an older profile takes that profile's age, so is not new."""
    return order_count == 0 and created_at >= campaign.starts_at


def _live(conn: Connection, workspace_id: int, campaign_id: int, now: datetime) -> Campaign:
    campaign = store.get_campaign(conn, workspace_id, campaign_id)
    if not campaign.is_open(now):
        raise NotLive(f"Campaign {campaign_id} is not running now ({campaign.status.value}, "
                      f"{campaign.starts_at:%Y-%m-%d %H:%M} – {campaign.ends_at:%Y-%m-%d %H:%M} UTC).",
                      details={"status": campaign.status.value})
    return campaign


def _newness(conn: Connection, workspace_id: int, profile_id: int, campaign: Campaign) -> bool:
    facts = store.profile_facts(conn, workspace_id, profile_id)
    return facts is not None and is_new_customer(facts[0], facts[1], campaign)


def join(conn: Connection, workspace_id: int, campaign_id: int, profile_id: int, now: datetime) -> Participant:
    """The person takes part (once; joining again returns the same participation and share token)."""
    campaign = _live(conn, workspace_id, campaign_id, now)
    live = resolve_profile_id(conn, workspace_id, profile_id)
    participant, created = store.insert_participant(conn, workspace_id, campaign_id=campaign.id, profile_id=live,
                                                    token=secrets.token_urlsafe(9), new_customer=_newness(
                                                        conn, workspace_id, live, campaign), now=now)
    if created and campaign.kind in STATEFUL:
        open_session(conn, workspace_id, campaign, participant, now)
        participant = store.get_participant(conn, workspace_id, participant.id) or participant
    return participant


@dataclass(frozen=True)
class Arrival:
    """Someone who came through a participant's link: what the page or mini program knows of them."""

    ref: str
    profile_id: int
    device_id: str | None = None
    ip: str | None = None


def record_invite(conn: Connection, workspace_id: int, campaign_id: int, arrival: Arrival, now: datetime) -> Credit:
    """An invitee arrived through ``ref``: one inviter per invitee per campaign (the first link wins)."""
    campaign = _live(conn, workspace_id, campaign_id, now)
    if campaign.kind not in INVITE_KINDS:
        raise CampaignError(f"A {campaign.kind.value} campaign takes helps, not invites.", code="campaigns.wrong_kind")
    return _arrive(conn, workspace_id, campaign, arrival, CreditKind.INVITE, now)


def record_help(conn: Connection, workspace_id: int, campaign_id: int, arrival: Arrival, now: datetime) -> Credit:
    """A friend helps ``ref``'s owner (an assist, a bargain's cut): one help per helper per campaign."""
    campaign = _live(conn, workspace_id, campaign_id, now)
    if campaign.kind not in (CampaignKind.ASSIST, CampaignKind.BARGAIN):
        raise CampaignError(f"A {campaign.kind.value} campaign takes no helps.", code="campaigns.wrong_kind")
    return _arrive(conn, workspace_id, campaign, arrival, CreditKind.HELP, now)


def record_join(conn: Connection, workspace_id: int, campaign_id: int, arrival: Arrival, now: datetime) -> Credit:
    """A friend joins ``ref``'s group buy or claims a share of ``ref``'s split coupon: once per person
    per campaign (one group, one share)."""
    campaign = _live(conn, workspace_id, campaign_id, now)
    if campaign.kind not in (CampaignKind.GROUP_BUY, CampaignKind.SPLIT_COUPON):
        raise CampaignError(f"A {campaign.kind.value} campaign has no groups or pools to join.",
                            code="campaigns.wrong_kind")
    return _arrive(conn, workspace_id, campaign, arrival, CreditKind.JOIN, now)


def leave(conn: Connection, workspace_id: int, campaign_id: int, profile_id: int, now: datetime) -> Credit:
    """A member leaves their open group buy (e.g. cancels the unpaid order): the place is freed for
    someone else and the member-price claim voided (:func:`siyu.growth.take_back.leave_group_buy`).
    Leaving twice answers the same; the leaver does not join this campaign again (one group per person)."""
    campaign = _live(conn, workspace_id, campaign_id, now)
    return leave_group_buy(conn, workspace_id, campaign, resolve_profile_id(conn, workspace_id, profile_id), now)


def check_in(conn: Connection, workspace_id: int, campaign_id: int, profile_id: int, *, today: date,
             make_up_day: date | None, now: datetime) -> dict[str, Any]:
    """Today's check-in (joining on the first), or a make-up card spent on ``make_up_day``."""
    campaign = _live(conn, workspace_id, campaign_id, now)
    if campaign.kind is not CampaignKind.CHECK_IN:
        raise CampaignError(f"A {campaign.kind.value} campaign has no check-ins.", code="campaigns.wrong_kind")
    participant = join(conn, workspace_id, campaign_id, profile_id, now)
    return record_check_in(conn, workspace_id, campaign, participant, today=today, make_up_day=make_up_day, now=now)


def _arrive(conn: Connection, workspace_id: int, campaign: Campaign, arrival: Arrival, kind: CreditKind,
            now: datetime) -> Credit:
    owner = owner_of_ref(conn, workspace_id, campaign, arrival.ref)
    if owner is None:
        raise CampaignError("That share link belongs to nobody in this campaign.", code="campaigns.unknown_ref",
                            status=404, details={"ref": arrival.ref})
    person = resolve_profile_id(conn, workspace_id, arrival.profile_id)
    rules = parse_rules(campaign.kind, campaign.rules)
    key = f"{kind.value}:{person}"
    row, created = store.insert_credit(conn, workspace_id, now=now, campaign_id=campaign.id,
                                       participant_id=owner.id, profile_id=person, kind=kind.value,
                                       unique_key=key, status=CreditStatus.PENDING.value, new_customer=0)
    if not created:
        return row
    assessment = assess_credit(conn, workspace_id, campaign, owner, row, device_id=arrival.device_id, ip=arrival.ip,
                               now=now, helper_new_only=isinstance(rules, AssistRules)
                               and rules.helper_eligibility == "new_only")
    store.note_assessment(conn, workspace_id, row.id, risk_score=assessment.risk_score, reasons=assessment.reasons,
                          decision_id=assessment.decision_id, new_customer=assessment.invitee_is_new, now=now)
    row = store.get_credit(conn, workspace_id, row.id) or row  # with the verdict's newness (a bargain's bonus cut)
    match assessment.verdict:
        case Verdict.DENY:
            store.move_credit(conn, workspace_id, row.id, from_status=(CreditStatus.PENDING,),
                              to=CreditStatus.DENIED, now=now)
        case Verdict.REVIEW:
            store.move_credit(conn, workspace_id, row.id, from_status=(CreditStatus.PENDING,),
                              to=CreditStatus.HELD, now=now)
        case Verdict.ALLOW:
            if not needs_qualifying(campaign):
                credit(conn, workspace_id, campaign, row, now, from_status=(CreditStatus.PENDING,))
        case _:
            assert_never(assessment.verdict)
    found = store.get_credit(conn, workspace_id, row.id)
    assert found is not None
    return found


def owner_of_ref(conn: Connection, workspace_id: int, campaign: Campaign, ref: str) -> Participant | None:
    """Whose link ``ref`` is: a participant's share token, or the token of their poster's link (the
    poster's QR leads through ``/s/<token>`` to this page with ``ref=<token>``)."""
    owner = store.participant_by_token(conn, workspace_id, campaign.id, ref[:32])
    template_id = campaign.rules.get("poster_template_id")
    if owner is not None or template_id is None:
        return owner
    from siyu.acquisition.posters_store import link_by_token

    link = link_by_token(conn, ref[:64])
    if link is None or link["workspace_id"] != workspace_id or link["template_id"] != template_id:
        return None
    return store.participant_of(conn, workspace_id, campaign.id, resolve_profile_id(conn, workspace_id,
                                                                                    link["profile_id"]))
