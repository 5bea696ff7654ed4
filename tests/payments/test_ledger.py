"""The reward ledger on both databases: a reward is decided once, paid once, and an answer that was
lost, hidden behind SYSTEMERROR or cut off by a crash is queried before anything is sent again."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest

from siyu import clock
from siyu.db.engine import read, write
from siyu.payments import rules, store
from siyu.payments.errors import PaymentsError
from siyu.payments.ledger import decide_reward, send_due
from siyu.payments.models import RewardStatus
from siyu.payments.wechat_pay import WeChatPayCash
from tests.payments.pay import merchant, person, workspace_row

NOW = datetime(2026, 11, 30, 2, 0, tzinfo=UTC)  # 10:00 in Beijing


def _decide(runtime, workspace, profile_id: int, key: str, **more):  # noqa: ANN001, ANN202
    values = {"amount_fen": 188, "reason": "channel_code:1", "wishing": "谢谢你来", "act_name": "天猫包裹卡",
              "remark": "包裹卡红包", **more}
    with write(runtime.engine) as conn:
        return decide_reward(conn, workspace.id, key=key, profile_id=profile_id, now=clock.now(), **values)


def _reward(runtime, workspace, reward_id: int):  # noqa: ANN001, ANN202
    with read(runtime.engine) as conn:
        return store.get_reward(conn, workspace.id, reward_id)


def _send(runtime, workspace) -> dict[str, int]:  # noqa: ANN001
    return send_due(runtime.engine, workspace_row(runtime, workspace), now=clock.now())


def test_a_reward_is_decided_once_per_key_and_paid_once(runtime, client, workspace) -> None:  # noqa: ANN001
    clock.freeze(NOW)
    with merchant(runtime, workspace) as pay:
        buyer = person(client, workspace, "oBuyer1", "buyer-1")
        reward, created = _decide(runtime, workspace, buyer, "arrival:1")
        again, created_again = _decide(runtime, workspace, buyer, "arrival:1")
        assert (created, created_again, again.id, reward.status) == (True, False, reward.id, RewardStatus.DECIDED)
        assert _send(runtime, workspace) == {"sent": 1}
        assert _send(runtime, workspace) == {}
        paid = _reward(runtime, workspace, reward.id)
        assert (paid.status, paid.recipient, paid.attempts) == (RewardStatus.SENT, "oBuyer1", 1)
        assert paid.bill_no == rules.bill_number("1900000109", NOW.date(), reward.id)
        assert [(p.openid, p.amount_fen, p.bill_no) for p in pay.paid] == [("oBuyer1", 188, paid.bill_no)]
        assert paid.provider_id == pay.paid[0].send_listid


def test_amounts_outside_wechat_s_rules_are_refused_before_anything_is_written(runtime, workspace) -> None:  # noqa: ANN001
    with pytest.raises(PaymentsError) as refused:
        _decide(runtime, workspace, 1, "k", amount_fen=50)
    assert refused.value.code == "payments.invalid_amount"
    with read(runtime.engine) as conn:
        assert store.list_rewards(conn, workspace.id) == []


def test_a_budget_stops_issuance_when_spent_and_a_failure_gives_its_amount_back(runtime, client,  # noqa: ANN001
                                                                                 workspace) -> None:
    clock.freeze(NOW)
    with merchant(runtime, workspace) as pay:
        people = [person(client, workspace, f"oB{n}", f"b-{n}") for n in range(4)]
        decided = [_decide(runtime, workspace, p, f"k{n}", budget_fen=500)[0] for n, p in enumerate(people[:3])]
        assert [r.status for r in decided] == [RewardStatus.DECIDED, RewardStatus.DECIDED, RewardStatus.REFUSED]
        assert decided[2].error_code == "payments.budget_spent"
        pay.fail_next("SENDNUM_LIMIT")  # the first send is refused for good: its 188 fen come back
        assert _send(runtime, workspace) == {"failed": 1, "sent": 1}
        fourth, _ = _decide(runtime, workspace, people[3], "k3", budget_fen=500)
        assert fourth.status is RewardStatus.DECIDED
        with read(runtime.engine) as conn:
            assert store.list_budgets(conn, workspace.id)[0] | {"updated_at": None} == {
                "reason": "channel_code:1", "budget_fen": 500, "committed_fen": 376, "left_fen": 124,
                "updated_at": None}


def test_wechat_s_daily_limit_per_person_is_refused_here(runtime, client, workspace) -> None:  # noqa: ANN001
    clock.freeze(NOW)
    buyer = person(client, workspace, "oDaily", "daily")
    statuses = [_decide(runtime, workspace, buyer, f"d{n}")[0].status for n in range(11)]
    assert statuses == [RewardStatus.DECIDED] * 10 + [RewardStatus.REFUSED]
    clock.advance(timedelta(hours=14))  # past midnight in Beijing: a new day
    assert _decide(runtime, workspace, buyer, "d11")[0].status is RewardStatus.DECIDED


def test_systemerror_after_paying_is_queried_not_resent(runtime, client, workspace) -> None:  # noqa: ANN001
    clock.freeze(NOW)
    with merchant(runtime, workspace) as pay:
        reward, _ = _decide(runtime, workspace, person(client, workspace, "oSys", "sys"), "sys")
        pay.fail_next("SYSTEMERROR", paid=True)
        assert _send(runtime, workspace) == {"uncertain": 1}
        assert _reward(runtime, workspace, reward.id).error_code == "SYSTEMERROR"
        assert _send(runtime, workspace) == {}  # not due yet
        clock.advance(timedelta(seconds=31))
        assert _send(runtime, workspace) == {"queried_sent": 1}
        sends = [p for p, _ in pay.requests if p.endswith("sendredpack")]
        assert len(pay.paid) == 1 and len(sends) == 1
        assert _reward(runtime, workspace, reward.id).status is RewardStatus.SENT


def test_a_lost_answer_is_queried_and_a_packet_never_made_is_sent_again_with_the_same_bill(  # noqa: ANN001
        runtime, client, workspace) -> None:
    clock.freeze(NOW)
    with merchant(runtime, workspace) as pay:
        lost, _ = _decide(runtime, workspace, person(client, workspace, "oLost", "lost"), "lost")
        never, _ = _decide(runtime, workspace, person(client, workspace, "oNever", "never"), "never")
        pay.drop_next(paid=True)  # the first send pays and its answer is lost
        pay.fail_next("SYSTEMERROR", paid=False)  # the second is not paid
        assert _send(runtime, workspace) == {"uncertain": 2}
        clock.advance(timedelta(minutes=1))
        assert _send(runtime, workspace) == {"queried_sent": 1, "sent": 1}
        assert sorted(p.openid for p in pay.paid) == ["oLost", "oNever"]
        bills = [f["mch_billno"] for p, f in pay.requests if p.endswith("sendredpack") and f["re_openid"] == "oNever"]
        assert len(bills) == 2 and bills[0] == bills[1] == _reward(runtime, workspace, never.id).bill_no
        assert _reward(runtime, workspace, lost.id).attempts == 1


def test_a_low_balance_waits_and_pays_with_the_same_bill_later(runtime, client, workspace) -> None:  # noqa: ANN001
    clock.freeze(NOW)
    with merchant(runtime, workspace, balance_fen=100) as pay:
        reward, _ = _decide(runtime, workspace, person(client, workspace, "oPoor", "poor"), "poor")
        assert _send(runtime, workspace) == {"decided": 1}
        waiting = _reward(runtime, workspace, reward.id)
        assert (waiting.status, waiting.error_code) == (RewardStatus.DECIDED, "NOTENOUGH")
        pay.balance_fen = 10_000
        clock.advance(timedelta(hours=1, seconds=1))
        assert _send(runtime, workspace) == {"sent": 1}
        assert _reward(runtime, workspace, reward.id).bill_no == waiting.bill_no and len(pay.paid) == 1


class Interrupted(BaseException):
    """The worker process dying right after the provider paid, before siyu wrote the answer down."""


class DiesAfterPaying:
    def __init__(self, real: WeChatPayCash) -> None:
        self.real, self.name, self.appid, self.mch_id = real, real.name, real.appid, real.mch_id

    def send(self, **packet):  # noqa: ANN003, ANN201
        self.real.send(**packet)
        raise Interrupted

    def query(self, bill_no: str):  # noqa: ANN201
        return self.real.query(bill_no)


def test_a_worker_interrupted_mid_send_never_pays_twice(runtime, client, workspace) -> None:  # noqa: ANN001
    clock.freeze(NOW)
    with merchant(runtime, workspace) as pay:
        reward, _ = _decide(runtime, workspace, person(client, workspace, "oCrash", "crash"), "crash")
        ws = workspace_row(runtime, workspace)
        with pytest.raises(Interrupted):
            send_due(runtime.engine, ws, DiesAfterPaying(WeChatPayCash.from_settings(ws.settings)), now=clock.now())
        assert _reward(runtime, workspace, reward.id).status is RewardStatus.SENDING and len(pay.paid) == 1
        assert _send(runtime, workspace) == {}  # inside the lease: a send may still be under way
        clock.advance(rules.SENDING_LEASE + timedelta(seconds=1))
        assert _send(runtime, workspace) == {"reclaimed": 1, "queried_sent": 1}
        assert len(pay.paid) == 1 and len([p for p, _ in pay.requests if p.endswith("sendredpack")]) == 1
        assert _reward(runtime, workspace, reward.id).status is RewardStatus.SENT


def test_two_workers_at_once_send_one_packet(runtime, client, workspace) -> None:  # noqa: ANN001
    clock.freeze(NOW)
    with merchant(runtime, workspace) as pay:
        _decide(runtime, workspace, person(client, workspace, "oRace", "race"), "race")
        results: list[dict[str, int]] = []
        threads = [threading.Thread(target=lambda: results.append(_send(runtime, workspace))) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert len(pay.paid) == 1
        assert sorted(k for r in results for k in r) in (["sent"], ["sent", "skipped"])


def test_a_person_without_an_openid_waits_seven_days_then_fails(runtime, client, workspace) -> None:  # noqa: ANN001
    clock.freeze(NOW)
    with merchant(runtime, workspace) as pay:
        reward, _ = _decide(runtime, workspace, person(client, workspace, None, "no-openid"), "wait", budget_fen=1000)
        assert _send(runtime, workspace) == {"waiting": 1}
        assert _reward(runtime, workspace, reward.id).error_code == "payments.no_openid"
        clock.advance(rules.WAIT_FOR_OPENID)
        assert _send(runtime, workspace) == {"failed": 1}
        assert pay.requests == []
        with read(runtime.engine) as conn:
            assert store.list_budgets(conn, workspace.id)[0]["committed_fen"] == 0


def test_another_workspace_sees_nothing(runtime, client, workspace, other_workspace) -> None:  # noqa: ANN001
    clock.freeze(NOW)
    _decide(runtime, workspace, person(client, workspace, "oMine", "mine"), "mine")
    with read(runtime.engine) as conn:
        assert store.list_rewards(conn, other_workspace.id) == []
    assert client.get("/api/rewards", headers=other_workspace.bearer()).json() == []
