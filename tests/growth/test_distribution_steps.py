"""Shared steps of the distribution tests (no tests of its own): people, staff, promoters, link follows, orders."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

from siyu import clock


def person(client: Any, workspace: Any, user_id: str, **identify: Any) -> int:
    answer = client.post("/v1/identify", auth=(workspace.write_key, ""),
                         json={"userId": user_id, "traits": {"name": user_id}, "timestamp": clock.now().isoformat(),
                               **identify})
    assert answer.status_code == 200, answer.text
    found = client.get("/api/profiles/lookup", params={"type": "user_id", "value": user_id},
                       headers=workspace.bearer())
    assert found.status_code == 200, found.text
    return int(found.json()["id"])


def staff_member(client: Any, workspace: Any, userid: str, name: str) -> int:
    answer = client.post("/api/staff", headers=workspace.bearer(), json={"userid": userid, "name": name})
    assert answer.status_code == 201, answer.text
    return int(answer.json()["id"])


def promoter(client: Any, workspace: Any, **body: Any) -> dict[str, Any]:
    answer = client.post("/api/promoters", headers=workspace.bearer(), json=body)
    assert answer.status_code == 201, answer.text
    return answer.json()


def follow(client: Any, token: str, cookies: dict[str, str] | None = None) -> tuple[str, str, dict[str, str]]:
    """Open a promoter's link like a new browser (or one with ``cookies``): (the touch's siyu_ref,
    where it led, the cookies set). The client's own cookies (a console session) are kept aside."""
    saved = dict(client.cookies)
    client.cookies.clear()
    for name, value in (cookies or {}).items():
        client.cookies.set(name, value)
    try:
        answer = client.get(f"/p/{token}", follow_redirects=False)
        assert answer.status_code == 302, answer.text
    finally:
        client.cookies.clear()
        for name, value in saved.items():
            client.cookies.set(name, value)
    location = answer.headers["location"]
    return parse_qs(urlsplit(location).query)["siyu_ref"][0], location, dict(answer.cookies)


def order(client: Any, workspace: Any, order_id: str, total: float, *, user_id: str | None = None,
          anonymous_id: str | None = None, products: list[dict[str, Any]] | None = None,
          **properties: Any) -> None:
    body: dict[str, Any] = {"event": "Order Completed", "timestamp": clock.now().isoformat(),
                            "messageId": f"order-{order_id}",
                            "properties": {"order_id": order_id, "total": total, "products": products or [],
                                           **properties}}
    body.update({k: v for k, v in (("userId", user_id), ("anonymousId", anonymous_id)) if v})
    answer = client.post("/v1/track", auth=(workspace.write_key, ""), json=body)
    assert answer.status_code == 200, answer.text


def refund(client: Any, workspace: Any, order_id: str, user_id: str) -> None:
    answer = client.post("/v1/track", auth=(workspace.write_key, ""), json={
        "event": "Order Refunded", "userId": user_id, "timestamp": clock.now().isoformat(),
        "messageId": f"refund-{order_id}", "properties": {"order_id": order_id}})
    assert answer.status_code == 200, answer.text


def process(client: Any, workspace: Any) -> dict[str, int]:
    answer = client.post("/api/commissions/process", headers=workspace.bearer())
    assert answer.status_code == 200, answer.text
    return answer.json()


def ledger(client: Any, workspace: Any, **params: Any) -> list[dict[str, Any]]:
    answer = client.get("/api/commissions", headers=workspace.bearer(), params={"limit": 500, **params})
    assert answer.status_code == 200, answer.text
    return answer.json()
