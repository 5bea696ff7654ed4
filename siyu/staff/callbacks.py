"""What WeCom's external-contact pushes mean for ownership (path/92130): an add opens the member's
spell with the customer, a deletion from either side closes it. Registered on import; listed in
:data:`siyu.callbacks.hooks.HANDLER_MODULES`."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection

from siyu.callbacks.hooks import InboundEvent, Outcome, register
from siyu.staff import store
from siyu.staff.models import OwnershipReason


def contact_added(conn: Connection, _runtime: Any, event: InboundEvent, outcome: Outcome) -> None:
    userid, external_userid = event.fields.get("UserID"), event.fields.get("ExternalUserID")
    if not userid or event.profile_id is None:
        return
    store.ensure_member(conn, event.workspace_id, userid, event.at)
    opened = store.open_spell(conn, event.workspace_id, profile_id=event.profile_id, userid=userid,
                              external_userid=external_userid, state=event.fields.get("State") or None,
                              reason=OwnershipReason.ADDED, at=event.at, key=f"callback:{event.message_id}")
    outcome.notes["owner"] = {"userid": userid, "opened": opened}


def _closer(reason: OwnershipReason) -> Any:
    def contact_removed(conn: Connection, _runtime: Any, event: InboundEvent, outcome: Outcome) -> None:
        userid, external_userid = event.fields.get("UserID"), event.fields.get("ExternalUserID")
        if not userid:
            return
        store.close_spells(conn, event.workspace_id, userid=userid, reason=reason, at=event.at,
                           profile_id=event.profile_id, external_userid=external_userid or None)

    contact_removed.__qualname__ = f"contact_removed_{reason.value}"
    return contact_removed


register("wecom", "add_external_contact", contact_added, priority=50)
register("wecom", "del_external_contact", _closer(OwnershipReason.DELETED_BY_STAFF), priority=50)
register("wecom", "del_follow_user", _closer(OwnershipReason.DELETED_BY_CUSTOMER), priority=50)
