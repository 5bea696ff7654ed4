"""Claims taken together (siyu.offers.batch) answer exactly as one-by-one claims would: the same
grants and refusals with the same messages, in the same order of checks — and under concurrency with
other groups and single claims on their own connections, exactly the stock is granted and nobody
passes the limit. Both databases."""

from __future__ import annotations

import threading
from collections import Counter
from concurrent.futures import Future
from typing import Any

from sqlalchemy import select

from siyu.db.engine import read, write
from siyu.db.tables import offer_holdings
from siyu.errors import SiyuError
from siyu.offers import store
from siyu.offers.writer import ClaimRequest, claim_all, claim_one, write_claims
from tests.journeys.test_merges import _anonymous, _merge, _owner
from tests.offers.helpers import claim, make_offer, offer


def _people(client: Any, workspace: Any, prefix: str, count: int) -> list[int]:
    batch = [{"type": "identify", "userId": f"{prefix}{n}"} for n in range(count)]
    sent = client.post("/v1/batch", auth=(workspace.write_key, ""), json={"batch": batch})
    assert sent.status_code == 200, sent.text
    return [_owner(client, workspace, "user_id", f"{prefix}{n}") for n in range(count)]


def _shape(answer: Any) -> tuple:
    """What must agree between the paths (codes and ids are drawn anew in each)."""
    if isinstance(answer, SiyuError):
        details = {k: v for k, v in (answer.details or {}).items() if k not in ("offer_id", "idempotency_key")}
        message = answer.message.replace(str(answer.details.get("profile_id", "-")), "P")
        return ("refused", type(answer).__name__, answer.code, message, details)
    return ("granted", answer["status"], answer["idempotency_key"][2:], answer["valid_until"] is not None)


def _group(workspace: Any, offer_id: int, people: list[int], merged_away: int, prefix: str) -> list[ClaimRequest]:
    a, b, c, d, e, f, g, h = people
    jobs = [(a, "a"), (b, "b"),
            (987_654_321, "nobody"), (c, ""),  # no such person; a key too short
            (merged_away, "m"),  # a merged-away id claims for its survivor (c)
            (d, "d"), (g, "g1"),  # g holds one already: the limit (1)
            (e, "e"), (h, "h"),  # the stock (7) runs out at h
            (f, "old"),  # a key answered in an earlier transaction: its first answer
            # second attempts in the group, taken after the others (one order concurrent requests may have):
            (a, "a2"), (b, "b"), (c, "c2"), (e, "old")]
    return [ClaimRequest(workspace.id, offer_id, person, f"{prefix}{key}" if key else "") for person, key in jobs]


def test_a_group_answers_as_one_claim_after_another_would(runtime: Any, client: Any, workspace: Any) -> None:
    shapes = []
    for prefix in ("t-", "o-"):  # together, then one by one, each on its own offer and people
        people = _people(client, workspace, f"{prefix}p", 8)
        merged_away = _anonymous(client, workspace, f"{prefix}anon", "Product Viewed")
        _merge(client, workspace, f"{prefix}p2", f"{prefix}anon")
        coupon = make_offer(runtime, workspace, stock=7, per_person_limit=1, valid_days=7)
        assert not isinstance(claim(runtime, workspace, coupon.id, people[5], f"{prefix}old"), str)
        assert not isinstance(claim(runtime, workspace, coupon.id, people[6], f"{prefix}g0"), str)
        requests = _group(workspace, coupon.id, people, merged_away, prefix)
        with write(runtime.engine) as conn:
            answers = (claim_all(conn, requests) if prefix == "t-"
                       else [claim_one(conn, request) for request in requests])
        shapes.append([_shape(a) for a in answers])
        after = offer(runtime, workspace, coupon.id)
        assert (after.claimed, after.remaining) == (7, 0)
        granted = {a["profile_id"] for a in answers if isinstance(a, dict)}
        assert granted == {people[n] for n in (0, 1, 2, 3, 4, 5)}
        with read(runtime.engine) as conn:
            held = dict(conn.execute(select(offer_holdings.c.profile_id, offer_holdings.c.held).where(
                offer_holdings.c.workspace_id == workspace.id, offer_holdings.c.offer_id == coupon.id)).all())
        assert {p: n for p, n in held.items() if n} == {people[n]: 1 for n in range(7)}
    together, one_by_one = shapes
    assert [s[0][0] for s in together] == ["g", "g", "r", "r", "g", "g", "r", "g", "r", "g", "r", "g", "r", "r"]
    assert together == one_by_one
    assert together[2][2:4] == ("profiles.not_found", "No profile P in this workspace.")
    assert [together[n][2] for n in (6, 8, 10, 12, 13)] == [
        "offers.limit_reached", "offers.out_of_stock", "offers.out_of_stock", "offers.out_of_stock",
        "offers.key_reused"]


def test_an_ended_or_sold_out_offer_refuses_a_whole_group_and_remembers_each_answer(
        runtime: Any, client: Any, workspace: Any) -> None:
    people = _people(client, workspace, "so", 3)
    coupon = make_offer(runtime, workspace, stock=1, per_person_limit=1)
    first = [ClaimRequest(workspace.id, coupon.id, p, f"so-{n}") for n, p in enumerate(people)]
    with write(runtime.engine) as conn:
        answers = claim_all(conn, first)
    assert [a["status"] if isinstance(a, dict) else a.code for a in answers] == [
        "claimed", "offers.out_of_stock", "offers.out_of_stock"]
    with write(runtime.engine) as conn:  # sold out when read: one insert refuses them all
        again = claim_all(conn, [*first, ClaimRequest(workspace.id, coupon.id, people[1], "so-new")])
    assert [a["code"] if isinstance(a, dict) else a.code for a in again] == [
        answers[0]["code"], "offers.out_of_stock", "offers.out_of_stock", "offers.out_of_stock"]
    ended = client.post(f"/api/offers/{coupon.id}/end", headers=workspace.bearer())
    assert ended.status_code == 200, ended.text
    with write(runtime.engine) as conn:
        late = claim_all(conn, [ClaimRequest(workspace.id, coupon.id, people[2], "so-late")])
    assert isinstance(late[0], SiyuError) and late[0].code == "offers.expired"
    with read(runtime.engine) as conn:
        assert store.claim_by_key(conn, workspace.id, "so-late").error_code == "offers.expired"


def test_offers_this_path_does_not_take_are_claimed_one_by_one(runtime: Any, client: Any, workspace: Any) -> None:
    people = _people(client, workspace, "pt", 2)
    points = make_offer(runtime, workspace, name="100 积分", kind="points", points=100, amount_fen=None, stock=5)
    pooled = make_offer(runtime, workspace, stock=5)
    added = client.post(f"/api/offers/{pooled.id}/codes", headers=workspace.bearer(),
                        json={"count": 2})
    assert added.status_code in (200, 201), added.text
    with write(runtime.engine) as conn:
        answers = claim_all(conn, [ClaimRequest(workspace.id, points.id, people[0], "pt-1"),
                                   ClaimRequest(workspace.id, pooled.id, people[0], "pool-1"),
                                   ClaimRequest(workspace.id, pooled.id, people[1], "pool-2")])
    assert answers[0]["points"] == 100  # the points offer's claim gave points (the one-by-one path)
    with read(runtime.engine) as conn:
        assert store.pool_counts(conn, workspace.id, pooled.id) == {"pool_size": 2, "pool_free": 0}  # drawn from it


def test_a_claim_with_a_face_value_of_its_own_is_claimed_one_by_one(runtime: Any, client: Any,
                                                                     workspace: Any) -> None:
    """The grouped path writes the offer's value on every row: a claim with its own goes the way that
    checks and costs it (siyu.offers.service.claim_offer), in the same transaction."""
    people = _people(client, workspace, "fv", 3)
    coupon = make_offer(runtime, workspace, amount_fen=1000, stock=5)
    with write(runtime.engine) as conn:
        answers = claim_all(conn, [ClaimRequest(workspace.id, coupon.id, people[0], "fv-plain"),
                                   ClaimRequest(workspace.id, coupon.id, people[1], "fv-own", amount_fen=733),
                                   ClaimRequest(workspace.id, coupon.id, people[2], "fv-over", amount_fen=0)])
    assert (answers[0]["amount_fen"], answers[0]["cost_fen"]) == (None, 1000)
    assert (answers[1]["amount_fen"], answers[1]["cost_fen"]) == (733, 733)
    assert isinstance(answers[2], SiyuError) and answers[2].code == "offers.face_value"
    assert offer(runtime, workspace, coupon.id).claimed == 2


def test_groups_racing_single_claims_grant_exactly_the_stock(runtime: Any, client: Any, workspace: Any) -> None:
    people = _people(client, workspace, "race", 12)
    coupon = make_offer(runtime, workspace, stock=17, per_person_limit=2)
    jobs = [ClaimRequest(workspace.id, coupon.id, people[n % 12], f"race-{n}") for n in range(96)]
    answers: list[Any] = []
    lock = threading.Lock()
    start = threading.Barrier(6)

    def in_groups(share: list[ClaimRequest]) -> None:  # each thread its own transactions, 4 claims each
        start.wait()
        for first in range(0, len(share), 4):
            group = [(request, Future()) for request in share[first:first + 4]]
            write_claims(runtime.engine, group)
            with lock:
                answers.extend(future.result(timeout=60) for _, future in group)

    def one_by_one(share: list[ClaimRequest]) -> None:
        start.wait()
        for request in share:
            outcome = claim(runtime, workspace, coupon.id, request.profile_id, request.idempotency_key)
            with lock:
                answers.append(outcome.to_dict() if not isinstance(outcome, str) else outcome)

    threads = [threading.Thread(target=in_groups if n < 4 else one_by_one, args=(jobs[n::6],)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert len(answers) == 96
    won = [a for a in answers if isinstance(a, dict)]
    refused = Counter(a.code if isinstance(a, SiyuError) else a for a in answers if not isinstance(a, dict))
    assert len(won) == 17 and set(refused) <= {"offers.out_of_stock", "offers.limit_reached"}
    per_person = Counter(w["profile_id"] for w in won)
    assert max(per_person.values()) <= 2 and len({w["code"] for w in won}) == 17
    assert (offer(runtime, workspace, coupon.id).claimed, offer(runtime, workspace, coupon.id).remaining) == (17, 0)
    with read(runtime.engine) as conn:
        held = dict(conn.execute(select(offer_holdings.c.profile_id, offer_holdings.c.held).where(
            offer_holdings.c.workspace_id == workspace.id, offer_holdings.c.offer_id == coupon.id)).all())
    assert {p: n for p, n in held.items() if n} == dict(per_person)
