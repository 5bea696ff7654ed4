"""Claims grouped in one transaction: grants and refusals of a group commit together and answer as
one by one would; a claim failing otherwise is found and fails alone, the others keep their answers."""

from __future__ import annotations

from concurrent.futures import Future
from typing import Any

from siyu.errors import SiyuError
from siyu.offers.writer import ClaimRequest, claim_one, write_claims
from tests.offers.helpers import claim, make_offer, offer


def _people(client: Any, workspace: Any, count: int) -> list[int]:
    ids = []
    for number in range(count):
        client.post("/v1/identify", auth=(workspace.write_key, ""), json={"userId": f"w{number}"})
        found = client.get("/api/profiles/lookup", headers=workspace.bearer(),
                           params={"type": "user_id", "value": f"w{number}"})
        ids.append(found.json()["id"])
    return ids


def test_a_group_grants_up_to_the_stock_and_its_refusals_answer_the_same_again(runtime, client,  # noqa: ANN001
                                                                               workspace) -> None:
    coupon = make_offer(runtime, workspace, stock=3)
    people = _people(client, workspace, 5)
    group = [(ClaimRequest(workspace.id, coupon.id, person, f"g-{person}"), Future()) for person in people]
    write_claims(runtime.engine, group)
    answers = [future.result(timeout=0) for _, future in group]
    assert [isinstance(a, dict) for a in answers] == [True, True, True, False, False]
    assert {a.code for a in answers if isinstance(a, SiyuError)} == {"offers.out_of_stock"}
    assert (offer(runtime, workspace, coupon.id).claimed, len({a["code"] for a in answers[:3]})) == (3, 3)
    assert claim(runtime, workspace, coupon.id, people[4], f"g-{people[4]}") == "offers.out_of_stock"  # same key


def test_a_claim_failing_otherwise_fails_alone(runtime, client, workspace) -> None:  # noqa: ANN001
    coupon = make_offer(runtime, workspace, stock=10)
    people = _people(client, workspace, 4)

    def flaky(conn: Any, request: ClaimRequest) -> Any:
        if request.profile_id == people[1]:
            raise RuntimeError("a bug in one claim")
        return claim_one(conn, request)

    group = [(ClaimRequest(workspace.id, coupon.id, person, f"f-{person}"), Future()) for person in people]
    write_claims(runtime.engine, group, flaky)
    failed = group[1][1].exception(timeout=0)
    assert isinstance(failed, RuntimeError)
    assert all(isinstance(future.result(timeout=0), dict) for n, (_, future) in enumerate(group) if n != 1)
    assert offer(runtime, workspace, coupon.id).claimed == 3  # the group was rolled back and stored again
