"""Hosted forms, end to end: an operator creates a form through the API; a person opens the page,
asks for a code (a real signed SendSms to the fake Aliyun endpoint), submits with it, and becomes
one profile with a verified phone, their answers, consent recorded with the text they saw, the
form's tags and the channel of their visit. The rules around the code — expiry, wrong guesses,
throttling, failures — hold on both databases."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from siyu import clock
from siyu.acquisition.forms import InvalidForm, parse_definition, retry_after
from siyu.channels.fakes import FakeAliyunSms
from siyu.db.engine import read, write
from siyu.db.tables import consents, events, form_codes, form_submissions, identities
from siyu.runtime import Runtime
from siyu.workspaces import store as workspace_store
from tests.api.test_error_shape import assert_envelope

KEY_ID, KEY_SECRET = "LTAIform", "form-secret"
NOON = datetime(2026, 11, 11, 4, 0, tzinfo=UTC)  # 12:00 in Shanghai, Double 11
DEFINITION: dict[str, Any] = {
    "name": "双11 新客礼",
    "title": {"zh": "领取双11新客礼", "en": "Claim your Double 11 gift"},
    "description": {"zh": "留下手机号，领取小样", "en": "Leave your number for a sample"},
    "fields": [{"key": "name", "label": {"zh": "姓名", "en": "Name"}, "required": True},
               {"key": "skin_type", "type": "select", "label": {"zh": "肤质", "en": "Skin type"},
                "options": ["干性", "油性", "混合"]}],
    "consent": {"text": {"zh": "我同意完美日记通过短信向我发送优惠信息", "en": "I agree to receive offers by SMS"},
                "privacy_url": "https://brand.example/privacy",
                "purposes": [{"channel": "sms", "purpose": "marketing"}]},
    "sms": {"sign_name": "完美日记", "template_code": "SMS_VERIFY"},
    "channel": {"source": "xiaohongshu", "medium": "post"},
    "tags": ["双11新客"],
}


@pytest.fixture
def aliyun() -> Iterator[FakeAliyunSms]:
    with FakeAliyunSms({KEY_ID: KEY_SECRET}, signs={"完美日记"}, templates={"SMS_VERIFY": ["code"]}) as fake:
        yield fake


@pytest.fixture
def form(runtime: Runtime, client: Any, workspace: Any, aliyun: FakeAliyunSms) -> dict[str, Any]:
    with write(runtime.engine) as conn:
        workspace_store.update_workspace_settings(conn, workspace.id, {"channels": {"sms": {
            "access_key_id": KEY_ID, "access_key_secret": KEY_SECRET, "endpoint": aliyun.url}}})
    created = client.post("/api/forms", json={"definition": DEFINITION}, headers=workspace.bearer())
    assert created.status_code == 201, created.text
    clock.freeze(NOON)
    return created.json()


def ask(client: Any, form: dict[str, Any], phone: str = "13912345678", consent: bool = True) -> Any:
    return client.post(f"/f/{form['slug']}/code", json={"phone": phone, "consent": consent})


def sent_code(aliyun: FakeAliyunSms) -> str:
    return aliyun.received[-1].params["code"]


def submit(client: Any, form: dict[str, Any], code: str, phone: str = "13912345678", **extra: Any) -> Any:
    body = {"phone": phone, "code": code, "consent": True, "fields": {"name": "林娜", "skin_type": "混合"},
            "utm": {"utm_source": "xhs_kol_0611", "utm_campaign": "double11"}, "anonymous_id": "aid-1", **extra}
    return client.post(f"/f/{form['slug']}/submit", json=body)


def test_a_person_becomes_one_verified_profile_with_consent_evidence(runtime: Runtime, client: Any, workspace: Any,
                                                                     form: dict[str, Any],
                                                                     aliyun: FakeAliyunSms) -> None:
    page = client.get(f"/f/{form['slug']}", headers={"Accept-Language": "zh-CN,zh;q=0.9"})
    assert page.status_code == 200 and "领取双11新客礼" in page.text
    assert 'type="checkbox" id="consent">' in page.text  # never ticked for the person
    assert page.cookies.get("siyu_aid")
    answer = ask(client, form)
    assert answer.status_code == 200 and answer.json() == {"sent": True, "expires_in": 300, "retry_after": 60}
    [sms] = aliyun.received
    assert (sms.phone_numbers, sms.sign_name, sms.template_code) == ("13912345678", "完美日记", "SMS_VERIFY")
    code = sent_code(aliyun)
    assert len(code) == 6 and code.isdigit()
    wrong = submit(client, form, "000000" if code != "000000" else "111111")
    assert wrong.status_code == 400 and wrong.json()["error"]["code"] == "forms.wrong_code"
    assert wrong.json()["error"]["details"]["attempts_left"] == 4
    done = submit(client, form, code)
    assert done.status_code == 200 and done.json()["ok"] is True and "profile_id" not in done.json()
    again = submit(client, form, code)  # the double-click: same answer, one submission
    assert again.status_code == 200 and again.json() == done.json()

    with read(runtime.engine) as conn:
        [row] = conn.execute(select(form_submissions).where(form_submissions.c.workspace_id == workspace.id)).all()
        person = row.profile_id
        phone_owner = conn.execute(select(identities.c.profile_id).where(
            identities.c.workspace_id == workspace.id, identities.c.type == "phone")).scalar_one()
        granted = conn.execute(select(consents.c.channel, consents.c.purpose, consents.c.status).where(
            consents.c.workspace_id == workspace.id, consents.c.profile_id == person)).all()
        submitted = conn.execute(select(events).where(events.c.workspace_id == workspace.id,
                                                      events.c.name == "Form Submitted")).one()
        stored_hashes = conn.execute(select(form_codes.c.code_hash).where(
            form_codes.c.workspace_id == workspace.id)).scalars().all()
    assert phone_owner == person and row.phone == "+8613912345678"
    assert row.fields == {"name": "林娜", "skin_type": "混合"}
    assert row.consent["text"] == "我同意完美日记通过短信向我发送优惠信息" and row.consent["language"] == "zh"
    assert row.channel == {"source": "xhs_kol_0611", "medium": "post", "campaign": "double11"}
    assert granted == [("sms", "marketing", "granted")]
    assert submitted.profile_id == person and submitted.properties["form_id"] == form["id"]
    assert submitted.context["campaign"] == {"source": "xhs_kol_0611", "medium": "post", "name": "double11"}
    assert submitted.anonymous_id == "aid-1" and submitted.source == "form"
    assert code not in stored_hashes and all(len(h) == 64 for h in stored_hashes)  # only an HMAC is kept
    profile = client.get(f"/api/profiles/{person}", headers=workspace.bearer()).json()
    assert profile["traits"]["name"] == "林娜" and profile["traits"]["phone"] == "+8613912345678"
    assert "双11新客" in [t["name"] for t in profile["tags"]]
    figures = client.get(f"/api/forms/{form['id']}", headers=workspace.bearer()).json()["figures"]
    assert figures["total"] == {"views": 1, "codes_sent": 1, "codes_failed": 0, "submissions": 1,
                                "conversion": 1.0}


def test_a_code_expires_after_five_minutes(client: Any, form: dict[str, Any], aliyun: FakeAliyunSms) -> None:
    assert ask(client, form).status_code == 200
    clock.advance(timedelta(minutes=5, seconds=1))
    late = submit(client, form, sent_code(aliyun))
    assert late.status_code == 400 and late.json()["error"]["code"] == "forms.code_expired"


def test_five_wrong_guesses_lock_the_code(client: Any, form: dict[str, Any], aliyun: FakeAliyunSms) -> None:
    assert ask(client, form).status_code == 200
    right = sent_code(aliyun)
    wrong = "123456" if right != "123456" else "654321"
    answers = [submit(client, form, wrong).json()["error"] for _ in range(5)]
    assert [a["details"]["attempts_left"] for a in answers] == [4, 3, 2, 1, 0]
    locked = submit(client, form, right)
    assert locked.status_code == 429 and locked.json()["error"]["code"] == "forms.code_locked"


def test_codes_are_throttled_per_number_like_aliyun(client: Any, form: dict[str, Any], aliyun: FakeAliyunSms) -> None:
    assert ask(client, form).status_code == 200
    soon = ask(client, form)
    assert soon.status_code == 429 and soon.json()["error"]["code"] == "forms.too_many_codes"
    assert soon.json()["error"]["details"]["retry_after"] == 60
    for _ in range(4):
        clock.advance(timedelta(seconds=61))
        assert ask(client, form).status_code == 200
    clock.advance(timedelta(seconds=61))
    hourly = ask(client, form)  # the sixth within the hour
    assert hourly.status_code == 429 and hourly.json()["error"]["details"]["retry_after"] > 60
    assert ask(client, form, phone="13812345679").status_code == 200  # another number is not held up
    assert len(aliyun.received) == 6


def test_the_throttle_counts_the_oldest_code_in_each_window() -> None:
    now = NOON
    assert retry_after(now, [], ((timedelta(minutes=1), 1),)) is None
    assert retry_after(now, [now - timedelta(seconds=50)], ((timedelta(minutes=1), 1),)) == 10
    hour = ((timedelta(hours=1), 2),)
    assert retry_after(now, [now - timedelta(minutes=50), now - timedelta(minutes=10)], hour) == 600


def test_a_provider_refusal_is_a_502_and_does_not_use_up_the_quota(runtime: Runtime, client: Any, workspace: Any,
                                                                  form: dict[str, Any],
                                                                  aliyun: FakeAliyunSms) -> None:
    aliyun.fail_next("isv.BUSINESS_LIMIT_CONTROL")
    failed = ask(client, form)
    assert failed.status_code == 502 and failed.json()["error"]["code"] == "forms.sms_failed"
    with read(runtime.engine) as conn:
        [status] = conn.execute(select(form_codes.c.status).where(form_codes.c.workspace_id == workspace.id)).scalars()
    assert status == "failed"
    assert ask(client, form).status_code == 200  # a failed send does not count towards the minute


def test_consent_is_required_to_get_a_code_and_to_submit(client: Any, form: dict[str, Any],
                                                         aliyun: FakeAliyunSms) -> None:
    refused = ask(client, form, consent=False)
    assert refused.status_code == 400 and refused.json()["error"]["code"] == "forms.consent_required"
    assert aliyun.received == []
    assert ask(client, form).status_code == 200
    unticked = submit(client, form, sent_code(aliyun), consent=False)
    assert unticked.status_code == 400 and unticked.json()["error"]["code"] == "forms.consent_required"


def test_the_honeypot_answers_like_a_success_and_stores_nothing(runtime: Runtime, client: Any, workspace: Any,
                                                                form: dict[str, Any]) -> None:
    bot = submit(client, form, "123456", website="http://spam.example")
    assert bot.status_code == 200 and bot.json()["ok"] is True
    with read(runtime.engine) as conn:
        assert conn.execute(select(form_submissions).where(form_submissions.c.workspace_id == workspace.id)).all() == []


def test_answers_are_checked_against_the_form(client: Any, form: dict[str, Any], aliyun: FakeAliyunSms) -> None:
    assert ask(client, form).status_code == 200
    code = sent_code(aliyun)
    missing = submit(client, form, code, fields={"skin_type": "混合"})
    assert missing.status_code == 400 and missing.json()["error"]["details"]["field"] == "name"
    other = submit(client, form, code, fields={"name": "林娜", "skin_type": "中性"})
    assert other.status_code == 400 and other.json()["error"]["code"] == "forms.invalid_answer"
    assert submit(client, form, code).status_code == 200  # the code still works after refused answers


@pytest.mark.parametrize(("path", "body", "status", "code"), [
    ("code", b"{not json", 400, "forms.malformed"),
    ("code", b"[1]", 400, "forms.malformed"),
    ("code", b'{"phone": "' + b"1" * 20000 + b'"}', 413, "forms.too_large"),
    ("code", b'{"phone": "12345", "consent": true}', 400, "forms.invalid_phone"),
    ("submit", b'{"phone": 13912345678, "consent": true, "code": "1"}', 400, "forms.invalid_phone"),
    ("submit", b'{"phone": "13912345678", "consent": true, "fields": [1], "code": "1"}', 400,
     "forms.invalid_answer"),
])
def test_bad_requests_are_4xx_with_a_code(client: Any, form: dict[str, Any], path: str, body: bytes, status: int,
                                          code: str) -> None:
    answer = client.post(f"/f/{form['slug']}/{path}", content=body, headers={"Content-Type": "application/json"})
    assert assert_envelope(answer, status)["code"] == code


def test_an_archived_form_says_so_and_takes_nothing(client: Any, workspace: Any, form: dict[str, Any]) -> None:
    archived = client.patch(f"/api/forms/{form['id']}", json={"status": "archived"}, headers=workspace.bearer())
    assert archived.json()["status"] == "archived"
    page = client.get(f"/f/{form['slug']}?lang=en")
    assert page.status_code == 410 and "This form is closed" in page.text
    assert ask(client, form).status_code == 410
    assert client.get("/f/no-such-form").status_code == 404


def test_forms_belong_to_their_workspace(client: Any, other_workspace: Any, form: dict[str, Any]) -> None:
    assert client.get(f"/api/forms/{form['id']}", headers=other_workspace.bearer()).status_code == 404
    assert client.get("/api/forms", headers=other_workspace.bearer()).json() == []


def test_an_edit_makes_a_new_version_and_submissions_keep_theirs(runtime: Runtime, client: Any, workspace: Any,
                                                                  form: dict[str, Any], aliyun: FakeAliyunSms) -> None:
    changed = {**DEFINITION, "consent": {**DEFINITION["consent"], "text": "新的同意文字"}}
    edited = client.patch(f"/api/forms/{form['id']}", json={"definition": changed}, headers=workspace.bearer())
    assert edited.json()["version"] == 2
    assert ask(client, form).status_code == 200
    assert submit(client, form, sent_code(aliyun)).status_code == 200
    [row] = client.get(f"/api/forms/{form['id']}/submissions", headers=workspace.bearer()).json()
    assert row["form_version"] == 2 and row["consent"]["text"] == "新的同意文字"


def test_definitions_are_validated_with_the_path_of_each_problem() -> None:
    def problem(change: dict[str, Any]) -> str:
        with pytest.raises(InvalidForm) as caught:
            parse_definition({**DEFINITION, **change})
        return caught.value.details["path"]

    assert problem({"sms": None}) == "sms"
    assert problem({"fields": [{"key": "phone"}]}) == "fields[0].key"
    assert problem({"fields": [{"key": "x", "type": "select"}]}) == "fields[0].options"
    assert problem({"consent": {"text": "ok", "purposes": [{"channel": "fax", "purpose": "marketing"}]}}) == \
        "consent.purposes[0]"
    assert problem({"colour": "red"}) == "colour"
    assert problem({"redirect_url": "javascript:alert(1)"}) == "redirect_url"
    one_language = parse_definition({**DEFINITION, "title": "只有中文"})
    assert one_language.title == {"zh": "只有中文", "en": "只有中文"}
    assert parse_definition({**DEFINITION, "verify_phone": False, "sms": None}).sms is None


def test_an_invalid_definition_through_the_api_is_422(client: Any, workspace: Any) -> None:
    answer = client.post("/api/forms", json={"definition": {**DEFINITION, "tags": "双11"}}, headers=workspace.bearer())
    assert answer.status_code == 422 and answer.json()["error"]["details"]["path"] == "tags"
