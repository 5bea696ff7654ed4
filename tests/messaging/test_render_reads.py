"""What a render reads of the person (both databases): a template that names ``profile`` only as
``profile.traits`` — the usual ``{{ profile.traits.name }}`` of a broadcast — renders from the traits
alone, the same message as from the whole profile, in a fraction of the queries; any other use of
``profile`` reads the whole profile (identities, tags, rollups)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import event

from siyu import clock
from siyu.db.engine import read, write
from siyu.identity.rules import DEFAULT_RULES
from siyu.ingest.pipeline import ingest
from siyu.ingest.spec import parse_message
from siyu.messaging.models import Channel, Purpose
from siyu.messaging.render import mentions_profile, render_for
from siyu.runtime import Runtime
from siyu.workspaces import store as workspace_store

READS = {
    "{{ profile.traits.name }}": False,
    "{{ profile['traits']['name'] | default('朋友') }}": False,
    "{% if profile.traits.vip %}VIP{% endif %}": False,
    "{% set t = profile.traits %}{{ t.name }}": False,
    "update your profile": False,  # the word in the text, not the variable
    "{{ profile.tags }}": True,
    "{{ profile.rollups.order_count }}": True,
    "{{ profile['tags'] }}": True,
    "{{ profile[key] }}": True,
    "{{ profile }}": True,
    "{{ profile | list }}": True,
    "{% set p = profile %}{{ p.traits.name }}": True,
    "{% for tag in profile.tags %}{{ tag }}{% endfor %}": True,
    "{{ profile.traits.name }}{{ profile.id }}": True,
    "{% set profile = 1 %}{{ profile }}": True,
    "{{ profile.traits }": True,  # does not parse: the whole profile, the safe answer
}


@pytest.mark.parametrize(("source", "whole"), READS.items())
def test_which_templates_read_the_whole_profile(source: str, whole: bool) -> None:
    assert mentions_profile({"body": {"text": source}}) is whole


@contextmanager
def counted(runtime: Runtime) -> Iterator[list[str]]:
    statements: list[str] = []

    def note(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    event.listen(runtime.engine, "before_cursor_execute", note)
    try:
        yield statements
    finally:
        event.remove(runtime.engine, "before_cursor_execute", note)


def test_a_traits_only_template_renders_the_same_from_fewer_queries(runtime: Runtime, workspace: Any) -> None:
    person = parse_message({"type": "identify", "userId": "r1", "traits": {"name": "李娜", "vip": True}},
                           received_at=clock.now())
    with write(runtime.engine) as conn:
        profile_id = ingest(conn, workspace.id, [person], rules=DEFAULT_RULES).profile_ids[person.message_id]
    traits_only = {"body": {"text": "{{ profile.traits.name }}{% if profile.traits.vip %}，VIP{% endif %}"}}
    whole = {"body": {"text": "{{ profile.traits.name }}{% if profile.traits.vip %}，VIP{% endif %}",
                      "id": "{{ profile.id }}"}}
    with read(runtime.engine) as conn:
        ws = workspace_store.get_workspace(conn, workspace.id)
        with counted(runtime) as few:
            light = render_for(conn, ws, profile_id, Channel.WEBHOOK, Purpose.MARKETING, traits_only)
        with counted(runtime) as many:
            heavy = render_for(conn, ws, profile_id, Channel.WEBHOOK, Purpose.MARKETING, whole)
    assert light.payload == {"text": "李娜，VIP"}
    assert heavy.payload == {"text": "李娜，VIP", "id": str(profile_id)}
    # the whole profile: the profile, identities, tags, consents and merges (five statements or more);
    # the traits: one query on the driver itself (siyu.profiles.store.load_traits), unseen by the listener
    assert len(few) <= 1 and len(many) >= 5, (few, many)
