"""Changing an existing channel code: its name, caption, routing, welcome, tags, journey, status and
cash reward. One path for the CLI (``siyu codes update``) and the console's edit form, so a change
is checked and pushed the same way whoever makes it (the API's PATCH follows the same steps)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from siyu.acquisition import channel_codes
from siyu.acquisition import channel_codes_store as store
from siyu.db.engine import read, write

EDITABLE = ("name", "caption", "routing", "welcome", "tags", "journey_id", "status", "reward", "expires_at")
STATUSES = ("active", "archived")


def merge_reward(current: dict[str, Any] | None, *, cash_fen: int | None, wishing: str | None,
                 budget_fen: int | None) -> dict[str, Any] | None:
    """The reward after a partial change: a new amount, wishing or budget replaces that part only;
    without a current reward and without an amount there is nothing to change (None)."""
    if cash_fen is None and current is None:
        return None
    reward = dict(current or {})
    for field, value in (("cash_fen", cash_fen), ("wishing", wishing), ("budget_fen", budget_fen)):
        if value is not None:
            reward[field] = value
    return reward


def edit(engine: Any, workspace: Any, code_id: int, changes: dict[str, Any], now: datetime) -> dict[str, Any]:
    """Apply ``changes`` (keys from :data:`EDITABLE`; ``journey_id`` 0 and ``reward`` None remove them)
    after the same checks as creation; new routing, or a code made active again, is pushed to WeCom."""
    unknown = set(changes) - set(EDITABLE)
    if unknown:
        raise store.ChannelCodeError(f"Cannot change {', '.join(sorted(unknown))}.",
                                     details={"fields": sorted(unknown)})
    if "status" in changes and changes["status"] not in STATUSES:
        raise store.ChannelCodeError("'status' is active or archived.", details={"field": "status"})
    if "name" in changes and not (isinstance(changes["name"], str) and 0 < len(changes["name"].strip()) <= 100):
        raise store.ChannelCodeError("'name' is 1-100 characters.", details={"field": "name"})
    with write(engine) as conn:
        code = store.get_code(conn, workspace.id, code_id)
        if "expires_at" in changes and code["kind"] != "wecom_contact":  # WeChat fixed the ticket's life
            raise store.ChannelCodeError("An official-account code's expiry is its QR ticket's, fixed by WeChat at "
                                         "creation; create a new code for another.", details={"field": "expires_at"})
        channel_codes.validate(code["kind"], code["key"], expire_seconds=None,
                               routing=changes.get("routing", code["routing"]),
                               welcome=changes.get("welcome", code["welcome"]),
                               tags=changes.get("tags", code["tags"]), reward=changes.get("reward", code["reward"]))
        if "journey_id" in changes:
            changes["journey_id"] = changes["journey_id"] or None
            if changes["journey_id"]:
                from siyu.journeys import store as journey_store

                journey_store.get_journey(conn, workspace.id, changes["journey_id"])
        code = store.update_code(conn, workspace.id, code_id, now, **changes)
    if "routing" in changes or changes.get("status") == "active":
        channel_codes.sync_code(engine, workspace, code, now)
    with read(engine) as conn:
        return channel_codes.describe(store.get_code(conn, workspace.id, code_id), now)
