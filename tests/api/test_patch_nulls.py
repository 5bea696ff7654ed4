"""An explicit null in a PATCH body means "no change" for a field that cannot be empty (found by the
fuzz test: a null name or status reached a NOT NULL column as a 500)."""

from __future__ import annotations

from typing import Any


def test_nulls_change_nothing_they_cannot_clear(client: Any, workspace: Any) -> None:
    auth = workspace.bearer()
    member = client.post("/api/staff", json={"userid": "nulls", "name": "空值"}, headers=auth).json()
    patched = client.patch(f"/api/staff/{member['id']}", headers=auth, json={
        "name": None, "avatar_url": "", "signature": "", "department": "", "persona_id": None, "status": None})
    assert patched.status_code == 200, patched.text
    assert (patched.json()["name"], patched.json()["status"]) == ("空值", "active")

    code = client.post("/api/group-codes", json={"name": "活码", "title": "福利群"}, headers=auth).json()
    patched = client.patch(f"/api/group-codes/{code['id']}", headers=auth,
                           json={"name": None, "strategy": None, "status": None, "title": None})
    assert patched.status_code == 200, patched.text
    assert patched.json()["name"] == "活码" and patched.json()["title"] is None  # title may be cleared
