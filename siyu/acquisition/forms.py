"""Hosted forms (留资页): what a form may say and ask, and the rules of its SMS verification code.

Pure decisions only (the SQL is in ``forms_store``, the pages in ``forms_page``). A form always
asks for a phone number and an explicit consent checkbox: PIPL (个人信息保护法) art. 14 and 29 want
consent that is informed, voluntary and explicit, and demonstrable afterwards, so the box starts
unticked, the text names what the number is for, and each submission keeps the exact text shown.

Verification codes follow what Chinese SMS providers enforce and what OTP guidance (NIST SP
800-63B §5.1.3) asks for: 6 random digits, valid 5 minutes, at most 5 wrong guesses, and sending
throttled per number (one a minute, 5 an hour, 10 a day: Aliyun's default 号码级流控 is 1 a minute,
5 an hour, 10 a day for 验证码 templates) and per IP address. Only an HMAC of the code is stored.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from siyu.errors import SiyuError

CODE_DIGITS = 6
CODE_TTL = timedelta(minutes=5)
MAX_ATTEMPTS = 5
PER_PHONE = ((timedelta(minutes=1), 1), (timedelta(hours=1), 5), (timedelta(days=1), 10))
PER_IP = ((timedelta(hours=1), 30),)
FIELD_TYPES = ("text", "email", "select", "date", "textarea")
RESERVED_KEYS = {"phone", "code", "consent", "website"}  # "website": the honeypot bots fill in
KEY = re.compile(r"[a-z][a-z0-9_]{0,39}")
LANGUAGES = ("zh", "en")
CHANNELS = ("sms", "email", "wechat", "wecom", "all")
PURPOSES = ("marketing", "transactional")


class FormError(SiyuError):
    code = "forms.invalid"
    status = 400


class InvalidForm(FormError):
    code = "forms.invalid_definition"
    status = 422

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"{path}: {reason}", details={"path": path, "reason": reason})


class FormNotFound(FormError):
    code = "forms.not_found"
    status = 404


class TooManyCodes(FormError):
    code = "forms.too_many_codes"
    status = 429


@dataclass(frozen=True)
class Definition:
    name: str
    title: dict[str, str]
    description: dict[str, str]
    fields: list[dict[str, Any]]
    consent_text: dict[str, str]
    privacy_url: str | None
    purposes: list[dict[str, str]]
    verify_phone: bool
    sms: dict[str, str] | None
    channel: dict[str, str]
    tags: list[str]
    success: dict[str, str]
    redirect_url: str | None

    def as_json(self) -> dict[str, Any]:
        return {"name": self.name, "title": self.title, "description": self.description, "fields": self.fields,
                "consent": {"text": self.consent_text, "privacy_url": self.privacy_url, "purposes": self.purposes},
                "verify_phone": self.verify_phone, "sms": self.sms, "channel": self.channel, "tags": self.tags,
                "success": self.success, "redirect_url": self.redirect_url}


def _text(value: Any, path: str, *, required: bool = True, limit: int = 2000) -> dict[str, str]:
    """Text in both languages: ``{"zh": ..., "en": ...}`` or one string used for both."""
    if value is None and not required:
        return {}
    if isinstance(value, str):
        value = {"zh": value, "en": value}
    if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
        raise InvalidForm(path, "must be text, or an object with 'zh' and 'en' text")
    unknown = set(value) - set(LANGUAGES)
    if unknown:
        raise InvalidForm(path, f"unknown language {sorted(unknown)[0]!r}; use zh and en")
    text = {lang: value[lang].strip() for lang in LANGUAGES if value.get(lang, "").strip()}
    if required and not text:
        raise InvalidForm(path, "is required")
    if any(len(v) > limit for v in text.values()):
        raise InvalidForm(path, f"is longer than {limit} characters")
    if text and len(text) == 1:  # one language given: the page shows it in both
        only = next(iter(text.values()))
        text = {lang: only for lang in LANGUAGES}
    return text


def _url(value: Any, path: str) -> str | None:
    if value in (None, ""):
        return None
    if not isinstance(value, str) or not re.fullmatch(r"https?://[^\s<>\"']{1,2000}", value):
        raise InvalidForm(path, "must be an http(s) address")
    return value


def parse_definition(raw: Any) -> Definition:
    """Validate what an operator wrote; every problem names its path."""
    if not isinstance(raw, dict):
        raise InvalidForm("", "a form is a JSON object")
    known = {"name", "title", "description", "fields", "consent", "verify_phone", "sms", "channel", "tags",
             "success", "redirect_url"}
    for key in raw:
        if key not in known:
            raise InvalidForm(key, f"unknown field; a form has {', '.join(sorted(known))}")
    name = raw.get("name")
    if not isinstance(name, str) or not name.strip() or len(name) > 200:
        raise InvalidForm("name", "is required (at most 200 characters)")
    fields = []
    seen: set[str] = set()
    raw_fields = raw.get("fields", [])
    if not isinstance(raw_fields, list) or len(raw_fields) > 20:
        raise InvalidForm("fields", "must be a list of at most 20 fields")
    for index, field in enumerate(raw_fields):
        fields.append(_field(field, f"fields[{index}]", seen))
    consent = raw.get("consent")
    if not isinstance(consent, dict):
        raise InvalidForm("consent", "is required: the checkbox text, and what the person agrees to")
    purposes = []
    for index, item in enumerate(consent.get("purposes", [{"channel": "sms", "purpose": "marketing"}])):
        if not isinstance(item, dict) or item.get("channel") not in CHANNELS or item.get("purpose") not in PURPOSES:
            raise InvalidForm(f"consent.purposes[{index}]", f"needs a channel ({', '.join(CHANNELS)}) and a purpose "
                              f"({', '.join(PURPOSES)})")
        purposes.append({"channel": item["channel"], "purpose": item["purpose"]})
    verify = raw.get("verify_phone", True)
    if not isinstance(verify, bool):
        raise InvalidForm("verify_phone", "must be true or false")
    sms = raw.get("sms")
    if verify:
        if not isinstance(sms, dict):
            raise InvalidForm("sms", "verifying the phone needs the approved SMS template: sign_name, template_code "
                              "and the name of its code variable (param, default 'code')")
        for key in ("sign_name", "template_code"):
            if not isinstance(sms.get(key), str) or not sms[key].strip():
                raise InvalidForm(f"sms.{key}", "is required (approved by the SMS provider)")
        param = sms.get("param", "code")
        if not isinstance(param, str) or not re.fullmatch(r"\w{1,40}", param):
            raise InvalidForm("sms.param", "must be the template's variable name")
        sms = {"sign_name": sms["sign_name"].strip(), "template_code": sms["template_code"].strip(), "param": param}
    else:
        sms = None
    channel = raw.get("channel", {})
    if not isinstance(channel, dict) or not all(
            k in ("source", "medium", "campaign", "content") and isinstance(v, str) and len(v) <= 200
            for k, v in channel.items()):
        raise InvalidForm("channel", "may hold source, medium, campaign and content, as text")
    tags = raw.get("tags", [])
    if not isinstance(tags, list) or not all(isinstance(t, str) and 0 < len(t.strip()) <= 100 for t in tags):
        raise InvalidForm("tags", "must be a list of tag names")
    return Definition(
        name=name.strip(), title=_text(raw.get("title", name), "title", limit=200),
        description=_text(raw.get("description"), "description", required=False),
        fields=fields, consent_text=_text(consent.get("text"), "consent.text", limit=1000),
        privacy_url=_url(consent.get("privacy_url"), "consent.privacy_url"), purposes=purposes,
        verify_phone=verify, sms=sms, channel={k: v.strip() for k, v in channel.items()},
        tags=[t.strip() for t in tags],
        success=_text(raw.get("success", {"zh": "提交成功，感谢！", "en": "Thank you!"}), "success", limit=500),
        redirect_url=_url(raw.get("redirect_url"), "redirect_url"))


def _field(raw: Any, path: str, seen: set[str]) -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise InvalidForm(path, "a field is an object with key, label and type")
    key = raw.get("key")
    if not isinstance(key, str) or not KEY.fullmatch(key):
        raise InvalidForm(f"{path}.key", "lower-case letters, digits and _ (it becomes the trait's name)")
    if key in RESERVED_KEYS or key in seen:
        raise InvalidForm(f"{path}.key", f"{key!r} is taken (phone and consent are built in)")
    seen.add(key)
    kind = raw.get("type", "text")
    if kind not in FIELD_TYPES:
        raise InvalidForm(f"{path}.type", f"must be one of {', '.join(FIELD_TYPES)}")
    required = raw.get("required", False)
    if not isinstance(required, bool):
        raise InvalidForm(f"{path}.required", "must be true or false")
    field: dict[str, Any] = {"key": key, "type": kind, "required": required,
                             "label": _text(raw.get("label", key), f"{path}.label", limit=100)}
    if kind == "select":
        options = raw.get("options")
        if not isinstance(options, list) or not options or len(options) > 50 or not all(
                isinstance(o, str) and o.strip() for o in options):
            raise InvalidForm(f"{path}.options", "a select needs 1 to 50 text options")
        field["options"] = [o.strip() for o in options]
    return field


def clean_answers(definition: Definition, answers: Any) -> dict[str, str]:
    """The person's answers, checked against the form: required, types, options, lengths."""
    if answers is None:
        answers = {}
    if not isinstance(answers, dict):
        raise FormError("fields must be an object of answers.", code="forms.invalid_answer")
    cleaned: dict[str, str] = {}
    for field in definition.fields:
        value = answers.get(field["key"])
        value = value.strip() if isinstance(value, str) else value
        if value in (None, ""):
            if field["required"]:
                raise FormError(f"{field['label'].get('en', field['key'])} is required.", code="forms.missing_answer",
                                details={"field": field["key"]})
            continue
        if not isinstance(value, str) or len(value) > (2000 if field["type"] == "textarea" else 200):
            raise FormError(f"{field['key']}: too long or not text.", code="forms.invalid_answer",
                            details={"field": field["key"]})
        if field["type"] == "email" and not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", value):
            raise FormError(f"{field['key']}: not an email address.", code="forms.invalid_answer",
                            details={"field": field["key"]})
        if field["type"] == "date" and not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
            raise FormError(f"{field['key']}: a date is YYYY-MM-DD.", code="forms.invalid_answer",
                            details={"field": field["key"]})
        if field["type"] == "select" and value not in field["options"]:
            raise FormError(f"{field['key']}: not one of the options.", code="forms.invalid_answer",
                            details={"field": field["key"]})
        cleaned[field["key"]] = value
    return cleaned


def new_code() -> str:
    return f"{secrets.randbelow(10 ** CODE_DIGITS):0{CODE_DIGITS}d}"


def code_hash(secret: str, form_id: int, phone: str, code: str) -> str:
    return hmac.new(secret.encode(), f"{form_id}:{phone}:{code}".encode(), hashlib.sha256).hexdigest()


def retry_after(now: datetime, sent: list[datetime], limits: tuple[tuple[timedelta, int], ...]) -> int | None:
    """Seconds until another code may go out, given when earlier ones went (None: now is fine)."""
    wait = 0.0
    for window, most in limits:
        recent = sorted(t for t in sent if t > now - window)
        if len(recent) >= most:
            wait = max(wait, (recent[-most] + window - now).total_seconds())
    return None if wait <= 0 else max(1, int(wait + 0.999))


def language(requested: str | None, accept_language: str | None) -> str:
    """``?lang=`` first, then the browser's first preference; Chinese by default."""
    if requested in LANGUAGES:
        return requested
    for part in (accept_language or "").split(","):
        tag = part.split(";")[0].strip().lower()
        if tag.startswith("en"):
            return "en"
        if tag.startswith("zh"):
            return "zh"
    return "zh"
