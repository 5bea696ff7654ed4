"""Broadcasts filled in for each member, on both databases: a broadcast given a ``template`` renders
every member's own name and survey link when their message is sent (the link stands for the send
``broadcast:<id>:<profile>``, so each broadcast asks anew), its test sends are rendered the same
way, the API shows the template as written, and a broadcast takes content or a template — not both,
not neither, and a template that does not compile is refused with its field before anything is
stored."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from siyu import clock
from siyu.db.engine import write
from siyu.identity.rules import DEFAULT_RULES
from siyu.ingest.pipeline import ingest
from siyu.ingest.spec import parse_message
from siyu.messaging import broadcasts, delivery
from siyu.runtime import Runtime
from siyu.surveys.page import read_token
from tests.messaging.fakes import WebhookSink
from tests.messaging.test_delivery import webhook_channel

NAMES = ("李娜", "王芳", "张伟")


@pytest.fixture
def hook(runtime: Runtime, workspace: Any) -> Iterator[WebhookSink]:
    with webhook_channel(runtime, workspace.id) as sink:
        yield sink


def members(runtime: Runtime, client: Any, workspace: Any) -> tuple[dict[int, str], int]:
    """Three named members of a segment: their profile ids with their names, and the segment's id."""
    people = [parse_message({"type": "identify", "userId": f"t{n}", "traits": {"city": "上海", "name": name}},
                            received_at=clock.now()) for n, name in enumerate(NAMES)]
    with write(runtime.engine) as conn:
        result = ingest(conn, workspace.id, people, rules=DEFAULT_RULES)
    segment = client.post("/api/segments", headers=workspace.bearer(), json={
        "name": "上海", "definition": {"trait": "city", "op": "eq", "value": "上海"}})
    assert segment.status_code in (200, 201), segment.text
    return {result.profile_ids[m.message_id]: m.traits["name"] for m in people}, segment.json()["id"]


def broadcast(client: Any, workspace: Any, segment_id: int, **body: Any) -> Any:
    return client.post("/api/broadcasts", headers=workspace.bearer(), json={
        "name": "双11预热", "segment_id": segment_id, "channel": "webhook", **body})


def test_a_template_broadcast_is_filled_in_for_each_member(runtime: Runtime, client: Any, workspace: Any,
                                                           hook: WebhookSink) -> None:
    named, segment_id = members(runtime, client, workspace)
    survey = client.post("/api/surveys", headers=workspace.bearer(), json={"name": "双11 满意度"}).json()
    template = {"body": {"greeting": "{{ profile.traits.name }}，双11见",
                         "survey": "{{ survey_link(" + str(survey["id"]) + ") }}"}}
    created = broadcast(client, workspace, segment_id, template=template, track_links=False)
    assert created.status_code == 201, created.text
    shown = created.json()
    assert (shown["template"], shown["content"], shown["track_links"]) == (template, None, False)
    assert client.get("/api/broadcasts", headers=workspace.bearer()).json()[0]["template"] == template

    assert broadcasts.fan_out_due(runtime.engine, workspace_id=workspace.id) == 3
    assert delivery.deliver_round(runtime, workspace_id=workspace.id).sent == 3
    got = {body["profile_id"]: body["payload"] for _, body in hook.deliveries}
    assert {pid: payload["greeting"] for pid, payload in got.items()} == {
        pid: f"{name}，双11见" for pid, name in named.items()}
    for pid, payload in got.items():  # untracked: the survey's own link, signed for this member's send
        token = payload["survey"].rsplit("/", 1)[-1]
        assert read_token(runtime.session_secret(), token) == (
            workspace.id, survey["id"], pid, f"broadcast:{shown['id']}:{pid}"), payload["survey"]


def test_a_test_send_of_a_template_broadcast_is_filled_in_too(runtime: Runtime, client: Any, workspace: Any,
                                                              hook: WebhookSink) -> None:
    named, segment_id = members(runtime, client, workspace)
    shown = broadcast(client, workspace, segment_id, send_at="2030-01-01T00:00:00Z",
                      template={"body": {"greeting": "{{ profile.traits.name | default('朋友') }}"}}).json()
    first = next(iter(named))
    sent = client.post(f"/api/broadcasts/{shown['id']}/test", headers=workspace.bearer(), json={"profile_ids": [first]})
    assert sent.status_code == 200, sent.text
    assert delivery.deliver_round(runtime, workspace_id=workspace.id).sent == 1
    assert [(body["profile_id"], body["payload"]) for _, body in hook.deliveries] == [
        (first, {"greeting": named[first]})]
    assert broadcasts.fan_out_due(runtime.engine, workspace_id=workspace.id) == 0  # the broadcast waits for 2030


def test_content_goes_as_written_even_with_braces(runtime: Runtime, client: Any, workspace: Any,
                                                  hook: WebhookSink) -> None:
    named, segment_id = members(runtime, client, workspace)
    shown = broadcast(client, workspace, segment_id, content={"note": "{{ traits.name }}"}).json()
    assert (shown["content"], shown["template"], shown["track_links"]) == ({"note": "{{ traits.name }}"}, None, True)
    broadcasts.fan_out_due(runtime.engine, workspace_id=workspace.id)
    assert delivery.deliver_round(runtime, workspace_id=workspace.id).sent == 3
    assert {body["payload"]["note"] for _, body in hook.deliveries} == {"{{ traits.name }}"}


def test_a_broadcast_takes_content_or_a_template(runtime: Runtime, client: Any, workspace: Any) -> None:
    _, segment_id = members(runtime, client, workspace)
    for body, code, field in (
            ({"content": {"a": "1"}, "template": {"body": {"a": "1"}}}, "messaging.invalid", "content"),
            ({}, "messaging.invalid", "content"),
            ({"template": {"body": {"a": "{% if %}"}}}, "messaging.invalid_template", "body.a"),
            ({"template": {"campaign": "1111"}}, "messaging.invalid_template", "body"),
            ({"channel": "email", "template": {"subject": "{{ profile.traits.name", "text": "hi"}},
             "messaging.invalid_template", "subject")):
        refused = broadcast(client, workspace, segment_id, **body)
        assert refused.status_code == 422, (body, refused.text)
        error = refused.json()["error"]
        assert (error["code"], error["details"]["field"]) == (code, field), (body, error)
    assert client.get("/api/broadcasts", headers=workspace.bearer()).json() == []
