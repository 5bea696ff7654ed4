"""What other capabilities do when a platform callback arrives, without the callback knowing them.

The callback endpoint verifies, decrypts and parses a push, ingests it as a siyu event (so it is
deduped against the platform's retries and resolved to a profile), and then — only for a push seen
for the first time — calls every handler registered for its ``(platform, kind)``, in priority
order, inside one write transaction. Handlers write decisions (outbox rows, ownership, counts);
they never call a platform themselves. The first handler to set ``outcome.reply`` decides the
passive reply to an official-account push; later handlers see it and may stand back (a channel
code's welcome message wins over the default one).

Capabilities register at import; :data:`HANDLER_MODULES` lists the modules the endpoint imports
before its first dispatch, so registration does not depend on what else happened to be imported.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

# Modules whose import registers handlers. Each capability adds its own line.
HANDLER_MODULES: list[str] = [
    "siyu.groups.callbacks",
    "siyu.callbacks.template_results",
    "siyu.acquisition.welcome",
    "siyu.acquisition.replies_hooks",
    "siyu.staff.callbacks",
    "siyu.acquisition.channel_codes_callbacks",
]


@dataclass(frozen=True)
class InboundEvent:
    """One push from a platform, as the handlers see it.

    ``kind`` is the platform's own name: for an official account the ``Event`` value lower-cased
    (``subscribe``, ``unsubscribe``, ``scan``, ``click``, ``view``, ``location``,
    ``templatesendjobfinish``, ...) or the ``MsgType`` of a message (``text``, ``image``, ``voice``,
    ...); for WeCom the ``ChangeType`` of a change event (``add_external_contact``,
    ``edit_external_contact``, ``del_external_contact``, ``del_follow_user``, ``add_half_external_contact``,
    ``transfer_fail``) or, for group chats, ``chat_`` + ``ChangeType`` (``chat_create``,
    ``chat_update``, ``chat_dismiss``; ``UpdateDetail`` in ``fields``).
    ``fields`` holds every XML element of the push by the platform's own tag names.
    """

    workspace_id: int
    platform: str  # "wechat" | "wecom"
    kind: str
    fields: Mapping[str, str]
    at: datetime
    profile_id: int | None  # the person the event resolved to (None: nobody, e.g. a staff-only event)
    event_name: str  # the siyu event it was ingested as ("Followed", "WeCom Contact Added", ...)
    message_id: str  # the ingest messageId (dedupe key) of that event
    workspace: Any = field(default=None, compare=False)  # the Workspace row, when the endpoint has it


def workspace_of(conn: Connection, event: InboundEvent) -> Any:
    """The event's workspace (settings, time zone), without a query when the endpoint passed it."""
    if event.workspace is not None:
        return event.workspace
    from siyu.workspaces import store as workspace_store

    return workspace_store.get_workspace(conn, event.workspace_id)


@dataclass
class Reply:
    """A passive reply to an official-account push (the only kind the platform accepts in the
    response body): ``text`` with ``content``, ``image`` with ``media_id``, or ``news`` (one
    article: ``title``, ``content`` as its description, ``url``, ``pic_url``)."""

    kind: str
    content: str = ""
    media_id: str = ""
    title: str = ""
    url: str = ""
    pic_url: str = ""


@dataclass
class Outcome:
    """Shared by the handlers of one push, in order."""

    reply: Reply | None = None
    notes: dict[str, Any] = field(default_factory=dict)  # what earlier handlers decided, by name


Handler = Callable[[Connection, Any, InboundEvent, Outcome], None]  # (conn, runtime, event, outcome)

_handlers: dict[tuple[str, str], list[tuple[int, str, Handler]]] = {}


def register(platform: str, kind: str, handler: Handler, *, priority: int = 100) -> None:
    """Call ``handler`` for every first-seen push of ``kind``; lower priority runs first."""
    entries = _handlers.setdefault((platform, kind), [])
    name = f"{handler.__module__}.{handler.__qualname__}"
    entries[:] = [entry for entry in entries if entry[1] != name]  # re-import registers once
    entries.append((priority, name, handler))
    entries.sort(key=lambda entry: (entry[0], entry[1]))


def load_handlers() -> None:
    for module in HANDLER_MODULES:
        importlib.import_module(module)


_TALLIES = "siyu.callback_tallies"
WriteCounts = Callable[[Connection, Mapping[Any, int]], None]


def tally(conn: Connection, write_counts: WriteCounts, key: Any, count: int = 1) -> None:
    """Count something (a rule's matches, a welcome's sends) for the end of the push's group: a busy
    rule matched by two hundred pushes of one group is one UPDATE, not two hundred on the same row.
    ``write_counts(conn, {key: count})`` runs in the same transaction, before it commits
    (:func:`flush_tallies`), so the counts are exactly as durable as the pushes."""
    pending: dict[WriteCounts, dict[Any, int]] = conn.info.setdefault(_TALLIES, {})
    counts = pending.setdefault(write_counts, {})
    counts[key] = counts.get(key, 0) + count


def flush_tallies(conn: Connection) -> None:
    for write_counts, counts in conn.info.pop(_TALLIES, {}).items():
        write_counts(conn, counts)


def drop_tallies(conn: Connection) -> None:
    """Forget the counts of work that failed (its transaction or savepoint rolls back)."""
    conn.info.pop(_TALLIES, None)


def dispatch(conn: Connection, runtime: Any, event: InboundEvent, *, in_group: bool = False) -> Outcome:
    """Run the event's handlers. Their tallies are written at once, unless ``in_group``: then the
    caller writes them with the rest of its group (:func:`flush_tallies`, or :func:`drop_tallies`)."""
    load_handlers()
    outcome = Outcome()
    try:
        for _, _, handler in _handlers.get((event.platform, event.kind), []):
            handler(conn, runtime, event, outcome)
    except BaseException:
        if not in_group:
            drop_tallies(conn)
        raise
    if not in_group:
        flush_tallies(conn)
    return outcome
