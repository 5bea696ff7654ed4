"""What each step does, through the capabilities that own the effect: messages through the outbox
(keyed ``journey:<id>:<version>:<step>:<entry>``, so a step run again can never queue twice),
tags and traits through the profile stores (their history and events written as everywhere
else), rewards through the provider registry, staff tasks in their table.

:func:`perform` returns an :class:`Outcome`: where to go next and a short code for the step's
figures, or how long to wait, or that the person leaves. It decides nothing about time or
branches itself: that is :mod:`siyu.journeys.steps`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, assert_never

from sqlalchemy import Connection

from siyu.errors import SiyuError
from siyu.journeys import entry_store, rewards, steps, task_store
from siyu.journeys.models import (
    Condition,
    Definition,
    Entry,
    Exit,
    Reward,
    Send,
    SetTrait,
    Split,
    Step,
    Tag,
    Task,
    Wait,
    WaitFor,
    Webhook,
)
from siyu.messaging import outbox, render
from siyu.messaging.models import Channel, Purpose
from siyu.workspaces.models import Workspace


@dataclass(frozen=True)
class Outcome:
    code: str  # for the figures: queued, branch:then, reward.unavailable, failed:<error code>, ...
    next: str | None = None
    wait_until: datetime | None = None  # the step waits: the entry sleeps until then
    exit_reason: str | None = None  # the person leaves here
    message_id: int | None = None


@dataclass(frozen=True)
class Running:
    """One advance of one entry: who, where, and when."""

    workspace: Workspace
    entry: Entry
    definition: Definition
    now: datetime

    def step_key(self, step: Step) -> str:
        """With :attr:`source` the outbox key ``journey:<id>:<version>:<step>:<entry>``."""
        return f"{self.entry.version}:{step.id}:{self.entry.id}"

    @property
    def source(self) -> str:
        return f"journey:{self.entry.journey_id}"


def perform(conn: Connection, run: Running, step: Step) -> Outcome:
    """Run one step. An effect refused by its capability (a tag name taken by nobody, a person merged
    away meanwhile) is recorded as ``failed:<code>`` and the person goes on, like a capped message:
    one bad step must not strand everyone behind it. Its writes are undone with a savepoint."""
    try:
        with conn.begin_nested():
            return _perform(conn, run, step)
    except SiyuError as error:
        return Outcome(f"failed:{error.code}", next=_onward(step))


def template_event(entry: Entry) -> dict[str, Any] | None:
    """The ``event`` a send step's template reads (``{{ event.properties.sku }}``), from what the entry
    kept of its trigger: the person's event (``name``, ``properties``, ``timestamp``, ``message_id``);
    for an API entry the ``properties`` it was given, at the time it entered, with no name; None for
    segment, date and schedule entries, which no event of the person's started."""
    kept = entry.context.get("event")
    if isinstance(kept, dict):
        found = {"name": kept.get("name"), "properties": dict(kept.get("properties") or {}),
                 "timestamp": kept.get("timestamp"), "message_id": kept.get("message_id")}
    elif isinstance(entry.context.get("api"), dict):
        found = {"properties": dict(entry.context["api"].get("properties") or {}),
                 "timestamp": entry.entered_at.isoformat()}
    else:
        return None
    return {key: value for key, value in found.items() if value is not None}


def _onward(step: Step) -> str | None:
    return getattr(step, "next", None)


def _perform(conn: Connection, run: Running, step: Step) -> Outcome:
    entry, now = run.entry, run.now
    match step:
        case Wait():
            until = steps.resume_at(step, now, run.workspace.timezone)
            return Outcome("waiting", wait_until=until) if until > now else Outcome("waited", next=step.next)
        case WaitFor():
            return Outcome("waiting", wait_until=now + step.timeout)
        case Condition():
            held = entry_store.matches_condition(conn, entry.workspace_id, step.tree, entry.profile_id, now)
            return Outcome("branch:then" if held else "branch:else", next=step.then if held else step.otherwise)
        case Split():
            branch = steps.split_branch(step, entry.journey_id, entry.profile_id)
            return Outcome(f"branch:{step.branches.index(branch) + 1}", next=branch.next)
        case Send():
            message, created = outbox.queue(conn, entry.workspace_id, profile_id=entry.profile_id,
                                            channel=step.channel, purpose=step.purpose, content=step.content,
                                            template=step.template, now=now, source=run.source,
                                            key=run.step_key(step), policy=run.definition.policy)
            event = template_event(entry) if step.template is not None else None
            if created and event is not None:
                render.attach_event(conn, message, event, now)
            return Outcome("queued" if created else "already_queued", next=step.next, message_id=message.id)
        case Webhook():
            body = {"journey_id": entry.journey_id, "version": entry.version, "step": step.id, "entry_id": entry.id,
                    "data": step.body}
            message, created = outbox.queue(conn, entry.workspace_id, profile_id=entry.profile_id,
                                            channel=Channel.WEBHOOK, purpose=Purpose.TRANSACTIONAL, content=body,
                                            now=now, source=run.source, key=run.step_key(step))
            return Outcome("queued" if created else "already_queued", next=step.next, message_id=message.id)
        case Tag():
            _tag(conn, run, step)
            return Outcome("tagged", next=step.next)
        case SetTrait():
            from siyu.profiles.editing import edit_traits

            edit_traits(conn, entry.workspace_id, entry.profile_id, dict(step.traits), [], actor=run.source)
            return Outcome("traits_set", next=step.next)
        case Reward():
            request = rewards.RewardRequest(entry.workspace_id, entry.profile_id, step.kind, dict(step.params),
                                            f"{run.source}:{run.step_key(step)}", now)
            return Outcome(rewards.give(conn, request), next=step.next)
        case Task():
            task_store.create_task(conn, entry.workspace_id, profile_id=entry.profile_id, title=step.title,
                                   note=step.note, due_at=now + step.due if step.due else None, source=run.source,
                                   source_key=f"{run.source}:{run.step_key(step)}", now=now)
            return Outcome("task_created", next=step.next)
        case Exit():
            return Outcome("exit", exit_reason=step.reason)
        case _:
            assert_never(step)


def _tag(conn: Connection, run: Running, step: Tag) -> None:
    """Tags by name: one to add is created if new (a business tag), one to remove that doesn't exist
    is nobody's; each change writes Tag Added / Tag Removed like a manual tag."""
    from siyu.profiles import tag_store
    from siyu.profiles.errors import TagNotFound
    from siyu.profiles.models import TagGroupKind
    from siyu.profiles.tagging import tag_profiles

    workspace_id, person = run.entry.workspace_id, run.entry.profile_id
    for name in step.add:
        try:
            tag = tag_store.get_tag(conn, workspace_id, name=name)
        except TagNotFound:
            tag_store.create_tag(conn, workspace_id, name, group=None, kind=TagGroupKind.BUSINESS, description=None,
                                 at=run.now)
            tag = tag_store.get_tag(conn, workspace_id, name=name)
        tag_profiles(conn, workspace_id, tag, profile_ids=[person], source="journey", actor=run.source)
    for name in step.remove:
        try:
            tag = tag_store.get_tag(conn, workspace_id, name=name)
        except TagNotFound:
            continue
        tag_profiles(conn, workspace_id, tag, profile_ids=[person], source="journey", actor=run.source, remove=True)
