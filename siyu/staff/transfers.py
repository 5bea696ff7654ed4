"""Hand-overs of customers between members: 离职继承 (the member left) and 在职转接 (the member stays).

Decisions first: :func:`request_transfers` writes one row per customer, keyed by the caller's
idempotency key and the person, before WeCom hears of it; :func:`submit_transfers` hands the
decided rows to WeCom (batches of 100, path/92125 and path/96331) and :func:`poll_transfers` reads
``transfer_result`` until each is taken over (24 h later unless the customer refuses), then moves
the ownership spell. A crash between the WeCom call and the write leaves the row decided with
``submitted_at`` set; the next poll asks WeCom what became of it instead of calling twice.

WeCom's limit: within 90 natural days a customer of a member still in service can be handed over
at most twice ("90个自然日内，在职成员的每位客户仅可被转接2次", path/92125); siyu refuses a third
before asking WeCom (``staff.transfer_limit``). Hand-overs from members who left are not limited.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection

from siyu.channels.base import ChannelError
from siyu.db.engine import read, write
from siyu.staff import store
from siyu.staff.errors import StaffConflict, StaffError, StaffNotFound
from siyu.staff.models import OwnershipReason, StaffKind, StaffStatus, Transfer, TransferKind, TransferStatus
from siyu.staff.wecom_contact import (
    CUSTOMER_REFUSED,
    NO_RECORD,
    TAKEN_OVER,
    TAKEOVER_FULL,
    TRANSFER_BATCH,
    WAITING,
    ContactClient,
)

IN_SERVICE_LIMIT = 2
IN_SERVICE_WINDOW = timedelta(days=90)
MAX_MESSAGE = 200  # transfer_success_msg: "最多200个字符"


def limit_refusal(kind: TransferKind, counted_in_window: int) -> str | None:
    """Why a hand-over may not be asked for (None: it may): an in-service customer handed over
    :data:`IN_SERVICE_LIMIT` times within :data:`IN_SERVICE_WINDOW` already."""
    if kind is TransferKind.IN_SERVICE and counted_in_window >= IN_SERVICE_LIMIT:
        return "staff.transfer_limit"
    return None


def result_status(code: int) -> tuple[TransferStatus, str | None]:
    """What a ``transfer_result`` status means for the row (path/94088)."""
    if code == TAKEN_OVER:
        return TransferStatus.SUCCEEDED, None
    if code == WAITING:
        return TransferStatus.WAITING, None
    if code == CUSTOMER_REFUSED:
        return TransferStatus.FAILED, "staff.customer_refused"
    if code == TAKEOVER_FULL:
        return TransferStatus.FAILED, "staff.takeover_full"
    if code == NO_RECORD:
        return TransferStatus.FAILED, "staff.no_record"
    return TransferStatus.WAITING, None


def request_transfers(conn: Connection, workspace_id: int, *, kind: TransferKind, handover: str, takeover: str,
                      profile_ids: list[int] | None, message: str | None, key: str, actor: str | None,
                      now: datetime) -> list[tuple[Transfer, bool]]:
    """Decide a hand-over of ``handover``'s customers (all of them, or ``profile_ids``) to ``takeover``.
    The same ``key`` again returns the first decisions and decides nothing new for those people."""
    giver = store.staff_by_userid(conn, workspace_id, handover)
    taker = store.staff_by_userid(conn, workspace_id, takeover)
    if giver is None or taker is None:
        missing = handover if giver is None else takeover
        raise StaffNotFound(f"No member with userid {missing!r}.", details={"userid": missing})
    if handover == takeover:
        raise StaffError("A member cannot hand customers over to themselves.", code="staff.same_member")
    if taker.kind is not StaffKind.MEMBER or taker.status is not StaffStatus.ACTIVE:
        raise StaffConflict(f"{takeover!r} is not an active member.", code="staff.takeover_inactive")
    if kind is TransferKind.RESIGNED and giver.status is not StaffStatus.LEFT:
        raise StaffConflict(f"{handover!r} has not left: mark them as left first, or use an in-service transfer.",
                            code="staff.not_left")
    if kind is TransferKind.IN_SERVICE and giver.status is StaffStatus.LEFT:
        raise StaffConflict(f"{handover!r} has left: use a resigned transfer (离职继承).", code="staff.has_left")
    if message is not None and len(message) > MAX_MESSAGE:
        raise StaffError(f"The message to customers is longer than {MAX_MESSAGE} characters.",
                         details={"field": "message"})
    customers = store.customers_of(conn, workspace_id, handover, profile_ids=profile_ids, limit=100_000)
    if profile_ids is not None:
        strangers = sorted(set(profile_ids) - {spell.profile_id for spell in customers})
        if strangers:
            raise StaffError(f"Not customers of {handover!r}: {strangers[:20]}.", code="staff.not_customer",
                             details={"profile_ids": strangers[:100]})
    decided = []
    for spell in customers:
        refusal = None
        if not spell.external_userid:
            refusal = "staff.no_external_userid"
        else:
            refusal = limit_refusal(kind, store.transfers_counting_since(conn, workspace_id, spell.profile_id,
                                                                         now - IN_SERVICE_WINDOW))
        decided.append(store.insert_transfer(
            conn, workspace_id, kind=kind, profile_id=spell.profile_id, external_userid=spell.external_userid or "",
            handover_userid=handover, takeover_userid=takeover,
            message=message if kind is TransferKind.IN_SERVICE else None,
            status=TransferStatus.REFUSED if refusal else TransferStatus.DECIDED, reason=refusal,
            key=f"{key}:{spell.profile_id}", actor=actor, now=now))
    return decided


def wecom_client(workspace: Any) -> ContactClient:
    """The workspace's WeCom contact client, or ``staff.wecom_not_configured`` (409) saying what to set."""
    try:
        return ContactClient.from_settings(workspace.settings)
    except ChannelError as error:
        raise StaffConflict(error.detail, code="staff.wecom_not_configured") from None


def _groups(transfers: list[Transfer]) -> dict[tuple[TransferKind, str, str, str | None], list[Transfer]]:
    grouped: dict[tuple[TransferKind, str, str, str | None], list[Transfer]] = defaultdict(list)
    for transfer in transfers:
        grouped[(transfer.kind, transfer.handover_userid, transfer.takeover_userid, transfer.message)].append(transfer)
    return grouped


def submit_transfers(engine: Any, workspace: Any, client: ContactClient | None = None,
                     now: datetime | None = None) -> int:
    """Hand decided rows to WeCom. Each row is claimed (``submitted_at``) in its own transaction before
    the call, so two workers never submit one row; returns how many WeCom accepted."""
    from siyu import clock

    now = now or clock.now()
    client = client or wecom_client(workspace)
    with read(engine) as conn:
        pending = [t for t in store.transfers_in(conn, workspace.id, TransferStatus.DECIDED)]
    accepted = 0
    for (kind, handover, takeover, message), rows in _groups(pending).items():
        for start in range(0, len(rows), TRANSFER_BATCH):
            with write(engine) as conn:
                batch = [t for t in rows[start:start + TRANSFER_BATCH] if store.claim_transfer(conn, workspace.id, t.id,
                                                                                              now)]
            if not batch:
                continue
            try:
                answers = client.transfer_customers(resigned=kind is TransferKind.RESIGNED, handover=handover,
                                                    takeover=takeover, message=message,
                                                    external_userids=[t.external_userid for t in batch])
            except ChannelError as error:
                with write(engine) as conn:
                    for transfer in batch:
                        if error.retryable:  # nothing started: decided again, for the next round
                            store.update_transfer(conn, workspace.id, transfer.id, now, submitted_at=None)
                        elif error.code != "wecom.uncertain":  # refused outright; uncertain ones are polled
                            store.update_transfer(conn, workspace.id, transfer.id, now, status=TransferStatus.FAILED,
                                                  reason=error.code)
                continue
            with write(engine) as conn:
                for transfer in batch:
                    errcode = answers.get(transfer.external_userid)
                    if errcode == 0:
                        accepted += 1
                        store.update_transfer(conn, workspace.id, transfer.id, now, status=TransferStatus.WAITING)
                    else:
                        store.update_transfer(conn, workspace.id, transfer.id, now, status=TransferStatus.FAILED,
                                              errcode=errcode, reason="staff.wecom_refused")
    return accepted


def poll_transfers(engine: Any, workspace: Any, client: ContactClient | None = None,
                   now: datetime | None = None) -> int:
    """Ask WeCom what became of submitted hand-overs; a taken-over customer changes owner, in the
    same transaction as the row. Returns how many finished."""
    from siyu import clock

    now = now or clock.now()
    client = client or wecom_client(workspace)
    with read(engine) as conn:
        open_rows = store.transfers_in(conn, workspace.id, TransferStatus.WAITING) + [
            t for t in store.transfers_in(conn, workspace.id, TransferStatus.DECIDED) if t.submitted_at is not None]
    finished = 0
    pairs: dict[tuple[TransferKind, str, str], list[Transfer]] = defaultdict(list)
    for transfer in open_rows:
        pairs[(transfer.kind, transfer.handover_userid, transfer.takeover_userid)].append(transfer)
    for (kind, handover, takeover), rows in pairs.items():
        try:
            results = client.transfer_results(resigned=kind is TransferKind.RESIGNED, handover=handover,
                                              takeover=takeover)
        except ChannelError:  # WeCom unreachable or refusing now: these rows are asked again next round
            continue
        with write(engine) as conn:
            for transfer in rows:
                code, takeover_time = results.get(transfer.external_userid, (NO_RECORD, 0))
                status, reason = result_status(code)
                if code == NO_RECORD and transfer.status is TransferStatus.DECIDED:
                    store.update_transfer(conn, workspace.id, transfer.id, now, submitted_at=None)  # never reached
                    continue
                if status is TransferStatus.WAITING:
                    if transfer.status is TransferStatus.DECIDED:
                        store.update_transfer(conn, workspace.id, transfer.id, now, status=status)
                    continue
                finished += 1
                at = datetime.fromtimestamp(takeover_time, UTC) if takeover_time else now
                store.update_transfer(conn, workspace.id, transfer.id, now, status=status, reason=reason,
                                      takeover_at=at if status is TransferStatus.SUCCEEDED else None)
                if status is TransferStatus.SUCCEEDED:
                    _move_owner(conn, workspace.id, transfer, at)
    return finished


def _move_owner(conn: Connection, workspace_id: int, transfer: Transfer, at: datetime) -> None:
    store.ensure_member(conn, workspace_id, transfer.takeover_userid, at)
    store.close_spells(conn, workspace_id, userid=transfer.handover_userid, profile_id=transfer.profile_id,
                       reason=OwnershipReason.TRANSFERRED, at=at)
    reason = OwnershipReason.RESIGNED_TRANSFER if transfer.kind is TransferKind.RESIGNED else OwnershipReason.TRANSFER
    store.open_spell(conn, workspace_id, profile_id=transfer.profile_id, userid=transfer.takeover_userid,
                     external_userid=transfer.external_userid, state=None, reason=reason, at=at,
                     key=f"transfer:{transfer.id}")


def transfer_dict(transfer: Transfer) -> dict[str, Any]:
    return {"id": transfer.id, "kind": transfer.kind.value, "profile_id": transfer.profile_id,
            "external_userid": transfer.external_userid, "handover_userid": transfer.handover_userid,
            "takeover_userid": transfer.takeover_userid, "message": transfer.message,
            "status": transfer.status.value, "errcode": transfer.errcode, "reason": transfer.reason,
            "created_at": transfer.created_at, "submitted_at": transfer.submitted_at,
            "takeover_at": transfer.takeover_at}
