"""The template functions ``member_centre_link()`` and ``survey_link(survey_id, send_key)``: signed for
the person being rendered — a survey link for the send being rendered, unless the template names its
send key — empty (with a preview warning) where the render has no signing, refused for a bad survey id
or send key; and end to end on both databases — a journey's message, a channel code's welcome message and
``POST /api/messages/preview`` carry a link that, followed with the test client, opens that person's
member centre (the preview only for a caller who could issue the link itself)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import pytest

from siyu import clock
from siyu.loyalty.member_centre_token import read_token
from siyu.messaging import delivery
from siyu.messaging.models import Channel, Purpose
from siyu.messaging.template_models import InvalidTemplate, MessageTemplate, PublicLinks, RenderContext, WarningCode
from siyu.messaging.templates import preview, render
from siyu.runtime import Runtime
from siyu.surveys.page import read_token as read_survey_token
from siyu.surveys.sends import send_key_for
from siyu.workspaces.models import Role
from tests.journeys.scenario import NOON, live, person, queued, run
from tests.loyalty.helpers import LADDER
from tests.messaging.fakes import WebhookSink
from tests.messaging.test_delivery import webhook_channel
from tests.workspaces.test_api import key

LINKS = PublicLinks(public_url="https://brand.example.cn", secret="s3cret", workspace_id=4, profile_id=42,
                    centre_link_days=10)
WHEN = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)


def _sms(text: str) -> MessageTemplate:
    """A text to render (a webhook's body: no channel limits in the way)."""
    return MessageTemplate(Channel.WEBHOOK, {"body": {"text": text}}, Purpose.TRANSACTIONAL)


def test_the_functions_sign_links_for_the_person_being_rendered() -> None:
    rendered = render(_sms("会员中心 {{ member_centre_link() }} 问卷 {{ survey_link(7) }} 【完美日记】"),
                      RenderContext(profile={"id": 42}, now=WHEN, public_links=LINKS))
    centre, survey = rendered.payload["text"].split()[1], rendered.payload["text"].split()[3]
    assert centre.startswith("https://brand.example.cn/m/")
    token = read_token("s3cret", centre.rsplit("/", 1)[1])
    assert (token.workspace_id, token.profile_id, token.expires_at) == (4, 42, WHEN + timedelta(days=10))
    assert survey.startswith("https://brand.example.cn/survey/")
    assert read_survey_token("s3cret", survey.rsplit("/", 1)[1]) == (4, 7, 42, "default")
    assert render(_sms("{{ survey_link('7') }}"), RenderContext(public_links=LINKS)).payload["text"] == survey


def test_without_signing_they_render_empty_and_the_preview_says_so() -> None:
    template = _sms("会员中心：{{ member_centre_link() }}{{ survey_link(3) }}")
    assert render(template, RenderContext(now=WHEN)).payload["text"] == "会员中心："
    warnings = preview(template, RenderContext(now=WHEN)).warnings
    missing = {w.message.split(" ")[0] for w in warnings if w.code is WarningCode.MISSING_VALUE}
    assert missing == {"member_centre_link", "survey_link"}
    assert not [w for w in preview(template, RenderContext(now=WHEN, public_links=LINKS)).warnings
                if w.code in (WarningCode.MISSING_VALUE, WarningCode.UNKNOWN_VARIABLE)]


@pytest.mark.parametrize("bad", ["'abc'", "-1", "True", "none", "[1]"])
def test_a_survey_id_that_is_not_a_whole_number_is_a_template_error(bad: str) -> None:
    with pytest.raises(InvalidTemplate) as refused:
        render(_sms(f"{{{{ survey_link({bad}) }}}}"), RenderContext(public_links=LINKS))
    assert "survey_link() takes a survey id" in refused.value.message


def test_a_survey_link_stands_for_the_send_being_rendered() -> None:
    template = _sms("{{ survey_link(7) }}")
    first = RenderContext(public_links=LINKS, send_key="journey:3:1:ask:501")

    def send_key(context: RenderContext) -> str:
        return read_survey_token("s3cret", render(template, context).payload["text"].rsplit("/", 1)[1])[3]

    assert send_key(first) == "journey:3:1:ask:501"
    assert render(template, first).payload == render(template, first).payload  # the same send, the same link
    assert send_key(RenderContext(public_links=LINKS, send_key="journey:3:1:ask:777")) == "journey:3:1:ask:777"
    assert send_key(RenderContext(public_links=LINKS)) == "default"  # no send (a preview): as before
    long_api_key = "api:" + "订单 42/" * 30
    assert send_key(RenderContext(public_links=LINKS, send_key=long_api_key)) == send_key_for(long_api_key)


def test_a_template_may_pin_the_send_key() -> None:
    context = RenderContext(public_links=LINKS, send_key="broadcast:9:42")
    for source in ("{{ survey_link(7, '2027-q1') }}", "{{ survey_link(7, send_key='2027-q1') }}"):
        link = render(_sms(source), context).payload["text"]
        assert read_survey_token("s3cret", link.rsplit("/", 1)[1]) == (4, 7, 42, "2027-q1")
    lacking = render(_sms("{{ survey_link(7, profile.traits.wave) }}"), context).payload["text"]  # no such trait
    assert read_survey_token("s3cret", lacking.rsplit("/", 1)[1]) == (4, 7, 42, "broadcast:9:42")


@pytest.mark.parametrize("bad", ["''", "'两千'", "'a b'", "7", "'" + "k" * 101 + "'"])
def test_a_send_key_outside_the_allowed_characters_is_a_template_error(bad: str) -> None:
    with pytest.raises(InvalidTemplate) as refused:
        render(_sms(f"{{{{ survey_link(7, {bad}) }}}}"), RenderContext(public_links=LINKS))
    assert "send key" in refused.value.message


@pytest.fixture
def hook(runtime: Runtime, workspace: Any) -> Iterator[WebhookSink]:
    with webhook_channel(runtime, workspace.id) as sink:
        yield sink


def _follow(client: Any, url: str) -> Any:
    """Open a link from a message as the person's phone would (tracked links redirect first)."""
    return client.get(urlsplit(url)._replace(scheme="", netloc="").geturl(), follow_redirects=True)


def _two_members_and_a_survey(client: Any, workspace: Any) -> tuple[int, int, dict[str, Any]]:
    """Lina (321 points) and Wei (5 points) under a programme whose centre links last 14 days, and an NPS survey."""
    assert client.put("/api/loyalty/programme", headers=workspace.bearer(),
                      json={"tiers": LADDER, "centre_link_days": 14}).status_code == 200
    lina, wei = person(client, workspace, "lina", name="林娜"), person(client, workspace, "wei")
    for who, points in ((lina, 321), (wei, 5)):
        client.post(f"/api/loyalty/members/{who}/adjust", headers=workspace.bearer(),
                    json={"points": points, "note": "gift", "idempotency_key": f"gift-{who}"})
    survey = client.post("/api/surveys", headers=workspace.bearer(), json={"name": "购后 NPS"}).json()
    return lina, wei, survey


def test_a_journey_message_carries_a_working_member_centre_and_survey_link(runtime: Runtime, client: Any,
                                                                           workspace: Any, hook: WebhookSink) -> None:
    clock.freeze(NOON)
    lina, wei, survey = _two_members_and_a_survey(client, workspace)
    journey = live(client, workspace, {"trigger": {"api": True}, "steps": [
        {"id": "hello", "send": {"channel": "webhook", "purpose": "transactional", "template": {"body": {
            "text": "{{ profile.traits.name | default('你') }}，你的会员中心",
            "centre": "{{ member_centre_link() }}", "survey": "{{ survey_link(" + str(survey["id"]) + ") }}"}}}}]})
    for who in (lina, wei):
        entered = client.post(f"/api/journeys/{journey['id']}/entries", headers=workspace.bearer(),
                              json={"profile_id": who, "idempotency_key": f"in-{who}"})
        assert entered.status_code == 201, entered.text
    run(runtime, workspace)
    assert delivery.deliver_round(runtime, workspace_id=workspace.id).sent == 2  # as the worker sends
    sent = {m["profile_id"]: m["payload"] for m in queued(runtime, workspace, journey["id"])}
    assert sent[lina]["text"] == "林娜，你的会员中心"
    page = _follow(client, sent[lina]["centre"])
    assert page.status_code == 200 and urlsplit(str(page.url)).path.startswith("/m/")
    assert 'id="balance">321<' in page.text  # Lina's own centre, not Wei's
    assert 'id="balance">5<' in _follow(client, sent[wei]["centre"]).text
    token = read_token(runtime.session_secret(), urlsplit(str(page.url)).path.rsplit("/", 1)[1])
    assert token.profile_id == lina and token.expires_at == NOON + timedelta(days=14)
    answer_page = _follow(client, sent[lina]["survey"])
    assert answer_page.status_code == 200 and 'name="score"' in answer_page.text
    clock.advance(timedelta(days=14))
    assert _follow(client, sent[lina]["centre"]).status_code == 410


def test_a_channel_code_welcome_message_carries_a_working_member_centre_link(runtime: Runtime, client: Any,
                                                                            workspace: Any) -> None:
    from tests.staff.platforms import APP, platforms

    clock.freeze(datetime(2026, 11, 30, 2, 0, tzinfo=UTC))
    assert client.put("/api/loyalty/programme", headers=workspace.bearer(), json={"tiers": LADDER}).status_code == 200
    with platforms(runtime, client, workspace) as fake:
        created = client.post("/api/channel-codes", headers=workspace.bearer(), json={
            "kind": "wechat_qr", "key": "store_card", "name": "门店会员卡", "caption": "扫码入会",
            "welcome": {"text": "欢迎入会！你的会员中心：{{ member_centre_link() }}"}})
        assert created.status_code == 201, created.text
        answer = fake.wechat_push.push(fake.wechat_push.follow("oStore1", scene="store_card"))
        text = fake.wechat_push.reply(answer)["Content"]
        assert text.startswith("欢迎入会！你的会员中心：http")
        newcomer = fake.profile_of(client, workspace, f"wechat_openid:{APP}", "oStore1")
    url = text.split("：", 1)[1]
    token = read_token(runtime.session_secret(), url.rsplit("/", 1)[1])
    assert token.profile_id == newcomer and token.workspace_id == workspace.id
    page = _follow(client, url)
    assert page.status_code == 200 and "普卡" in page.text and 'id="balance">0<' in page.text


def _preview(client: Any, headers: dict[str, str], profile_id: int, template: dict[str, Any]) -> dict[str, Any]:
    response = client.post("/api/messages/preview", headers=headers, json={
        "profile_id": profile_id, "channel": "webhook", "purpose": "transactional", "template": template})
    assert response.status_code == 200, response.text
    return response.json()


def test_a_preview_carries_the_working_links_a_send_would(runtime: Runtime, client: Any, workspace: Any) -> None:
    clock.freeze(NOON)
    lina, wei, survey = _two_members_and_a_survey(client, workspace)
    template = {"body": {"centre": "{{ member_centre_link() }}", "survey": f"{{{{ survey_link({survey['id']}) }}}}"}}
    shown = _preview(client, workspace.bearer(), lina, template)
    assert not [w for w in shown["warnings"] if w["code"] == WarningCode.MISSING_VALUE]
    page = _follow(client, shown["payload"]["centre"])
    assert page.status_code == 200 and urlsplit(str(page.url)).path.startswith("/m/")
    assert 'id="balance">321<' in page.text  # Lina's own centre, not Wei's
    token = read_token(runtime.session_secret(), urlsplit(shown["payload"]["centre"]).path.rsplit("/", 1)[1])
    assert (token.workspace_id, token.profile_id, token.expires_at) == (workspace.id, lina, NOON + timedelta(days=14))
    assert 'id="balance">5<' in _follow(client, _preview(client, workspace.bearer(), wei,
                                                         template)["payload"]["centre"]).text
    answer_page = _follow(client, shown["payload"]["survey"])
    assert answer_page.status_code == 200 and 'name="score"' in answer_page.text
    operator = _preview(client, key(runtime, workspace.id, Role.OPERATOR), lina, template)["payload"]
    assert read_token(runtime.session_secret(), operator["centre"].rsplit("/", 1)[1]).profile_id == lina


def test_a_preview_of_a_merged_away_id_signs_for_the_survivor(runtime: Runtime, client: Any, workspace: Any) -> None:
    clock.freeze(NOON)
    lina = person(client, workspace, "lina")
    client.post("/v1/track", auth=(workspace.write_key, ""), json={
        "anonymousId": "tmall-x", "event": "Viewed", "context": {"traits": {"email": "lina@mail.cn"}}})
    other = client.get("/api/profiles/lookup", params={"type": "email", "value": "lina@mail.cn"},
                       headers=workspace.bearer()).json()["id"]
    assert other != lina
    merged = client.post(f"/api/profiles/{lina}/merge", json={"other": other}, headers=workspace.bearer())
    assert merged.status_code == 200, merged.text
    centre = _preview(client, workspace.bearer(), other, {"body": {"centre": "{{ member_centre_link() }}"}})
    token = read_token(runtime.session_secret(), centre["payload"]["centre"].rsplit("/", 1)[1])
    assert token.profile_id == lina


@pytest.mark.parametrize("role", [Role.ANALYST, Role.STAFF])
def test_a_preview_shows_no_working_link_to_a_caller_who_could_not_issue_one(runtime: Runtime, client: Any,
                                                                            workspace: Any, role: Role) -> None:
    lina = person(client, workspace, "lina")
    shown = _preview(client, key(runtime, workspace.id, role), lina,
                     {"body": {"text": "会员中心：{{ member_centre_link() }}{{ survey_link(3) }}"}})
    assert shown["payload"]["text"] == "会员中心："
    missing = {w["message"].split(" ")[0] for w in shown["warnings"] if w["code"] == WarningCode.MISSING_VALUE}
    assert missing == {"member_centre_link", "survey_link"}
