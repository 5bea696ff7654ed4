"""Rewards of other kinds: points become a ``Points Earned`` event, a red packet a decided reward in
the payments ledger, a physical gift a claim with delivery details and a fulfilment."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from siyu import clock
from siyu.db.engine import read, write
from siyu.db.tables import events
from siyu.offers import service
from siyu.offers.errors import OffersError
from siyu.offers.models import Fulfilment
from siyu.payments import store as payments_store
from siyu.payments.models import RewardStatus
from tests.offers.helpers import claim, make_offer


def _events(runtime, workspace, profile_id: int) -> list[tuple[str, dict]]:  # noqa: ANN001
    with read(runtime.engine) as conn:
        rows = conn.execute(select(events.c.name, events.c.properties).where(
            events.c.workspace_id == workspace.id, events.c.profile_id == profile_id).order_by(events.c.id)).all()
    return [(name, props) for name, props in rows]


def test_points_are_recorded_and_told_to_the_timeline_once(runtime, workspace) -> None:  # noqa: ANN001
    offer = make_offer(runtime, workspace, kind="points", points=200, amount_fen=None, per_person_limit=2)
    got = claim(runtime, workspace, offer.id, 41, "p1")
    assert claim(runtime, workspace, offer.id, 41, "p1").id == got.id  # a retry gives nothing twice
    assert got.points == 200
    with write(runtime.engine) as conn:
        service.void_claim(conn, workspace.id, got.id, reason="fraud", now=clock.now())
    told = _events(runtime, workspace, 41)
    assert [name for name, _ in told] == ["Points Earned", "Points Revoked"]
    assert told[0][1]["points"] == 200 and told[0][1]["claim_id"] == got.id


def test_a_red_packet_is_decided_in_the_payments_ledger(runtime, workspace) -> None:  # noqa: ANN001
    offer = make_offer(runtime, workspace, kind="red_packet", amount_fen=188, name="邀请红包")
    got = claim(runtime, workspace, offer.id, 42, "r1")
    with read(runtime.engine) as conn:
        reward = payments_store.get_reward(conn, workspace.id, got.reward_id)
    assert (reward.amount_fen, reward.status, reward.reason) == (188, RewardStatus.DECIDED, f"offer:{offer.id}")
    assert reward.idempotency_key == f"offers:claim:{got.id}"
    with pytest.raises(OffersError) as refused, write(runtime.engine) as conn:
        service.void_claim(conn, workspace.id, got.id, reason="x", now=clock.now())
    assert refused.value.code == "offers.not_voidable"


def test_a_physical_gift_keeps_delivery_details_and_moves_through_fulfilment(runtime, workspace) -> None:  # noqa: ANN001
    offer = make_offer(runtime, workspace, kind="physical_gift", gift_name="帆布袋", amount_fen=None)
    got = claim(runtime, workspace, offer.id, 43, "g1")
    assert (got.fulfilment, got.delivery) == (Fulfilment.PENDING, None)
    with pytest.raises(OffersError), write(runtime.engine) as conn:
        service.set_fulfilment(conn, workspace.id, got.id, fulfilment_status=Fulfilment.SHIPPED, now=clock.now())
    with pytest.raises(OffersError) as bad, write(runtime.engine) as conn:
        service.set_fulfilment(conn, workspace.id, got.id, fulfilment_status=Fulfilment.PENDING, now=clock.now(),
                               delivery={"name": "王小明", "phone": "call me", "address": "上海市"})
    assert bad.value.details == {"field": "delivery.phone"}
    delivery = {"name": "王小明", "phone": "13800138000", "address": "上海市静安区南京西路 1 号"}
    with write(runtime.engine) as conn:
        shipped = service.set_fulfilment(conn, workspace.id, got.id, fulfilment_status=Fulfilment.SHIPPED,
                                         delivery=delivery, now=clock.now())
    assert (shipped.fulfilment, shipped.delivery) == (Fulfilment.SHIPPED, delivery)
    with_address = claim(runtime, workspace, offer.id, 44, "g2", delivery=delivery)
    assert with_address.delivery == delivery
