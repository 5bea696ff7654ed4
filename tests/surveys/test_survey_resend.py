"""A survey sent again, end to end on both databases: a journey's ``{{ survey_link(id) }}`` stands for
the send it goes out in, so a buyer asked after each of two orders answers both and both answers count,
while one send stays one answer (a re-answer within 7 days replaces it, a later one is refused) and the
same send rendered again signs the same link. A link a template pins to a send key of its own asks once,
whichever message carries it."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

import pytest

from siyu import clock
from siyu.db.engine import read
from siyu.messaging import delivery
from siyu.messaging.models import Channel, Purpose
from siyu.messaging.render import render_for, signing_of
from siyu.runtime import Runtime
from siyu.surveys.page import read_token
from siyu.workspaces import store as workspace_store
from tests.journeys.scenario import NOON, live, person, queued, run, track
from tests.messaging.fakes import WebhookSink
from tests.messaging.test_delivery import webhook_channel


@pytest.fixture
def hook(runtime: Runtime, workspace: Any) -> Iterator[WebhookSink]:
    with webhook_channel(runtime, workspace.id) as sink:
        yield sink


def _after_each_order(client: Any, workspace: Any, link: str) -> dict[str, Any]:
    """The demo's post-purchase NPS journey, sent by webhook: at most once a month, after an order."""
    return live(client, workspace, {"trigger": {"event": "Order Completed"},
                                    "entry": {"rule": "once_per", "period": "30d"},
                                    "steps": [{"id": "ask", "send": {"channel": "webhook", "purpose": "transactional",
                                                                     "template": {"body": {"survey": link}}}}]})


def _order_and_deliver(runtime: Runtime, client: Any, workspace: Any, journey_id: int) -> dict[str, Any]:
    """An order, a round of the journey and of delivery (as the worker runs them): the message sent."""
    track(client, workspace, "lina", "Order Completed", total=199)
    run(runtime, workspace)
    assert delivery.deliver_round(runtime, workspace_id=workspace.id).sent == 1
    return queued(runtime, workspace, journey_id)[-1]


def _page(client: Any, url: str) -> str:
    """The survey page a link in a message opens, as the person's phone follows it (tracked links
    redirect first): its path."""
    opened = client.get(urlsplit(url)._replace(scheme="", netloc="").geturl(), follow_redirects=True)
    assert opened.status_code == 200 and 'name="score"' in opened.text, opened.text
    return urlsplit(str(opened.url)).path


def _answers(client: Any, workspace: Any, survey_id: int) -> int:
    report = client.get(f"/api/surveys/{survey_id}/nps", headers=workspace.bearer())
    assert report.status_code == 200, report.text
    return report.json()["overall"]["answers"]


def test_a_buyer_asked_after_two_orders_answers_both_and_one_send_stays_one_answer(
        runtime: Runtime, client: Any, workspace: Any, hook: WebhookSink) -> None:
    clock.freeze(NOON)
    survey = client.post("/api/surveys", headers=workspace.bearer(), json={"name": "购后 NPS"}).json()
    lina = person(client, workspace, "lina")
    journey = _after_each_order(client, workspace, "{{ survey_link(" + str(survey["id"]) + ") }}")

    first = _order_and_deliver(runtime, client, workspace, journey["id"])
    first_page = _page(client, first["payload"]["survey"])
    secret = runtime.session_secret()
    assert read_token(secret, first_page.rsplit("/", 1)[1]) == (workspace.id, survey["id"], lina,
                                                                first["idempotency_key"])
    assert client.post(first_page, data={"score": "6"}).status_code == 200
    assert client.post(first_page, data={"score": "9"}).status_code == 200  # a change of mind replaces it
    assert _answers(client, workspace, survey["id"]) == 1

    clock.advance(timedelta(days=40))  # the second order, after the journey's month
    second = _order_and_deliver(runtime, client, workspace, journey["id"])
    second_page = _page(client, second["payload"]["survey"])
    assert second["idempotency_key"] != first["idempotency_key"] and second_page != first_page
    assert client.post(second_page, data={"score": "10"}).status_code == 200  # a new send: a new answer
    assert _answers(client, workspace, survey["id"]) == 2
    assert client.post(second_page, data={"score": "10"}).status_code == 200  # a double submit ...
    assert _answers(client, workspace, survey["id"]) == 2  # ... is still that send's one answer
    refused = client.post(first_page, data={"score": "0"})  # the first send, 40 days on: closed
    assert refused.status_code == 409
    report = client.get(f"/api/surveys/{survey['id']}/nps", headers=workspace.bearer()).json()["overall"]
    assert (report["answers"], report["promoters"], report["detractors"]) == (2, 2, 0)

    with read(runtime.engine) as conn:  # the first send rendered again: its own link, the same one
        again = render_for(conn, workspace_store.get_workspace(conn, workspace.id), lina, Channel.WEBHOOK,
                           Purpose.TRANSACTIONAL, {"body": {"survey": "{{ survey_link(" + str(survey["id"]) + ") }}"}},
                           signing=signing_of(runtime), send_key=first["idempotency_key"])
    assert urlsplit(again.payload["survey"]).path == first_page


def test_a_link_pinned_to_a_send_key_asks_once_whatever_carries_it(runtime: Runtime, client: Any, workspace: Any,
                                                                   hook: WebhookSink) -> None:
    clock.freeze(NOON)
    survey = client.post("/api/surveys", headers=workspace.bearer(), json={"name": "年度 NPS"}).json()
    lina = person(client, workspace, "lina")
    journey = _after_each_order(client, workspace, "{{ survey_link(" + str(survey["id"]) + ", '2026') }}")
    first = _page(client, _order_and_deliver(runtime, client, workspace, journey["id"])["payload"]["survey"])
    clock.advance(timedelta(days=40))
    second = _page(client, _order_and_deliver(runtime, client, workspace, journey["id"])["payload"]["survey"])
    assert first == second
    assert read_token(runtime.session_secret(), first.rsplit("/", 1)[1]) == (workspace.id, survey["id"], lina, "2026")
    assert client.post(second, data={"score": "8"}).status_code == 200
    assert client.post(second, data={"score": "9"}).status_code == 200
    assert _answers(client, workspace, survey["id"]) == 1
