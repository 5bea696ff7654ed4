"""The claims fast path answers exactly as the route would: the same claim, the same refusals with
the same codes and messages, the same errors for a bad key, a role that may not claim, a body that
does not validate or a NUL — those it hands on to the route unchanged, body and all."""

from __future__ import annotations

from typing import Any

import pytest

from siyu.api.nul import RejectNulCharacters
from siyu.offers.api import router
from siyu.offers.fast_path import ClaimFastPath
from siyu.offers.writer import stop_writer
from siyu.runtime import Runtime
from siyu.workspaces.models import Role
from tests.offers.helpers import make_offer
from tests.offers.test_batch import _people
from tests.routes_only import routes_only as only_the_routes
from tests.workspaces.test_api import key


@pytest.fixture
def routes_only(runtime: Runtime) -> Any:
    """The offers routes with nothing in front of them but the NUL check."""
    with only_the_routes(runtime, router, stop_writer, RejectNulCharacters) as plain:
        yield plain


def _cases(workspace: Any, runtime: Runtime, people: list[int], run: str) -> list[tuple[dict, Any]]:
    """(headers, body) pairs; the body as bytes where it must be sent raw."""
    owner = {**workspace.bearer(), "content-type": "application/json"}
    analyst = {**key(runtime, workspace.id, Role.ANALYST), "content-type": "application/json"}
    return [
        (owner, {"profile_id": people[0], "idempotency_key": f"{run}-1"}),  # granted
        (owner, {"profile_id": people[0], "idempotency_key": f"{run}-1"}),  # the same key: the same claim
        (owner, {"profile_id": people[0], "idempotency_key": f"{run}-2"}),  # over the limit
        (owner, {"profile_id": people[1], "idempotency_key": f"{run}-3", "channel": "tmall"}),  # the last unit
        (owner, {"profile_id": people[2], "idempotency_key": f"{run}-4"}),  # sold out
        (owner, {"profile_id": 987_654_321, "idempotency_key": f"{run}-5"}),  # nobody
        (owner, {"profile_id": people[2], "idempotency_key": ""}),  # invalid body
        (owner, b'{"profile_id": 1, "idempotency_key": "a\\u0000b"}'),  # a NUL
        (owner, b"{not json"),
        (analyst, {"profile_id": people[2], "idempotency_key": f"{run}-6"}),  # may not act on people
        ({"authorization": "Bearer sk_nope", "content-type": "application/json"},
         {"profile_id": people[2], "idempotency_key": f"{run}-7"}),
        ({"content-type": "application/json"}, {"profile_id": people[2], "idempotency_key": f"{run}-8"}),
    ]


def _shape(response: Any, run: str) -> tuple:
    body = response.json()
    if response.status_code == 201:
        return 201, body["status"], body["idempotency_key"].replace(run, "R"), body["channel"], sorted(body)
    return response.status_code, body["error"]["code"], body["error"]["message"]


def test_both_paths_give_the_same_answers(runtime: Runtime, client: Any, workspace: Any, routes_only: Any) -> None:
    shapes = {}
    for run, http in (("fast", client), ("route", routes_only)):
        people = _people(client, workspace, f"{run}-", 3)
        coupon = make_offer(runtime, workspace, stock=2, per_person_limit=1, valid_days=3)
        answers = []
        for headers, body in _cases(workspace, runtime, people, run):
            kwargs = {"content": body} if isinstance(body, bytes) else {"json": body}
            answers.append(http.post(f"/api/offers/{coupon.id}/claims", headers=headers, **kwargs))
        first, again = answers[0].json(), answers[1].json()
        assert first == again  # the key answers the same, to the byte
        shapes[run] = [_shape(a, run) for a in answers]
    assert shapes["fast"] == shapes["route"]
    assert [s[0] for s in shapes["fast"]] == [201, 201, 409, 201, 409, 404, 400, 400, 400, 403, 401, 401]


def test_a_face_value_gets_the_same_answers_on_both_paths(runtime: Runtime, client: Any, workspace: Any,
                                                          routes_only: Any) -> None:
    shapes = {}
    for run, http in (("fast", client), ("route", routes_only)):
        people = _people(client, workspace, f"fv-{run}-", 1)
        coupon = make_offer(runtime, workspace, amount_fen=1000, stock=5, per_person_limit=5)
        percent = make_offer(runtime, workspace, kind="percentage", amount_fen=None, percent_off=20)
        cases = [(coupon, {"amount_fen": 733, "idempotency_key": f"{run}-1"}),  # granted with its value
                 (coupon, {"amount_fen": 733, "idempotency_key": f"{run}-1"}),  # the same key: the same claim
                 (percent, {"amount_fen": 500, "idempotency_key": f"{run}-2"}),  # not an amount: 422
                 (coupon, {"amount_fen": 0, "idempotency_key": f"{run}-3"})]  # outside the schema: 400
        answers = [http.post(f"/api/offers/{target.id}/claims", headers=workspace.bearer(),
                             json={"profile_id": people[0], **body}) for target, body in cases]
        assert answers[0].json() == answers[1].json()
        shapes[run] = [(_shape(a, run), a.json().get("amount_fen")) for a in answers]
    assert shapes["fast"] == shapes["route"]
    assert [(shape[:2], amount) for shape, amount in shapes["fast"]] == [
        ((201, "claimed"), 733), ((201, "claimed"), 733), ((422, "offers.face_value"), None),
        ((400, "request.invalid"), None)]


def test_a_claim_answer_is_the_routes_json_to_the_value(runtime: Runtime, client: Any, workspace: Any,
                                                        routes_only: Any) -> None:
    """Dates, nulls and numbers come out as the route's JSON encoder writes them."""
    people = _people(client, workspace, "json-", 1)
    coupon = make_offer(runtime, workspace, stock=5, per_person_limit=5, valid_days=3)
    path = f"/api/offers/{coupon.id}/claims"
    fast = client.post(path, headers=workspace.bearer(), json={"profile_id": people[0], "idempotency_key": "j1"})
    route = routes_only.post(path, headers=workspace.bearer(), json={"profile_id": people[0], "idempotency_key": "j1"})
    assert (fast.status_code, fast.headers["content-type"]) == (201, "application/json")
    assert fast.json() == route.json()  # the same claim read back through the route


def test_what_it_does_not_take_goes_to_the_route(runtime: Runtime, client: Any, workspace: Any) -> None:
    people = _people(client, workspace, "other-", 1)
    coupon = make_offer(runtime, workspace, stock=5, per_person_limit=5)
    path = f"/api/offers/{coupon.id}/claims"
    body = {"profile_id": people[0], "idempotency_key": "o1"}
    with_query = client.post(path + "?x=1", headers=workspace.bearer(), json=body)
    assert with_query.status_code == 201  # the route took it
    listed = client.get(path, headers=workspace.bearer())  # a GET of the same path: the route
    assert listed.status_code == 200 and [c["idempotency_key"] for c in listed.json()] == ["o1"]
    padded = b'{"profile_id": %d, "idempotency_key": "o2"' % people[0] + b" " * 20_000 + b"}"
    large = client.post(path, headers={**workspace.bearer(), "content-type": "application/json"}, content=padded)
    assert large.status_code == 201  # past the fast path's 16 KiB, replayed to the route whole


def test_the_fast_path_is_outermost_but_one(runtime: Runtime) -> None:
    from siyu.api.app import create_app

    app = create_app(runtime)
    kinds = [m.cls for m in app.user_middleware]
    assert kinds.index(ClaimFastPath) == 1  # behind the callbacks' own fast path only
    del app
