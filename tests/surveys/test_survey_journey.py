"""A survey sent through a journey: links issued for a segment land in each member's trait, a journey's
send step writes the trait into the message, and the rendered message carries the person's own link,
which opens their survey and records their answer."""

from __future__ import annotations

from typing import Any

from siyu import clock
from siyu.db.engine import read
from siyu.messaging.models import Channel, Purpose
from siyu.messaging.render import render_for
from siyu.runtime import Runtime
from siyu.workspaces import store as workspace_store
from tests.journeys.scenario import NOON, live, person, queued, quiet_policy, run


def test_a_journey_sends_each_person_their_own_survey_link(runtime: Runtime, client: Any, workspace: Any) -> None:
    quiet_policy(runtime, workspace.id)
    clock.freeze(NOON)
    survey = client.post("/api/surveys", headers=workspace.bearer(), json={"name": "购后 NPS"}).json()
    lina, wei = person(client, workspace, "lina", vip=True), person(client, workspace, "wei", vip=True)
    vips = client.post("/api/segments", headers=workspace.bearer(), json={
        "name": "VIP", "definition": {"trait": "vip", "op": "eq", "value": True}}).json()["id"]
    issued = client.post(f"/api/surveys/{survey['id']}/links", headers=workspace.bearer(),
                         json={"segment_id": vips, "send_key": "2026-11"})
    assert issued.status_code == 200, issued.text
    urls = {link["profile_id"]: link["url"] for link in issued.json()["links"]}
    assert set(urls) == {lina, wei} and urls[lina] != urls[wei]
    text = {"zh": f"点这里打分：{{{{ profile.traits.survey_{survey['id']}_link }}}}",
            "en": f"Rate us: {{{{ profile.traits.survey_{survey['id']}_link }}}}"}
    template = {"subject": {"zh": "花 1 分钟评价我们", "en": "One minute for us?"}, "text": text}
    journey = live(client, workspace, {"trigger": {"api": True}, "steps": [
        {"id": "nps", "send": {"channel": "email", "purpose": "marketing", "template": template}}]})
    for who in (lina, wei):
        entered = client.post(f"/api/journeys/{journey['id']}/entries", headers=workspace.bearer(),
                              json={"profile_id": who, "idempotency_key": f"nps-{who}"})
        assert entered.status_code in (200, 201), entered.text
    run(runtime, workspace)
    sent = queued(runtime, workspace, journey["id"])
    assert sorted(m["profile_id"] for m in sent) == sorted([lina, wei])
    with read(runtime.engine) as conn:
        ws = workspace_store.get_workspace(conn, workspace.id)
        for message in sent:
            payload = message["payload"].get("$template", message["payload"])
            rendered = render_for(conn, ws, message["profile_id"], Channel.EMAIL, Purpose.MARKETING, payload)
            assert urls[message["profile_id"]] in rendered.payload["text"]
    token = urls[wei].rsplit("/survey/", 1)[1]
    assert client.post(f"/survey/{token}", data={"score": "10"}).status_code == 200
    report = client.get(f"/api/surveys/{survey['id']}/nps", headers=workspace.bearer()).json()
    assert report["overall"]["promoters"] == 1
