"""The two things a person does on a form — ask for a code, submit — as transactions.

Sending a code: the code's row is committed (``sending``) before the SMS provider is called, and
marked ``sent`` or ``failed`` after; SMS providers are not idempotent, so a crash between the two
leaves a row and never a second SMS (the person asks again after a minute). Submitting: the guess
is checked and counted in its own transaction (a wrong guess must count even though the request
fails), then one transaction resolves the person through the ingest pipeline, records consent with
the exact text shown, adds the form's tags and stores the submission, keyed by the code, so a
double-click or a retried request gives the same answer and stores one submission.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from siyu import clock
from siyu.acquisition import forms_store as store
from siyu.acquisition.forms import (
    CODE_TTL,
    MAX_ATTEMPTS,
    PER_IP,
    PER_PHONE,
    FormError,
    FormNotFound,
    TooManyCodes,
    clean_answers,
    code_hash,
    new_code,
    parse_definition,
    retry_after,
)
from siyu.channels.base import ChannelError
from siyu.channels.sms import Sms, sms_channel
from siyu.db.engine import read, write
from siyu.identity.normalise import InvalidIdentifier, normalise_phone
from siyu.identity.rules import IdentityRules
from siyu.ingest.pipeline import ingest
from siyu.ingest.spec import parse_message
from siyu.profiles.editing import set_consent
from siyu.profiles.tagging import add_tags_by_name
from siyu.runtime import Runtime
from siyu.workspaces import store as workspace_store

FORM_SUBMITTED = "Form Submitted"


@dataclass(frozen=True)
class Visitor:
    """Where a request came from: kept with codes (throttling) and submissions (consent evidence)."""

    ip: str | None
    user_agent: str | None
    language: str


def open_form(rt: Runtime, slug: str) -> tuple[int, dict[str, Any]]:
    with read(rt.engine) as conn:
        found = store.form_by_slug(conn, slug)
    if found is None:
        raise FormNotFound("This form does not exist.")
    if found[1]["status"] != "active":
        raise FormError("This form is closed.", code="forms.closed", status=410)
    return found


def _phone(raw: Any, region: str) -> str:
    if not isinstance(raw, str) or not raw.strip():
        raise FormError("Enter your mobile number.", code="forms.invalid_phone", details={"field": "phone"})
    try:
        return normalise_phone(raw, region)
    except InvalidIdentifier:
        raise FormError("That is not a valid mobile number.", code="forms.invalid_phone",
                        details={"field": "phone"}) from None


def _consented(value: Any) -> None:
    if value is not True:
        raise FormError("Tick the consent box to continue.", code="forms.consent_required",
                        details={"field": "consent"})


def send_code(rt: Runtime, slug: str, body: dict[str, Any], visitor: Visitor) -> dict[str, Any]:
    workspace_id, form = open_form(rt, slug)
    definition = parse_definition(form["definition"])
    if not definition.verify_phone or definition.sms is None:
        raise FormError("This form does not verify phone numbers.", code="forms.no_verification")
    _consented(body.get("consent"))
    now = clock.now()
    with read(rt.engine) as conn:
        workspace = workspace_store.get_workspace(conn, workspace_id)
    phone = _phone(body.get("phone"), workspace.default_region)
    config = ((workspace.settings or {}).get("channels") or {}).get("sms")
    if not config:
        raise FormError("Codes cannot be sent right now.", code="forms.sms_not_configured", status=503)
    code = new_code()
    with write(rt.engine) as conn:
        for sent, limits, who in ((store.codes_sent_since(conn, workspace_id, since=now - PER_PHONE[-1][0],
                                                          phone=phone), PER_PHONE, "number"),
                                  (store.codes_sent_since(conn, workspace_id, since=now - PER_IP[-1][0],
                                                          ip=visitor.ip), PER_IP, "address")):
            if who == "address" and visitor.ip is None:
                continue
            wait = retry_after(now, sent, limits)
            if wait is not None:
                raise TooManyCodes(f"Too many codes for this {who}; try again in {wait} seconds.",
                                   details={"retry_after": wait})
        code_id = store.add_code(conn, workspace_id, form["id"], phone=phone,
                                 code_hash=code_hash(rt.session_secret(), form["id"], phone, code), ip=visitor.ip,
                                 now=now, ttl=CODE_TTL)
    sms = Sms(phone=phone, sign_name=definition.sms["sign_name"], template_code=definition.sms["template_code"],
              params={definition.sms["param"]: code}, out_id=f"form-code:{code_id}")
    try:
        provider_id = sms_channel(config).provider.send(sms)
    except (ChannelError, KeyError, ValueError) as error:
        detail = getattr(error, "detail", None) or str(error)
        with write(rt.engine) as conn:
            store.finish_code(conn, workspace_id, code_id, status="failed", detail=detail[:500])
        raise FormError("The code could not be sent; try again in a moment.", code="forms.sms_failed",
                        status=502) from None
    with write(rt.engine) as conn:
        store.finish_code(conn, workspace_id, code_id, status="sent", provider_id=provider_id)
    return {"sent": True, "expires_in": int(CODE_TTL.total_seconds()),
            "retry_after": int(PER_PHONE[0][0].total_seconds())}


def submit(rt: Runtime, slug: str, body: dict[str, Any], visitor: Visitor) -> dict[str, Any]:
    workspace_id, form = open_form(rt, slug)
    definition = parse_definition(form["definition"])
    language = visitor.language
    answer = {"ok": True, "message": definition.success.get(language) or definition.success.get("zh", ""),
              "redirect_url": definition.redirect_url}
    if body.get("website"):  # the honeypot: people never see the field, bots fill it in
        return answer
    _consented(body.get("consent"))
    with read(rt.engine) as conn:
        workspace = workspace_store.get_workspace(conn, workspace_id)
    phone = _phone(body.get("phone"), workspace.default_region)
    answers = clean_answers(definition, body.get("fields"))
    if definition.verify_phone:
        key = _check_code(rt, workspace_id, form["id"], phone, body.get("code"))
    else:
        client_key = body.get("idempotency_key")
        if not isinstance(client_key, str) or not 8 <= len(client_key) <= 100:
            raise FormError("idempotency_key is required (8 to 100 characters).", code="forms.invalid_answer",
                            details={"field": "idempotency_key"})
        key = "page:" + hashlib.sha256(f"{form['id']}:{phone}:{client_key}".encode()).hexdigest()[:40]
    with write(rt.engine) as conn:
        if store.submission_by_key(conn, workspace_id, key) is not None:
            return answer  # the double-click, or a retry after a lost answer
        if definition.verify_phone and not store.use_code(conn, workspace_id, int(key.split(":")[1])):
            raise FormError("This code was used already; ask for a new one.", code="forms.code_used")
        _record(conn, rt, workspace, form, definition, phone, answers, body, visitor, key)
    return answer


def _check_code(rt: Runtime, workspace_id: int, form_id: int, phone: str, guess: Any) -> str:
    """The submission's key (``code:<id>``) when the guess is right; counts a wrong one."""
    if not isinstance(guess, str) or not guess.strip().isdigit():
        raise FormError("Enter the code from the SMS.", code="forms.wrong_code", details={"field": "code"})
    now = clock.now()
    with write(rt.engine) as conn:
        code = store.latest_code(conn, workspace_id, form_id, phone)
        if code is None:
            raise FormError("Ask for a code first.", code="forms.no_code", details={"field": "code"})
        key = f"code:{code['id']}"
        if code["status"] == "used":
            if store.submission_by_key(conn, workspace_id, key) is not None:
                return key  # the same submission again: answered as before
            raise FormError("This code was used already; ask for a new one.", code="forms.code_used")
        if code["status"] == "locked":
            raise FormError("Too many wrong codes; ask for a new one.", code="forms.code_locked", status=429)
        if code["expires_at"] <= now:
            raise FormError("The code has expired; ask for a new one.", code="forms.code_expired",
                            details={"field": "code"})
        if not hmac.compare_digest(code["code_hash"], code_hash(rt.session_secret(), form_id, phone, guess.strip())):
            attempts = store.wrong_guess(conn, workspace_id, code["id"], lock_at=MAX_ATTEMPTS)
            wrong = FormError("The code is not right.", code="forms.wrong_code",
                              details={"field": "code", "attempts_left": max(0, MAX_ATTEMPTS - attempts)})
        else:
            wrong = None
    if wrong is not None:  # raised after the commit, so the wrong guess counts
        raise wrong
    return key


def _record(conn: Any, rt: Runtime, workspace: Any, form: dict[str, Any], definition: Any, phone: str,
            answers: dict[str, str], body: dict[str, Any], visitor: Visitor, key: str) -> int | None:
    now = clock.now()
    channel = {**definition.channel, **_utm(body.get("utm"))}
    campaign = {("name" if k == "campaign" else k): v for k, v in channel.items()}
    anonymous_id = body.get("anonymous_id") if isinstance(body.get("anonymous_id"), str) else None
    context = {"ip": visitor.ip, "userAgent": visitor.user_agent, "locale": visitor.language,
               **({"campaign": campaign} if campaign else {})}
    who = {"anonymousId": anonymous_id[:200]} if anonymous_id else {}
    identify = parse_message({"type": "identify", "messageId": f"form:{key}:identify", **who,
                              "traits": {"phone": phone, **answers}, "context": context}, received_at=now,
                             source="form")
    submitted = parse_message({"type": "track", "event": FORM_SUBMITTED, "messageId": f"form:{key}:track", **who,
                               "properties": {"form_id": form["id"], "form_name": definition.name,
                                              "form_version": form["version"], **answers},
                               "context": {**context, "traits": {"phone": phone}}}, received_at=now, source="form")
    result = ingest(conn, workspace.id, [identify, submitted], rules=IdentityRules.from_settings(workspace.settings),
                    region=workspace.default_region, dedupe_window=timedelta(hours=rt.config.dedupe_window_hours))
    profile_id = result.profile_ids.get(submitted.message_id)
    shown = definition.consent_text.get(visitor.language) or definition.consent_text["zh"]
    if profile_id is not None:
        for purpose in definition.purposes:
            set_consent(conn, workspace.id, profile_id, purpose["channel"], purpose["purpose"], "granted",
                        source=f"form:{form['id']}", actor="form")
        add_tags_by_name(conn, workspace.id, definition.tags, profile_id, source="form", actor=f"form:{form['id']}")
    store.add_submission(conn, workspace.id, {
        "form_id": form["id"], "form_version": form["version"], "profile_id": profile_id, "phone": phone,
        "fields": answers, "channel": channel,
        "consent": {"text": shown, "language": visitor.language, "privacy_url": definition.privacy_url,
                    "purposes": definition.purposes, "at": now.isoformat()},
        "ip": visitor.ip, "user_agent": (visitor.user_agent or "")[:500] or None, "idempotency_key": key,
        "created_at": now})
    return profile_id


def _utm(raw: Any) -> dict[str, str]:
    """``utm_*`` parameters the page was opened with: they override the form's own channel."""
    if not isinstance(raw, dict):
        return {}
    names = {"utm_source": "source", "utm_medium": "medium", "utm_campaign": "campaign", "utm_content": "content"}
    return {names[k]: v[:200] for k, v in raw.items() if k in names and isinstance(v, str) and v.strip()}
