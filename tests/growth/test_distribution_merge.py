"""Distribution follows a profile merge (both databases, through an identify that links two profiles):
two promoter records of one person become one — the older keeps the commissions, touches and parent of
both, the other stays disabled and detached — and a buyer's commissions follow the buyer."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

from siyu import clock
from siyu.growth.distribution_merge import kept_promoter
from siyu.runtime import Runtime
from tests.growth.test_distribution_steps import follow, ledger, order, person, process, promoter, staff_member
from tests.journeys.test_merges import _merge, _owner

T0 = datetime(2026, 11, 2, 4, 0, tzinfo=UTC)
PLAN = {"levels": [{"default_rate": "0.10"}, {"default_rate": "0.02"}], "attribution_days": 7, "refund_days": 7}


def _anonymous_profile(client: Any, workspace: Any, anonymous_id: str) -> int:
    sent = client.post("/v1/identify", auth=(workspace.write_key, ""),
                       json={"anonymousId": anonymous_id, "timestamp": clock.now().isoformat()})
    assert sent.status_code == 200, sent.text
    return _owner(client, workspace, "anonymous_id", anonymous_id)


def _promoters(client: Any, workspace: Any) -> dict[int, dict[str, Any]]:
    answer = client.get("/api/promoters", headers=workspace.bearer())
    assert answer.status_code == 200, answer.text
    items = answer.json() if isinstance(answer.json(), list) else answer.json()["items"]
    return {p["id"]: p for p in items}


def test_two_promoter_records_of_one_person_become_one(runtime: Runtime, client: Any, workspace: Any) -> None:
    clock.freeze(T0)
    assert client.put("/api/commissions/plan", headers=workspace.bearer(), json=PLAN).status_code == 200
    lead = promoter(client, workspace, kind="staff", staff_id=staff_member(client, workspace, "li.na", "李娜"),
                    landing_url="https://shop.example.com/home")
    survivor = person(client, workspace, "koc-main")
    older = promoter(client, workspace, kind="koc", profile_id=survivor)
    second = _anonymous_profile(client, workspace, "koc-second-phone")
    newer = promoter(client, workspace, kind="koc", profile_id=second, parent_id=lead["id"])
    buyers = []
    for number, token in enumerate((older["token"], newer["token"]), start=1):
        ref, _, _ = follow(client, token)
        buyers.append(person(client, workspace, f"buyer-{number}"))
        clock.advance(timedelta(hours=1))
        order(client, workspace, f"T{number}", 100 * number, user_id=f"buyer-{number}", siyu_ref=ref)
    assert process(client, workspace)["written"] == 3  # 10 + 20 to the KOCs, 0.4 to the lead
    before = {(r["promoter_id"], r["level"]): r["amount_fen"] for r in ledger(client, workspace)}
    assert before == {(older["id"], 1): 1000, (newer["id"], 1): 2000, (lead["id"], 2): 400}

    _merge(client, workspace, "koc-main", "koc-second-phone")

    after = sorted((r["order_id"], r["promoter_id"], r["level"], r["amount_fen"]) for r in ledger(client, workspace))
    assert after == [("T1", older["id"], 1, 1000), ("T2", lead["id"], 2, 400), ("T2", older["id"], 1, 2000)]
    found = _promoters(client, workspace)
    assert (found[older["id"]]["profile_id"], found[older["id"]]["parent_id"]) == (survivor, lead["id"])
    assert (found[newer["id"]]["profile_id"], found[newer["id"]]["status"]) == (None, "disabled")
    balances = {row["promoter_id"]: row for row in client.get(
        "/api/commissions/balances", headers=workspace.bearer()).json()}
    assert balances[older["id"]]["pending"] == 3000

    ref, _, _ = follow(client, older["token"])  # the kept link goes on earning
    clock.advance(timedelta(hours=1))
    order(client, workspace, "T3", 50, user_id="buyer-1", siyu_ref=ref)
    assert process(client, workspace)["written"] >= 1


def test_a_buyer_s_commissions_follow_the_buyer(runtime: Runtime, client: Any, workspace: Any) -> None:
    clock.freeze(T0)
    assert client.put("/api/commissions/plan", headers=workspace.bearer(), json=PLAN).status_code == 200
    koc = promoter(client, workspace, kind="koc", profile_id=person(client, workspace, "koc-b"))
    buyer = person(client, workspace, "buyer-b")
    browser = _anonymous_profile(client, workspace, "buyer-b-browser")
    ref, _, _ = follow(client, koc["token"])
    clock.advance(timedelta(hours=1))
    order(client, workspace, "B1", 100, anonymous_id="buyer-b-browser", siyu_ref=ref)
    assert process(client, workspace)["written"] == 1
    assert {r["buyer_profile_id"] for r in ledger(client, workspace)} == {browser}
    _merge(client, workspace, "buyer-b", "buyer-b-browser")
    assert {r["buyer_profile_id"] for r in ledger(client, workspace)} == {buyer}


def test_an_active_promoter_is_kept_over_a_disabled_one_then_staff_over_koc_then_the_older() -> None:
    def record(id_: int, kind: str = "koc", status: str = "active") -> Any:
        return SimpleNamespace(id=id_, kind=kind, status=status)

    assert kept_promoter(record(1, status="disabled"), record(2))[0].id == 2
    assert kept_promoter(record(1), record(2, kind="staff"))[0].id == 2
    assert kept_promoter(record(2), record(1)) == (record(1), record(2))
