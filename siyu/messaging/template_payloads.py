"""Each channel's payload shape and the platform limits a rendered field must meet.

The limits are the platforms' published rules; each names its source and the date it was checked.
``docs/messaging-rules.md`` has the full table and what siyu does about each rule.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, assert_never

from siyu.messaging.models import Channel, Purpose
from siyu.messaging.template_models import (
    LANGUAGES,
    InvalidTemplate,
    MessageTemplate,
    RenderContext,
    TemplateWarning,
    WarningCode,
)

# --- Platform limits -------------------------------------------------------------------------------

WECHAT_SUBSCRIBE_SOURCE = ("WeChat 小程序 subscribeMessage.send, 其他说明: developers.weixin.qq.com/miniprogram/dev/"
                           "OpenApiDoc/mp-message-management/subscribe-message/sendMessage.html (checked 2026-11-30)")
WECHAT_TEMPLATE_SOURCE = ("模板消息接口 developers.weixin.qq.com/doc/offiaccount/Message_Management/"
                          "Template_Message_Interface.html (service notices only) and "
                          "《关于规范公众号模板消息的再次公告》, in force 2023-05-04: "
                          "developers.weixin.qq.com/community/develop/doc/000a2ae286cdc0f41a8face4c51801 "
                          "(checked 2026-11-30)")
WECHAT_CS_TEXT_SOURCE = ("WeChat open community answer on customerServiceMessage.send text size (2048); not in the "
                         "API page: developers.weixin.qq.com/community/develop/doc/00084e2936c340b9015a753405b800")
WECHAT_CS_NEWS_SOURCE = "WeChat notice of 2018-10-12: one article per news message, errcode 45008 otherwise"
WECOM_SOURCE = ("WeCom 创建企业群发 path/92135 (≤ 9 attachments), 入群欢迎语素材 path/92366 (link title ≤ 128 bytes, "
                "desc ≤ 512 bytes, mini-program title ≤ 64 bytes), wx.qy.shareToExternalContact path/96997 "
                "(text ≤ 4,000 characters); developer.work.weixin.qq.com (checked 2026-11-30)")
SMS_SOURCE = ("Aliyun SMS: 短信发送规则 help.aliyun.com/zh/sms/user-guide/message-rules (≤ 500 characters with the "
              "signature; 70 per message, then 67 per part), 长变量短信发送与字符限制 help.aliyun.com/zh/"
              "document_detail/3041859.html (35 characters per variable by default), 通知短信模板规范 "
              "help.aliyun.com/document_detail/463270.htm (no 【】 in content) (checked 2026-11-30)")
EMAIL_SOURCE = ("Google Email sender guidelines support.google.com/mail/answer/81126 (one-click unsubscribe for "
                "marketing mail, Feb 2024); RFC 8058")

WECHAT_TEMPLATE_FIELD_MAX = 20  # characters per middle field, no line breaks (2023-05-04)
WECHAT_TEMPLATE_REMOVED_KEYS = ("first", "remark")  # no longer shown since 2023-05-04
WECHAT_CS_TEXT_MAX_BYTES = 2048
WECOM_MAX_ATTACHMENTS = 9
WECOM_TEXT_MAX_CHARS = 4000
WECOM_BYTE_LIMITS = {("link", "title"): 128, ("link", "desc"): 512, ("miniprogram", "title"): 64}
SMS_MAX_CHARS = 500
SMS_SINGLE_CHARS = 70
SMS_PART_CHARS = 67
SMS_PARAM_MAX_CHARS = 35
# Opt-out wording Chinese carriers and providers accept in marketing SMS: 回T退订, 拒收请回复R, TD, N.
SMS_OPT_OUT = re.compile(r"退订|拒收|回复?\s*(?:T|TD|N|R)\b", re.IGNORECASE)

_CJK = r"\u3400-\u4dbf\u4e00-\u9fff"
HAN_ONLY = re.compile(f"^[{_CJK}]+$")
HAS_HAN = re.compile(f"[{_CJK}]")


@dataclass(frozen=True)
class ValueRule:
    """One WeChat parameter type (``thing``, ``number``, …) of subscribe and category-template messages.

    ``truncate``: free text that may be shortened to fit; identifiers, numbers and dates are never
    cut (a cut order number is a wrong order number): they are reported instead.
    """

    max_length: int | None
    pattern: re.Pattern[str] | None
    truncate: bool
    meaning: str


# Keys are named <type><n> (thing1, character_string12, phrase3): the type decides the rule.
WECHAT_VALUE_RULES: dict[str, ValueRule] = {
    "thing": ValueRule(20, None, True, "≤ 20 characters: Chinese, digits, letters or symbols"),
    "number": ValueRule(32, re.compile(r"^\d+(?:\.\d+)?$"), False, "≤ 32 digits, decimals allowed"),
    "letter": ValueRule(32, re.compile(r"^[A-Za-z]+$"), False, "≤ 32 letters"),
    "symbol": ValueRule(5, re.compile(r"^[^\w\s]+$"), False, "≤ 5 symbols"),
    "character_string": ValueRule(32, re.compile(r"^[\x21-\x7e]+$"), False,
                                  "≤ 32 digits, letters or symbols (no Chinese)"),
    "time": ValueRule(None, re.compile(r"\d{1,2}:\d{2}"), False,
                      "24-hour time, optionally with a date; a range joined by ~ (15:01, 2019年10月1日 15:01)"),
    "date": ValueRule(None, re.compile(r"\d{4}\s*(?:年|-|/)\s*\d{1,2}\s*(?:月|-|/)\s*\d{1,2}"), False,
                      "a date, optionally with a 24-hour time; a range joined by ~ (2019年10月1日)"),
    "amount": ValueRule(None, re.compile(r"^[^\d\s.]?\d{1,10}(?:\.\d+)?元?$"), False,
                        "one currency symbol, ≤ 10 digits, decimals allowed, may end in 元"),
    "phone_number": ValueRule(17, re.compile(r"^[\d+\-() ]+$"), False, "≤ 17 digits and symbols"),
    "car_number": ValueRule(8, None, False, "≤ 8 characters: a licence plate"),
    "name": ValueRule(20, None, True, "≤ 10 Chinese characters, or ≤ 20 letters"),
    "phrase": ValueRule(5, HAN_ONLY, True, "≤ 5 Chinese characters only"),
}
VALUE_TYPE = re.compile(r"^([a-z_]+?)\d+$")


def value_rule(key: str) -> tuple[str, ValueRule] | None:
    """The rule of a WeChat data key such as ``thing1``; ``None`` for unknown types (``enum``, custom)."""
    match = VALUE_TYPE.match(key)
    if match is None or match.group(1) not in WECHAT_VALUE_RULES:
        return None
    return match.group(1), WECHAT_VALUE_RULES[match.group(1)]


# --- Channel shapes ------------------------------------------------------------------------------
# A template's content mirrors the send API of its channel; check_shape refuses a template whose
# structure can never send, shape_payload turns rendered content into the payload and its warnings.

CS_BLOCKS = {"text": ("content",), "image": ("media_id",), "link": ("title", "description", "url", "thumb_url"),
             "news": ("articles",), "miniprogrampage": ("title", "pagepath", "thumb_media_id")}
WECOM_BLOCKS = {"image": (), "link": ("title", "url"), "miniprogram": ("title", "pic_media_id", "appid", "page"),
                "video": ("media_id",), "file": ("media_id",)}
SUBSCRIBE_LANG = {"zh": "zh_CN", "en": "en_US"}  # subscribeMessage.send ``lang``


def is_variants(value: Any) -> bool:
    """A field written as language variants: ``{"zh": "…", "en": "…"}`` (only those keys, all text).
    Inside a webhook body an object of exactly those keys is read the same way."""
    return (isinstance(value, Mapping) and bool(value) and set(value) <= set(LANGUAGES)
            and all(isinstance(text, str) for text in value.values()))


def _is_text(value: Any) -> bool:
    return isinstance(value, str) or is_variants(value)


def _is_literal(value: Any) -> bool:
    return isinstance(value, str) and "{{" not in value and "{%" not in value


def _need(block: Any, path: str, *keys: str) -> None:
    if not isinstance(block, Mapping):
        raise InvalidTemplate(path or "content", "must be an object")
    for key in keys:
        if not _is_text(block.get(key)):
            raise InvalidTemplate(f"{path}.{key}" if path else key, "is required (text, or zh/en variants)")


def _check_data(content: Mapping[str, Any]) -> None:
    data = content.get("data")
    if not isinstance(data, Mapping) or not data:
        raise InvalidTemplate("data", "must map each key of the platform template (thing1, …) to its value")
    for key, item in data.items():
        if not _is_text(item):
            _need(item, f"data.{key}", "value")


def check_shape(channel: Channel, content: Any) -> None:
    """Raise :class:`InvalidTemplate` when ``content`` lacks what the channel's API needs."""
    if not isinstance(content, Mapping) or not content:
        raise InvalidTemplate("content", "must be a non-empty object")
    match channel:
        case Channel.WECHAT_TEMPLATE | Channel.WECHAT_SUBSCRIBE:
            _need(content, "", "template_id")
            if channel is Channel.WECHAT_SUBSCRIBE and not _is_literal(content["template_id"]):
                raise InvalidTemplate("template_id", "must be the template's id itself, not a template: the "
                                      "person's one-time subscription is looked up by it before rendering")
            _check_data(content)
            if "miniprogram" in content:
                _need(content["miniprogram"], "miniprogram", "appid", "pagepath")
        case Channel.WECHAT_CS:
            msgtype = content.get("msgtype")
            if msgtype not in CS_BLOCKS:
                raise InvalidTemplate("msgtype", f"must be one of {', '.join(CS_BLOCKS)}")
            _need(content.get(msgtype), msgtype, *(k for k in CS_BLOCKS[msgtype] if k != "articles"))
            if msgtype == "news":
                articles = content["news"].get("articles")
                if not isinstance(articles, list) or len(articles) != 1:
                    raise InvalidTemplate("news.articles", f"must hold exactly one article ({WECHAT_CS_NEWS_SOURCE})")
                _need(articles[0], "news.articles[0]", "title", "url")
        case Channel.WECOM:
            attachments = content.get("attachments", [])
            if "text" in content:
                _need(content["text"], "text", "content")
            if not isinstance(attachments, list) or len(attachments) > WECOM_MAX_ATTACHMENTS:
                raise InvalidTemplate("attachments", f"must be a list of at most {WECOM_MAX_ATTACHMENTS}")
            if "text" not in content and not attachments:
                raise InvalidTemplate("text", "a WeCom message needs text or at least one attachment")
            for index, item in enumerate(attachments):
                kind = item.get("msgtype") if isinstance(item, Mapping) else None
                if kind not in WECOM_BLOCKS:
                    raise InvalidTemplate(f"attachments[{index}].msgtype", f"must be one of {', '.join(WECOM_BLOCKS)}")
                _need(item.get(kind), f"attachments[{index}].{kind}", *WECOM_BLOCKS[kind])
        case Channel.SMS:
            _need(content, "", "sign_name", "template_code")
            params = content.get("params", {})
            if not isinstance(params, Mapping) or not all(_is_text(v) for v in params.values()):
                raise InvalidTemplate("params", "must map each variable of the approved SMS template to text")
        case Channel.EMAIL:
            _need(content, "", "subject")
            if not any(_is_text(content.get(key)) for key in ("text", "html")):
                raise InvalidTemplate("text", "an e-mail needs 'text' or 'html'")
        case Channel.WEBHOOK:
            if not isinstance(content.get("body"), Mapping):
                raise InvalidTemplate("body", "must be a JSON object whose strings are templates")
        case _:
            assert_never(channel)


@dataclass
class _Shaped:
    warnings: list[TemplateWarning] = field(default_factory=list)

    def warn(self, code: WarningCode, at: str, message: str, *, blocking: bool = False,
             source: str | None = None) -> None:
        self.warnings.append(TemplateWarning(code, at, message, blocking, source))


def _cut_bytes(text: str, limit: int) -> str:
    return text.encode()[:limit].decode(errors="ignore")


def check_value(key: str, value: str, at: str, shaped: _Shaped, source: str) -> str:
    """Fit one WeChat data value to its type's rule (thing1 ≤ 20 characters, phrase3 ≤ 5 Chinese, …)."""
    typed = value_rule(key)
    text = value.strip()
    if typed is None:
        return text
    kind, rule = typed
    limit = (10 if HAS_HAN.search(text) else 20) if kind == "name" else rule.max_length
    if not text:
        shaped.warn(WarningCode.INVALID_FORMAT, at, f"{key} is empty; WeChat may refuse it (errcode 47003).",
                    source=source)
    elif rule.pattern is not None and not rule.pattern.search(text):
        shaped.warn(WarningCode.INVALID_FORMAT, at, f"{key} must be {rule.meaning}; got {text!r} "
                    "(WeChat refuses it with errcode 47003).", blocking=True, source=source)
    elif limit is not None and len(text) > limit:
        if rule.truncate:
            text = text[:limit]
            shaped.warn(WarningCode.TRUNCATED, at, f"{key} shortened to {limit} characters ({rule.meaning}).",
                        source=source)
        else:
            shaped.warn(WarningCode.TOO_LONG, at, f"{key} has {len(text)} characters; {rule.meaning}.",
                        blocking=True, source=source)
    return text


def subscribe_value_problem(data: Mapping[str, Any]) -> tuple[str, str] | None:
    """``(field, what is wrong)`` for the first value of a subscription notice's ``data`` that breaks
    its type's rule (``thing`` ≤ 20 characters, ``phrase`` ≤ 5 Chinese characters, …) — content is
    sent as it is, so what a template would cut is refused here; else None."""
    for key, item in data.items():
        shaped = _Shaped()
        at = f"data.{key}.value"
        value = item.get("value") if isinstance(item, Mapping) else None
        check_value(key, str(value or ""), at, shaped, WECHAT_SUBSCRIBE_SOURCE)
        if shaped.warnings:
            warning = shaped.warnings[0]
            if warning.code is WarningCode.TRUNCATED:
                typed = value_rule(key)
                meaning = typed[1].meaning if typed else ""
                return at, f"{key} has {len(str(value).strip())} characters; {meaning} (WeChat refuses it: 47003)"
            return at, warning.message.rstrip(".")
    return None


def _wechat_data(content: Mapping[str, Any], shaped: _Shaped, *, template_message: bool) -> dict[str, Any]:
    source = WECHAT_TEMPLATE_SOURCE if template_message else WECHAT_SUBSCRIBE_SOURCE
    data: dict[str, Any] = {}
    for key, item in content["data"].items():
        entry = {"value": item} if isinstance(item, str) else dict(item)
        at = f"data.{key}.value"
        if template_message and key in WECHAT_TEMPLATE_REMOVED_KEYS:
            shaped.warn(WarningCode.IGNORED_BY_PLATFORM, at, f"'{key}' is no longer shown (since 2023-05-04).",
                        source=source)
        if "color" in entry:
            shaped.warn(WarningCode.IGNORED_BY_PLATFORM, f"data.{key}.color", "custom colours are not shown.",
                        source=source)
            if not template_message:
                del entry["color"]
        value = str(entry.get("value", ""))
        if template_message and value_rule(key) is None:
            if "\n" in value:
                value = " ".join(value.split())
                shaped.warn(WarningCode.INVALID_FORMAT, at, "line breaks are not shown; joined with spaces.",
                            source=source)
            if len(value) > WECHAT_TEMPLATE_FIELD_MAX:
                shaped.warn(WarningCode.TOO_LONG, at, f"{len(value)} characters; WeChat shows at most "
                            f"{WECHAT_TEMPLATE_FIELD_MAX} per field.", source=source)
        entry["value"] = check_value(key, value, at, shaped, source)
        data[key] = entry
    return data


def _shape_wechat(content: Mapping[str, Any], language: str, shaped: _Shaped, *,
                  template_message: bool) -> dict[str, Any]:
    payload: dict[str, Any] = {"template_id": content["template_id"]}
    for key in ("url", "page", "miniprogram", "miniprogram_state", "lang", "client_msg_id"):
        if content.get(key):
            payload[key] = dict(content[key]) if isinstance(content[key], Mapping) else content[key]
    payload["data"] = _wechat_data(content, shaped, template_message=template_message)
    if not template_message:
        payload.setdefault("lang", SUBSCRIBE_LANG[language])
    return payload


def _shape_cs(content: Mapping[str, Any], shaped: _Shaped) -> tuple[dict[str, Any], str | None]:
    msgtype = content["msgtype"]
    block = content[msgtype]
    text = str(block.get("content", "")) if msgtype == "text" else None
    if text is not None:
        if not text.strip():
            shaped.warn(WarningCode.INVALID_FORMAT, "text.content", "the text is empty.", blocking=True)
        elif len(text.encode()) > WECHAT_CS_TEXT_MAX_BYTES:
            shaped.warn(WarningCode.TOO_LONG, "text.content", f"{len(text.encode())} bytes; WeChat is reported to "
                        f"refuse more than {WECHAT_CS_TEXT_MAX_BYTES} (errcode 45002).", source=WECHAT_CS_TEXT_SOURCE)
    return {"msgtype": msgtype, msgtype: block}, text


def _shape_wecom(content: Mapping[str, Any], shaped: _Shaped) -> tuple[dict[str, Any], str | None]:
    payload: dict[str, Any] = {}
    text = content["text"]["content"] if "text" in content else None
    if text is not None:
        if len(text) > WECOM_TEXT_MAX_CHARS:
            shaped.warn(WarningCode.TOO_LONG, "text.content", f"{len(text)} characters; WeCom takes at most "
                        f"{WECOM_TEXT_MAX_CHARS}.", blocking=True, source=WECOM_SOURCE)
        payload["text"] = {"content": text}
    attachments = []
    for index, item in enumerate(content.get("attachments", [])):
        kind = item["msgtype"]
        block = dict(item[kind])
        for (limited, key), limit in WECOM_BYTE_LIMITS.items():
            value = block.get(key)
            if limited == kind and isinstance(value, str) and len(value.encode()) > limit:
                block[key] = _cut_bytes(value, limit)
                shaped.warn(WarningCode.TRUNCATED, f"attachments[{index}].{kind}.{key}",
                            f"shortened to {limit} bytes.", source=WECOM_SOURCE)
        attachments.append({"msgtype": kind, kind: block})
    if attachments:
        payload["attachments"] = attachments
    return payload, text


def _shape_sms(content: Mapping[str, Any], purpose: Purpose, shaped: _Shaped) -> tuple[dict[str, Any], str | None]:
    sign = content["sign_name"].strip().strip("【】[]")  # the provider adds the brackets
    params = {str(key): str(value) for key, value in content.get("params", {}).items()}
    for key, value in params.items():
        at = f"params.{key}"
        if not value.strip():
            shaped.warn(WarningCode.INVALID_FORMAT, at, "is empty; providers need a value for every variable.",
                        blocking=True, source=SMS_SOURCE)
        elif "【" in value or "】" in value:
            shaped.warn(WarningCode.INVALID_FORMAT, at, "contains 【】, reserved for the signature.", blocking=True,
                        source=SMS_SOURCE)
        elif len(value) > SMS_PARAM_MAX_CHARS:
            shaped.warn(WarningCode.TOO_LONG, at, f"{len(value)} characters; a variable takes at most "
                        f"{SMS_PARAM_MAX_CHARS} unless the provider lifted the limit.", blocking=True,
                        source=SMS_SOURCE)
        if re.search(r"https?://|www\.", value, re.IGNORECASE):
            shaped.warn(WarningCode.INVALID_FORMAT, at, "a link in a variable is refused by most providers: put "
                        "fixed links in the approved template text.", source=SMS_SOURCE)
    text = None
    if isinstance(content.get("body"), str):  # the approved template text, ${name} for variables: preview only
        missing = sorted(set(re.findall(r"\$\{(\w+)\}", content["body"])) - set(params))
        for name in missing:
            shaped.warn(WarningCode.MISSING_VALUE, f"params.{name}", "the approved template uses it; give it a "
                        "value.", blocking=True, source=SMS_SOURCE)
        text = f"【{sign}】" + re.sub(r"\$\{(\w+)\}", lambda m: params.get(m.group(1), ""), content["body"])
        if len(text) > SMS_MAX_CHARS:
            shaped.warn(WarningCode.TOO_LONG, "body", f"{len(text)} characters with the signature; at most "
                        f"{SMS_MAX_CHARS}.", blocking=True, source=SMS_SOURCE)
        elif len(text) > SMS_SINGLE_CHARS:
            parts = math.ceil(len(text) / SMS_PART_CHARS)
            shaped.warn(WarningCode.MULTIPART, "body", f"{len(text)} characters: billed as {parts} messages "
                        f"({SMS_SINGLE_CHARS} in one, then {SMS_PART_CHARS} per part).", source=SMS_SOURCE)
        if purpose is Purpose.MARKETING and not SMS_OPT_OUT.search(text):
            shaped.warn(WarningCode.MISSING_OPT_OUT, "body", "a marketing SMS must tell how to opt out "
                        "(回T退订 / 拒收请回复R).", blocking=True,
                        source="《通信短信息服务管理规定》(MIIT, 2015-06-30)")
    return {"sign_name": sign, "template_code": content["template_code"], "params": params}, text


def _shape_email(content: Mapping[str, Any], purpose: Purpose, unsubscribe_url: str | None,
                 shaped: _Shaped) -> dict[str, Any]:
    subject = " ".join(str(content["subject"]).split())  # no CR/LF may reach a mail header
    if subject != str(content["subject"]).strip():
        shaped.warn(WarningCode.INVALID_FORMAT, "subject", "line breaks in a subject were joined with spaces.")
    if not subject:
        shaped.warn(WarningCode.INVALID_FORMAT, "subject", "the subject is empty.", blocking=True)
    payload = {"subject": subject, **{key: content[key] for key in ("text", "html") if key in content}}
    if not any(str(payload.get(key, "")).strip() for key in ("text", "html")):
        shaped.warn(WarningCode.INVALID_FORMAT, "text", "the message has no text.", blocking=True)
    if purpose is Purpose.MARKETING:
        if not unsubscribe_url:
            shaped.warn(WarningCode.MISSING_UNSUBSCRIBE, "unsubscribe_url", "marketing e-mail needs an unsubscribe "
                        "link (List-Unsubscribe one-click header).", blocking=True, source=EMAIL_SOURCE)
        elif not any(unsubscribe_url in str(payload.get(key, "")) for key in ("text", "html")):
            shaped.warn(WarningCode.MISSING_UNSUBSCRIBE, "html", "the body shows no unsubscribe link; only the "
                        "mail client's header button offers one.", source=EMAIL_SOURCE)
    if unsubscribe_url and not unsubscribe_url.startswith("https://"):
        shaped.warn(WarningCode.INVALID_FORMAT, "unsubscribe_url", "one-click unsubscribe needs an https:// URL.",
                    source="RFC 8058")
    return payload


def shape_payload(template: MessageTemplate, content: Mapping[str, Any], context: RenderContext,
                  language: str) -> tuple[dict[str, Any], list[TemplateWarning], str | None]:
    """Rendered content → (payload for the channel adapter, warnings, what the person reads if known)."""
    shaped = _Shaped()
    text: str | None = None
    match template.channel:
        case Channel.WECHAT_TEMPLATE:
            payload = _shape_wechat(content, language, shaped, template_message=True)
            if template.purpose is Purpose.MARKETING:
                shaped.warn(WarningCode.MARKETING_NOT_ALLOWED, "purpose", "template messages are for service "
                            "notices: WeChat intercepts marketing ones and restricts the account.", blocking=True,
                            source=WECHAT_TEMPLATE_SOURCE)
        case Channel.WECHAT_SUBSCRIBE:
            payload = _shape_wechat(content, language, shaped, template_message=False)
        case Channel.WECHAT_CS:
            payload, text = _shape_cs(content, shaped)
        case Channel.WECOM:
            payload, text = _shape_wecom(content, shaped)
        case Channel.SMS:
            payload, text = _shape_sms(content, template.purpose, shaped)
        case Channel.EMAIL:
            payload = _shape_email(content, template.purpose, context.unsubscribe_url, shaped)
            text = payload.get("text")
        case Channel.WEBHOOK:
            payload = dict(content["body"])
        case _:
            assert_never(template.channel)
    return payload, shaped.warnings, text
