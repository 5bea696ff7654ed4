"""One-click unsubscribe (RFC 8058): the link in every marketing e-mail works with one POST and no
login, the person is out of marketing on that channel, transactional mail still goes."""

from __future__ import annotations

from typing import Any

from siyu.messaging import delivery
from siyu.messaging.unsubscribe import links
from siyu.runtime import Runtime
from tests.messaging.fakes import SmtpSink
from tests.messaging.test_delivery import configure, log, person, queue, smtp  # noqa: F401 - fixture


def test_the_link_in_a_marketing_email_unsubscribes_with_one_post(runtime: Runtime, client: Any, workspace: Any,
                                                                  smtp: tuple[SmtpSink, int]) -> None:  # noqa: F811
    sink, port = smtp
    configure(runtime, workspace.id, smtp_port=port)
    profile = person(client, workspace)
    client.put(f"/api/profiles/{profile}/consent", headers=workspace.bearer(),
               json={"channel": "email", "purpose": "marketing", "status": "granted"})
    queue(client, workspace, profile, purpose="marketing")
    queue(client, workspace, profile, purpose="transactional")
    delivery.deliver_due(runtime.engine, workspace_id=workspace.id, unsubscribe_url=links(runtime))
    marketing = next(m for m in sink.received if m["List-Unsubscribe"])
    assert [m["List-Unsubscribe"] is None for m in sink.received].count(True) == 1  # transactional: no link
    url = "".join(str(marketing["List-Unsubscribe"]).split()).strip("<>")  # headers may be folded
    assert url.startswith(f"{runtime.config.public_url}/u/")
    path = url.removeprefix(runtime.config.public_url)
    assert "退订" in client.get(path).text  # the page, for people who open the link

    one_click = client.post(path, content="List-Unsubscribe=One-Click",
                            headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert one_click.status_code == 200 and "Unsubscribed" in one_click.text
    consent = client.get(f"/api/profiles/{profile}", headers=workspace.bearer()).json()["consent"]
    assert {(c["channel"], c["purpose"], c["status"], c["source"]) for c in consent} >= {
        ("email", "marketing", "revoked", "unsubscribe_link")}
    queue(client, workspace, profile, purpose="marketing")
    queue(client, workspace, profile, purpose="transactional", idempotency_key="receipt-2")
    report = delivery.deliver_due(runtime.engine, workspace_id=workspace.id, unsubscribe_url=links(runtime))
    assert (report.sent, report.reasons) == (1, {"policy.unsubscribed": 1})
    assert client.post(path).status_code == 200  # again: still fine, still out


def test_a_bad_or_tampered_link_is_a_404_page(client: Any) -> None:
    for token in ("nonsense", "WzEsMSwiZW1haWwiXQ.tampered"):
        assert client.get(f"/u/{token}").status_code == 404
        assert client.post(f"/u/{token}").status_code == 404
