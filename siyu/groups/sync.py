"""Keeping groups in step with WeCom: the worker's sync of groups a callback marked.

A change event says *that* a group changed; ``groupchat/get`` says what it is now (path/92122:
"如果发生群信息变动，会立即收到群变更事件，但是部分信息是异步处理" — some of it lags the event,
so the fetch happens in the worker, never inside the callback request, which must answer fast).
Each sync: claim due groups (a lease, short transaction), fetch each one's detail outside any
transaction, then apply it in one write transaction with the group row locked: the reconciliation
(:mod:`siyu.groups.detail`), each customer's profile found (or created through the ingest pipeline)
by external user id and unionid, a ``Group Member Left`` event for each leave no change event
reported, and the compare-and-clear of the sync mark. Joins and reported leaves are in the log
already: the callback wrote ``Group Member Joined`` / ``Left`` when the push came in.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection

from siyu import clock
from siyu.channels.base import ChannelError
from siyu.channels.wecom import WeComChannel
from siyu.db.engine import read, write
from siyu.groups import detail as details
from siyu.groups import store
from siyu.groups.models import DetailMember, Group, MemberType, QuitScene, Stint
from siyu.identity.models import Identifier
from siyu.identity.rules import IdentityRules
from siyu.identity.store import find_profile_id
from siyu.ingest.pipeline import ingest
from siyu.ingest.spec import Message
from siyu.profiles.errors import ProfileNotFound
from siyu.profiles.read_store import append_profile_events, resolve_profile_id
from siyu.runtime import Runtime
from siyu.workspaces import store as workspace_store

log = logging.getLogger("siyu.groups")
LEFT = "Group Member Left"  # the callback's own name for a leave (siyu.callbacks.pushes)
EVENT_SOURCE = "groups"
CLAIM = 20
LEASE = timedelta(minutes=2)  # a worker that died mid-sync gives the group back after this
GIVE_UP_AFTER = 8  # failed attempts; the error stays on the group for the operator


def retry_at(attempts: int, now: datetime) -> datetime | None:
    """When a failed sync is tried again: 30 s doubling per attempt, at most an hour apart;
    None after :data:`GIVE_UP_AFTER` attempts (a group WeCom no longer knows, a missing permission)."""
    if attempts >= GIVE_UP_AFTER:
        return None
    return now + min(timedelta(seconds=30 * 2 ** attempts), timedelta(hours=1))


def wecom_for(settings: dict[str, Any] | None) -> WeComChannel:
    config = ((settings or {}).get("channels") or {}).get("wecom")
    if not config:
        raise ChannelError("channels.not_configured", "WeCom is not set up in this workspace "
                           "(settings.channels.wecom).", retryable=False)
    try:
        return WeComChannel.from_settings(config)
    except (KeyError, TypeError, ValueError) as error:
        raise ChannelError("channels.bad_settings", f"settings.channels.wecom: {error}", retryable=False) from None


def fetch_detail(channel: WeComChannel, chat_id: str) -> dict[str, Any]:
    """groupchat/get with the members' names (``need_name``: 1). Reading twice is harmless."""
    return channel.call("externalcontact/groupchat/get", {"chat_id": chat_id, "need_name": 1},
                        lost="nothing changed (a read)")


def sync_due(rt: Runtime) -> int:
    """Sync every group whose mark is due; how many were synced."""
    synced = 0
    while True:
        with write(rt.engine) as conn:
            claimed = store.claim_due_syncs(conn, clock.now(), CLAIM, LEASE)
        for group, lease in claimed:
            synced += _sync_one(rt, group, lease)
        if len(claimed) < CLAIM:
            return synced


def _sync_one(rt: Runtime, group: Group, lease: datetime) -> int:
    with read(rt.engine) as conn:
        workspace = workspace_store.get_workspace(conn, group.workspace_id)
    try:
        answer = fetch_detail(wecom_for(workspace.settings), group.chat_id)
    except ChannelError as error:
        now = clock.now()
        with write(rt.engine) as conn:
            store.fail_sync(conn, group.workspace_id, group.id, lease, f"{error.code}: {error.detail}",
                            retry_at(group.sync_attempts + 1, now), now)
        log.warning("group %s (workspace %s): sync failed: %s", group.chat_id, group.workspace_id, error.code)
        return 0
    now = clock.now()
    with write(rt.engine) as conn:
        apply_detail(conn, group, answer, lease, now, IdentityRules.from_settings(workspace.settings),
                     workspace.default_region)
    return 1


def apply_detail(conn: Connection, group: Group, answer: dict[str, Any], lease: datetime, now: datetime,
                 rules: IdentityRules, region: str) -> None:
    store.lock_group(conn, group.workspace_id, group.id)
    detail = details.parse_detail(answer, now)
    plan = details.reconcile(store.open_stints(conn, group.workspace_id, group.id), detail)
    ended = store.close_stints(conn, group.workspace_id, group.id, at=now, scene=QuitScene.UNKNOWN,
                               stint_ids=[stint.id for stint in plan.ended]) if plan.ended else []
    record_left(conn, group, ended, QuitScene.UNKNOWN, now)
    for member in plan.joined:
        profile_id = _joined_profile(conn, group, member, rules, region, now)
        store.open_stint(conn, group.workspace_id, group.id, member, profile_id, now)
    for stint, member in plan.still_in:
        profile_id = stint.profile_id
        if profile_id is None and member.member_type is MemberType.EXTERNAL:
            profile_id = _known_profile(conn, group, member)
        store.refresh_stint(conn, group.workspace_id, stint.id, member, profile_id, now)
    store.finish_sync(conn, group.workspace_id, group.id, detail, lease, now)


def _identifiers(group: Group, member: DetailMember) -> list[dict[str, str]]:
    found = [{"type": f"wecom_external_userid:{group.corp_id}", "id": member.userid}]
    if member.unionid:
        found.append({"type": "wechat_unionid", "id": member.unionid})
    return found


def _known_profile(conn: Connection, group: Group, member: DetailMember) -> int | None:
    for item in _identifiers(group, member):
        found = find_profile_id(conn, group.workspace_id, Identifier(item["type"], item["id"]))
        if found is not None:
            return found
    return None


def _joined_profile(conn: Connection, group: Group, member: DetailMember, rules: IdentityRules, region: str,
                    now: datetime) -> int | None:
    """The customer's profile, found by external user id or unionid — or, for someone siyu has not
    met yet (a member from before the group was seen), created through the ingest pipeline by an
    ``identify`` with those ids (deterministic message id: a repeat is a no-op). Staff have none."""
    if member.member_type is not MemberType.EXTERNAL:
        return None
    known = _known_profile(conn, group, member)
    if known is not None:
        return known
    message_id = f"group-member:{group.id}:{member.userid}"
    message = Message(type="identify", message_id=message_id, name="identify", timestamp=now, received_at=now,
                      context={"externalIds": _identifiers(group, member)}, source=EVENT_SOURCE,
                      dedupe_forever=True)
    result = ingest(conn, group.workspace_id, [message], rules=rules, region=region)
    return result.profile_ids.get(message_id) or _known_profile(conn, group, member)


def record_left(conn: Connection, group: Group, ended: list[Stint], scene: QuitScene, now: datetime) -> None:
    """A ``Group Member Left`` event on each customer's (live) profile for leaves no change event
    reported (found by a sync, or the group dismissed); erased people get none."""
    events = []
    for stint in ended:
        if stint.profile_id is None:
            continue
        try:
            live = resolve_profile_id(conn, group.workspace_id, stint.profile_id)
        except ProfileNotFound:
            continue
        events.append((live, LEFT, {"chat_id": group.chat_id, "member": stint.userid, "quit_scene": scene.value,
                                    "source": EVENT_SOURCE}))
    if events:
        append_profile_events(conn, group.workspace_id, events, EVENT_SOURCE, now)
