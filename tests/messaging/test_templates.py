"""Message templates as specifications: sandbox, fallbacks, languages, filters, every channel's payload.

Pure: no database. Platform numbers asserted here are the ones in docs/messaging-rules.md.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from siyu.errors import SiyuError
from siyu.messaging.models import Channel, Purpose
from siyu.messaging.template_models import InvalidTemplate, MessageTemplate, RenderContext, WarningCode
from siyu.messaging.templates import append_utm, choose_language, preview, profile_context, render, validate_template

NOW = datetime(2024, 6, 18, 4, 0, tzinfo=UTC)  # 12:00 in Shanghai
UNSUBSCRIBE = "https://brand.example/u/tok123"


def person(**traits: object) -> dict:
    return profile_context({
        "id": 42, "traits": {"name": "小红", **traits},
        "identities": [{"type": "phone", "value": "+8613800138000", "last_seen_at": NOW},
                       {"type": "wechat_openid:wxA", "value": "o-old",
                        "last_seen_at": datetime(2023, 1, 1, tzinfo=UTC)},
                       {"type": "wechat_openid:wxB", "value": "o-new", "last_seen_at": NOW}],
        "tags": [{"name": "VIP"}, {"name": "618"}],
        "rollups": {"order_count": 3, "total_spend": 289.7, "last_order_at": datetime(2024, 6, 17, 20, 0, tzinfo=UTC)},
    })


def context(profile: dict | None = None, **overrides: object) -> RenderContext:
    values: dict = {"profile": person() if profile is None else profile, "now": NOW, "unsubscribe_url": UNSUBSCRIBE,
                    "event": {"name": "Order Completed", "properties": {"total": 89.9, "sku": "LIP-01"},
                              "timestamp": "2024-06-17T20:00:00Z"}}
    values.update(overrides)
    return RenderContext(**values)


def text_of(source: str, ctx: RenderContext | None = None) -> str:
    template = MessageTemplate(Channel.WEBHOOK, {"body": {"out": source}})
    return render(template, ctx or context()).payload["out"]


def codes(rendered) -> list[tuple[str, str, bool]]:
    return [(w.code.value, w.field, w.blocking) for w in rendered.warnings]


# --- The sandbox ---------------------------------------------------------------------------------

ESCAPES = [
    "{{ ''.__class__.__mro__ }}",
    "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    "{{ ().__class__.__base__.__subclasses__() }}",
    "{{ profile.__class__.__init__.__globals__ }}",
    "{{ profile|attr('__class__') }}",
    "{{ link.__globals__ }}",
    "{{ link.__closure__ }}",
    "{{ now.__class__.__module__ }}",
    "{{ cycler.__init__.__globals__.os }}",
    "{{ lipsum.__globals__['os'] }}",
    "{{ range.__self__ }}",
    "{{ namespace.__init__.__globals__ }}",
    "{{ self._TemplateReference__context }}",
    "{{ ''.format.__self__ }}",
    "{{ 'a'.format }}",
    "{{ _siyu }}",
]


@pytest.mark.parametrize("source", ESCAPES)
def test_sandbox_escapes_are_refused_or_render_nothing(source: str) -> None:
    try:
        out = text_of(source)
    except InvalidTemplate as error:
        assert error.details["reason"]
        return
    assert out == "", out
    for leak in ("class", "module", "function", "object", "<", "os"):
        assert leak not in out


def test_a_template_cannot_change_the_data_it_reads() -> None:
    ctx = context()
    with pytest.raises(InvalidTemplate, match="unsafe"):
        text_of("{{ profile.tags.append('hacked') }}", ctx)
    with pytest.raises(InvalidTemplate):
        text_of("{{ profile.traits.update({'name': 'x'}) }}", ctx)
    assert ctx.profile["tags"] == ["VIP", "618"] and ctx.profile["traits"]["name"] == "小红"


@pytest.mark.parametrize("source", ["{{ 'x' * 1000000 }}", "{{ [1] * 100000 }}", "{{ 10 ** 100000 }}",
                                    "{% for i in range(10 ** 9) %}{% endfor %}"])
def test_runaway_output_and_loops_are_refused(source: str) -> None:
    with pytest.raises(InvalidTemplate):
        text_of(source)


def test_functions_and_nulls_never_reach_a_customer_as_text() -> None:
    assert text_of("[{{ 'a'.upper }}][{{ profile.traits.nickname }}]", context(person(nickname=None))) == "[][]"


# --- Fallbacks -----------------------------------------------------------------------------------

def test_default_covers_a_missing_name() -> None:
    source = '{{ profile.traits.name | default("亲爱的顾客") }}'
    assert text_of(source) == "小红"
    assert text_of(source, context(profile={"traits": {}})) == "亲爱的顾客"
    assert text_of(source, context(profile={})) == "亲爱的顾客"


def test_missing_values_render_empty_instead_of_raising() -> None:
    ctx = context(profile={}, event=None, coupon=None, unsubscribe_url=None)
    assert text_of("Hi {{ profile.traits.nick }}!", ctx) == "Hi !"
    assert text_of("[{{ event.properties.sku.id }}][{{ coupon.code }}][{{ unsubscribe_url }}]", ctx) == "[][][]"
    assert text_of("[{{ profile.rollups.order_count + 1 }}][{{ coupon.value * 2 }}]", ctx) == "[][]"
    assert text_of("{% if profile.rollups.order_count > 2 %}loyal{% else %}new{% endif %}", ctx) == "new"
    assert text_of("{{ profile.traits.name.upper() }}{% for t in profile.tags %}{{ t }}{% endfor %}", ctx) == ""
    assert text_of("{{ coupon.expires_at | date }}{{ coupon.value | money }}", ctx) == ""


def test_profile_variables_read_like_the_profile_api() -> None:
    source = ("{{ profile.id }} {{ profile.identities.phone }} {{ profile.identities.wechat_openid }} "
              "{{ profile.identities['wechat_openid:wxA'] }} {{ 'VIP' in profile.tags }} "
              "{{ profile.rollups.order_count }} {{ profile.rollups.total_spend | money }}")
    assert text_of(source) == "42 +8613800138000 o-new o-old True 3 ¥289.70"


def test_event_and_coupon_variables() -> None:
    ctx = context(coupon={"code": "SAVE20", "value": 20, "expires_at": datetime(2024, 6, 30, 15, 59, tzinfo=UTC)})
    source = "{{ event.name }}/{{ event.properties.sku }}: {{ coupon.code }} {{ coupon.value | money }} " \
             "{{ coupon.expires_at | date('long') }}"
    assert text_of(source, ctx) == "Order Completed/LIP-01: SAVE20 ¥20.00 2024年6月30日"


# --- Compile errors --------------------------------------------------------------------------------

@pytest.mark.parametrize(("source", "line", "reason"), [
    ("Hello\n{% if %}", 2, "Expected an expression"),
    ("a\nb\n{{ profile.traits.name | nonsense }}", 3, "No filter named 'nonsense'"),
    ("{{ profile.traits.name ", 1, "unexpected end of template"),
    ("{% for x in y %}\nno end", 1, "Jinja was looking for the following tags: 'endfor' or 'else'"),
])
def test_a_broken_template_names_field_line_and_reason(source: str, line: int, reason: str) -> None:
    template = MessageTemplate(Channel.EMAIL, {"subject": "ok", "text": source})
    with pytest.raises(InvalidTemplate) as caught:
        validate_template(template)
    error = caught.value
    assert isinstance(error, SiyuError) and error.status == 422 and error.code == "messaging.invalid_template"
    assert error.details["field"] == "text" and error.details["line"] == line
    assert reason.lower() in error.details["reason"].lower()
    assert f"'text, line {line}'" in error.message
    assert error.to_dict()["error"]["code"] == "messaging.invalid_template"


def test_every_language_variant_is_compiled() -> None:
    template = MessageTemplate(Channel.EMAIL, {"subject": {"zh": "好", "en": "{{ oops"}, "text": "x"})
    with pytest.raises(InvalidTemplate) as caught:
        validate_template(template)
    assert caught.value.details["field"] == "subject.en"


def test_an_error_the_template_causes_at_render_time_names_the_line() -> None:
    template = MessageTemplate(Channel.EMAIL, {"subject": "s", "text": "one\ntwo {{ 1 / 0 }}"})
    with pytest.raises(InvalidTemplate) as caught:
        render(template, context())
    assert caught.value.details["line"] == 2 and "ZeroDivisionError" in caught.value.details["reason"]


@pytest.mark.parametrize(("channel", "content", "field"), [
    (Channel.WECHAT_TEMPLATE, {"data": {"thing1": "x"}}, "template_id"),
    (Channel.WECHAT_SUBSCRIBE, {"template_id": "T", "data": {}}, "data"),
    (Channel.WECHAT_SUBSCRIBE, {"template_id": "T", "data": {"thing1": {"colour": "red"}}}, "data.thing1.value"),
    (Channel.WECHAT_CS, {"msgtype": "video", "video": {}}, "msgtype"),
    (Channel.WECHAT_CS, {"msgtype": "image", "image": {}}, "image.media_id"),
    (Channel.WECHAT_CS, {"msgtype": "news", "news": {"articles": [{"title": "a", "url": "u"}] * 2}}, "news.articles"),
    (Channel.WECOM, {"attachments": []}, "text"),
    (Channel.WECOM, {"text": {"content": "x"}, "attachments": [{"msgtype": "image", "image": {}}] * 10},
     "attachments"),
    (Channel.WECOM, {"attachments": [{"msgtype": "link", "link": {"title": "t"}}]}, "attachments[0].link.url"),
    (Channel.SMS, {"sign_name": "品牌", "params": {}}, "template_code"),
    (Channel.SMS, {"sign_name": "品牌", "template_code": "SMS_1", "params": {"n": {"x": 1}}}, "params"),
    (Channel.EMAIL, {"subject": "s"}, "text"),
    (Channel.WEBHOOK, {"body": "not an object"}, "body"),
    (Channel.WEBHOOK, {}, "content"),
])
def test_content_that_cannot_send_is_refused_when_saved(channel: Channel, content: dict, field: str) -> None:
    with pytest.raises(InvalidTemplate) as caught:
        validate_template(MessageTemplate(channel, content))
    assert caught.value.details["field"] == field


# --- Languages -----------------------------------------------------------------------------------

@pytest.mark.parametrize(("traits", "default", "expected"), [
    ({"locale": "en-US"}, "zh", "en"), ({"locale": "zh_CN"}, "en", "zh"), ({"locale": "EN"}, None, "en"),
    ({}, "en", "en"), ({}, None, "zh"), ({"locale": "fr-FR"}, "en", "en"), ({"locale": "fr"}, "de", "zh"),
    ({"language": "en"}, "zh", "en"), ({"locale": 7}, "zh", "zh"),
])
def test_the_language_is_the_persons_then_the_workspaces_then_chinese(traits: dict, default, expected: str) -> None:
    assert choose_language(traits, default) == expected


def test_each_field_takes_the_persons_variant_with_fallbacks() -> None:
    template = MessageTemplate(Channel.EMAIL, {
        "subject": {"zh": "{{ profile.traits.name }}，您好", "en": "Hello {{ profile.traits.name }}"},
        "text": {"zh": "仅中文"}})
    english = render(template, context(person(locale="en")))
    chinese = render(template, context(person(locale="zh-CN")))
    assert english.language == "en" and english.payload["subject"] == "Hello 小红"
    assert english.payload["text"] == "仅中文"
    assert chinese.language == "zh" and chinese.payload["subject"] == "小红，您好"
    by_default = render(template, context(person(), default_language="en"))
    assert by_default.payload["subject"] == "Hello 小红"
    assert text_of("{{ locale }}", context(person(locale="en"))) == "en"


# --- Filters -------------------------------------------------------------------------------------

@pytest.mark.parametrize(("source", "zh", "en"), [
    ("{{ 89.9 | money }}", "¥89.90", "CN¥89.90"),
    ("{{ 1234567.5 | money }}", "¥1,234,567.50", "CN¥1,234,567.50"),
    ("{{ '19.9' | money }}", "¥19.90", "CN¥19.90"),
    ("{{ 12 | money('USD') }}", "US$12.00", "$12.00"),
    ("{{ 'free' | money }}", "free", "free"),
    ("{{ profile.rollups.last_order_at | date('long') }}", "2024年6月18日", "June 18, 2024"),
    ("{{ profile.rollups.last_order_at | date('short') }}", "2024/6/18", "6/18/24"),
    ("{{ event.timestamp | date('full') }}", "2024年6月18日星期二", "Tuesday, June 18, 2024"),
    ("{{ event.timestamp | datetime('yyyy-MM-dd HH:mm') }}", "2024-06-18 04:00", "2024-06-18 04:00"),
    ("{{ now | datetime('HH:mm') }}", "12:00", "12:00"),
    ("{{ '2024-06-01' | date('long') }}", "2024年6月1日", "June 1, 2024"),
    ("{{ 1718668800 | date('long') }}", "2024年6月18日", "June 18, 2024"),
    ("{{ 'someday' | date }}", "someday", "someday"),
    ("{{ 1e20 | date }}", "1e+20", "1e+20"),
])
def test_money_and_dates_in_both_languages(source: str, zh: str, en: str) -> None:
    assert text_of(source, context(person(locale="zh"))) == zh
    assert text_of(source, context(person(locale="en"))) == en


def test_dates_are_shown_in_the_workspace_time_zone() -> None:
    source = "{{ event.timestamp | datetime('yyyy-MM-dd HH:mm') }} {{ now | datetime('HH:mm') }}"
    assert text_of(source, context(timezone="America/New_York")) == "2024-06-17 16:00 00:00"


# --- Links ---------------------------------------------------------------------------------------

def test_link_appends_utm_by_default_and_keeps_what_the_url_has() -> None:
    ctx = context(utm={"source": "siyu", "medium": "wechat", "campaign": "welcome"})
    out = text_of("{{ link('https://shop.example/p/1?ref=a&utm_source=kept#top', campaign='618', content='hero') }}",
                  ctx)
    assert out == ("https://shop.example/p/1?ref=a&utm_source=kept&utm_medium=wechat&utm_campaign=618"
                   "&utm_content=hero#top")
    assert append_utm("https://a.example", {"utm_source": "x y"}) == "https://a.example?utm_source=x+y"


def test_link_goes_through_the_callers_link_maker() -> None:
    made: list[tuple[str, dict]] = []

    def shorten(url: str, utm: dict) -> str:
        made.append((url, dict(utm)))
        return f"https://s.example/r/{len(made)}"

    out = text_of("{{ link('https://shop.example/x', campaign='618') }} {{ link('https://shop.example/y') }}",
                  context(link_maker=shorten, utm={"source": "siyu"}))
    assert out == "https://s.example/r/1 https://s.example/r/2"
    assert made == [("https://shop.example/x", {"utm_source": "siyu", "utm_campaign": "618"}),
                    ("https://shop.example/y", {"utm_source": "siyu"})]


def test_a_failing_link_maker_is_the_callers_error_not_the_templates() -> None:
    def broken(url: str, utm: dict) -> str:
        raise ConnectionError("short-link store down")

    with pytest.raises(ConnectionError, match="short-link store down"):
        text_of("{{ link('https://x.example') }}", context(link_maker=broken))


# --- Channels ------------------------------------------------------------------------------------

def test_wechat_template_payload_and_the_2023_rules() -> None:
    template = MessageTemplate(Channel.WECHAT_TEMPLATE, {
        "template_id": "TPL-1", "url": "{{ link('https://shop.example/o/1') }}",
        "miniprogram": {"appid": "wxmini", "pagepath": "pages/order?id={{ event.properties.sku }}"},
        "data": {"first": "您好", "character_string2": "{{ event.properties.sku }}",
                 "thing3": {"value": "{{ profile.traits.name }}的订单", "color": "#FF0000"},
                 "keyword1": "第一行\n第二行", "keyword2": "这是一段超过二十个字的模板消息内容会被平台截断显示"}},
        purpose=Purpose.TRANSACTIONAL)
    rendered = render(template, context())
    assert rendered.payload == {
        "template_id": "TPL-1", "url": "https://shop.example/o/1",
        "miniprogram": {"appid": "wxmini", "pagepath": "pages/order?id=LIP-01"},
        "data": {"first": {"value": "您好"}, "character_string2": {"value": "LIP-01"},
                 "thing3": {"value": "小红的订单", "color": "#FF0000"},
                 "keyword1": {"value": "第一行 第二行"},
                 "keyword2": {"value": "这是一段超过二十个字的模板消息内容会被平台截断显示"}}}
    assert codes(rendered) == [
        ("ignored_by_platform", "data.first.value", False), ("ignored_by_platform", "data.thing3.color", False),
        ("invalid_format", "data.keyword1.value", False), ("too_long", "data.keyword2.value", False)]
    assert rendered.sendable and all(w.source for w in rendered.warnings)


def test_wechat_template_messages_are_not_for_marketing() -> None:
    template = MessageTemplate(Channel.WECHAT_TEMPLATE, {"template_id": "T", "data": {"thing1": "大促"}})
    assert template.purpose is Purpose.MARKETING
    rendered = render(template, context())
    assert codes(rendered) == [("marketing_not_allowed", "purpose", True)] and not rendered.sendable


def test_wechat_subscribe_payload_fits_values_to_their_types() -> None:
    template = MessageTemplate(Channel.WECHAT_SUBSCRIBE, {
        "template_id": "SUB-1", "page": "pages/order/detail?sku={{ event.properties.sku }}",
        "data": {"thing1": "{{ profile.traits.name }}，您购买的商品已经发货啦，请注意查收包裹",
                 "amount2": "{{ event.properties.total | money }}", "date3": "{{ event.timestamp | date('long') }}",
                 "time4": "{{ now | datetime('yyyy年M月d日 HH:mm') }}", "phrase5": "配送中",
                 "character_string6": "{{ event.properties.sku }}", "name7": "{{ profile.traits.name }}",
                 "thing8": {"value": "备注", "color": "#000"}}},
        purpose=Purpose.TRANSACTIONAL)
    rendered = render(template, context())
    assert rendered.payload == {
        "template_id": "SUB-1", "page": "pages/order/detail?sku=LIP-01", "lang": "zh_CN",
        "data": {"thing1": {"value": "小红，您购买的商品已经发货啦，请注意查收"}, "amount2": {"value": "¥89.90"},
                 "date3": {"value": "2024年6月18日"}, "time4": {"value": "2024年6月18日 12:00"},
                 "phrase5": {"value": "配送中"}, "character_string6": {"value": "LIP-01"},
                 "name7": {"value": "小红"}, "thing8": {"value": "备注"}}}
    assert len(rendered.payload["data"]["thing1"]["value"]) == 20
    assert codes(rendered) == [("truncated", "data.thing1.value", False),
                               ("ignored_by_platform", "data.thing8.color", False)]
    assert rendered.sendable
    assert render(template, context(person(locale="en"))).payload["lang"] == "en_US"


@pytest.mark.parametrize(("key", "value", "code", "blocking", "sent"), [
    ("thing1", "一" * 21, "truncated", False, "一" * 20),
    ("phrase1", "正在配送途中", "truncated", False, "正在配送途"),
    ("phrase1", "ok", "invalid_format", True, "ok"),
    ("number1", "12a", "invalid_format", True, "12a"),
    ("number1", "1" * 33, "too_long", True, "1" * 33),
    ("character_string1", "订单123", "invalid_format", True, "订单123"),
    ("character_string1", "A" * 33, "too_long", True, "A" * 33),
    ("letter1", "abc1", "invalid_format", True, "abc1"),
    ("symbol1", "!!!!!!", "too_long", True, "!!!!!!"),
    ("amount1", "¥12345678901", "invalid_format", True, "¥12345678901"),
    ("phone_number1", "+86-0766-668888661234", "too_long", True, "+86-0766-668888661234"),
    ("car_number1", "粤A8Z888挂12", "too_long", True, "粤A8Z888挂12"),
    ("name1", "欧阳娜娜娜娜娜娜娜娜娜", "truncated", False, "欧阳娜娜娜娜娜娜娜娜"),
    ("name1", "Alexandra Catherine Smith", "truncated", False, "Alexandra Catherine "),
    ("date1", "tomorrow", "invalid_format", True, "tomorrow"),
    ("time1", "noon", "invalid_format", True, "noon"),
    ("thing1", "   ", "invalid_format", False, ""),
])
def test_subscribe_values_outside_the_rules_are_cut_or_reported(key, value, code, blocking, sent) -> None:
    template = MessageTemplate(Channel.WECHAT_SUBSCRIBE, {"template_id": "T", "data": {key: value}})
    rendered = render(template, context())
    assert codes(rendered) == [(code, f"data.{key}.value", blocking)]
    assert rendered.payload["data"][key]["value"] == sent
    assert "developers.weixin.qq.com" in rendered.warnings[0].source


@pytest.mark.parametrize(("content", "payload"), [
    ({"msgtype": "text", "text": {"content": "{{ profile.traits.name }}，在的"}},
     {"msgtype": "text", "text": {"content": "小红，在的"}}),
    ({"msgtype": "image", "image": {"media_id": "MEDIA"}}, {"msgtype": "image", "image": {"media_id": "MEDIA"}}),
    ({"msgtype": "link", "link": {"title": "新品", "description": "{{ event.properties.sku }}",
                                  "url": "{{ link('https://shop.example/n') }}", "thumb_url": "https://i.example/t"}},
     {"msgtype": "link", "link": {"title": "新品", "description": "LIP-01", "url": "https://shop.example/n",
                                  "thumb_url": "https://i.example/t"}}),
    ({"msgtype": "news", "news": {"articles": [{"title": "新品", "url": "https://shop.example/n"}]}},
     {"msgtype": "news", "news": {"articles": [{"title": "新品", "url": "https://shop.example/n"}]}}),
    ({"msgtype": "miniprogrampage", "miniprogrampage": {"title": "去看看", "appid": "wxmini",
                                                        "pagepath": "pages/p?sku={{ event.properties.sku }}",
                                                        "thumb_media_id": "THUMB"}},
     {"msgtype": "miniprogrampage", "miniprogrampage": {"title": "去看看", "appid": "wxmini",
                                                        "pagepath": "pages/p?sku=LIP-01", "thumb_media_id": "THUMB"}}),
])
def test_wechat_customer_service_payloads(content: dict, payload: dict) -> None:
    rendered = render(MessageTemplate(Channel.WECHAT_CS, content), context())
    assert rendered.payload == payload and rendered.warnings == ()


def test_wechat_customer_service_text_limits() -> None:
    long = render(MessageTemplate(Channel.WECHAT_CS, {"msgtype": "text", "text": {"content": "好" * 700}}), context())
    assert codes(long) == [("too_long", "text.content", False)]
    empty = render(MessageTemplate(Channel.WECHAT_CS, {"msgtype": "text", "text": {"content": "{{ x }}"}}), context())
    assert codes(empty) == [("invalid_format", "text.content", True)] and not empty.sendable


def test_wecom_payload_with_attachments_and_byte_limits() -> None:
    template = MessageTemplate(Channel.WECOM, {
        "text": {"content": "{{ profile.traits.name }}，618 会员日来啦"},
        "attachments": [
            {"msgtype": "image", "image": {"media_id": "MEDIA"}},
            {"msgtype": "link", "link": {"title": "标" * 50, "url": "{{ link('https://shop.example/618') }}",
                                         "desc": "会员专享", "picurl": "https://i.example/c.png"}},
            {"msgtype": "miniprogram", "miniprogram": {"title": "进店", "pic_media_id": "PIC", "appid": "wxmini",
                                                       "page": "/pages/index.html"}}]})
    rendered = render(template, context())
    link = rendered.payload["attachments"][1]["link"]
    assert rendered.payload["text"] == {"content": "小红，618 会员日来啦"} and rendered.text == "小红，618 会员日来啦"
    assert [a["msgtype"] for a in rendered.payload["attachments"]] == ["image", "link", "miniprogram"]
    assert link["title"] == "标" * 42 and len(link["title"].encode()) == 126 and link["url"] == "https://shop.example/618"
    assert codes(rendered) == [("truncated", "attachments[1].link.title", False)]


def test_wecom_text_over_the_limit_is_reported() -> None:
    rendered = render(MessageTemplate(Channel.WECOM, {"text": {"content": "a" * 4001}}), context())
    assert codes(rendered) == [("too_long", "text.content", True)]


def test_sms_payload_is_sign_template_code_and_params() -> None:
    template = MessageTemplate(Channel.SMS, {
        "sign_name": "【完美日记】", "template_code": "SMS_123",
        "params": {"name": {"zh": "{{ profile.traits.name | default('顾客') }}", "en": "{{ profile.traits.name }}"},
                   "amount": "{{ event.properties.total }}"},
        "body": "亲爱的${name}，您的订单${amount}元已发货。"}, purpose=Purpose.TRANSACTIONAL)
    rendered = render(template, context())
    assert rendered.payload == {"sign_name": "完美日记", "template_code": "SMS_123",
                                "params": {"name": "小红", "amount": "89.9"}}
    assert rendered.text == "【完美日记】亲爱的小红，您的订单89.9元已发货。" and rendered.warnings == ()


@pytest.mark.parametrize(("params", "body", "purpose", "expected"), [
    ({"n": "x" * 36}, None, Purpose.TRANSACTIONAL, [("too_long", "params.n", True)]),
    ({"n": "【假冒】"}, None, Purpose.TRANSACTIONAL, [("invalid_format", "params.n", True)]),
    ({"n": "{{ profile.traits.nick }}"}, None, Purpose.TRANSACTIONAL, [("invalid_format", "params.n", True)]),
    ({"n": "https://x.example"}, None, Purpose.TRANSACTIONAL, [("invalid_format", "params.n", False)]),
    ({"n": "小红"}, "${n}，618 大促开始了", Purpose.MARKETING, [("missing_opt_out", "body", True)]),
    ({"n": "小红"}, "${n}，618 大促开始了，回T退订", Purpose.MARKETING, []),
    ({"n": "小红"}, "${n}，618 大促开始了，拒收请回复R", Purpose.MARKETING, []),
    ({"n": "小红"}, "${n}，您的券${code}即将过期", Purpose.TRANSACTIONAL, [("missing_value", "params.code", True)]),
    ({"n": "小红"}, "${n}" + "好" * 70, Purpose.TRANSACTIONAL, [("multipart", "body", False)]),
    ({"n": "小红"}, "${n}" + "好" * 500, Purpose.TRANSACTIONAL, [("too_long", "body", True)]),
])
def test_sms_limits(params: dict, body: str | None, purpose: Purpose, expected: list) -> None:
    content = {"sign_name": "品牌", "template_code": "SMS_1", "params": params, **({"body": body} if body else {})}
    rendered = render(MessageTemplate(Channel.SMS, content, purpose=purpose), context())
    assert codes(rendered) == expected


def test_sms_long_message_says_how_many_parts_are_billed() -> None:
    content = {"sign_name": "品牌", "template_code": "SMS_1", "params": {}, "body": "好" * 150}
    rendered = render(MessageTemplate(Channel.SMS, content, purpose=Purpose.TRANSACTIONAL), context())
    assert "154 characters: billed as 3 messages" in rendered.warnings[0].message


def test_email_payload_escapes_html_only() -> None:
    template = MessageTemplate(Channel.EMAIL, {
        "subject": "{{ profile.traits.name }}，<新品>到了",
        "text": "{{ profile.traits.name }} & <朋友>: {{ link('https://shop.example/n?a=1') }}\n"
                "退订: {{ unsubscribe_url }}",
        "html": "<p>{{ profile.traits.name }}</p><a href=\"{{ unsubscribe_url }}\">退订</a>"})
    rendered = render(template, context(person(name="<script>alert(1)</script>")))
    assert rendered.payload == {
        "subject": "<script>alert(1)</script>，<新品>到了",
        "text": f"<script>alert(1)</script> & <朋友>: https://shop.example/n?a=1\n退订: {UNSUBSCRIBE}",
        "html": f"<p>&lt;script&gt;alert(1)&lt;/script&gt;</p><a href=\"{UNSUBSCRIBE}\">退订</a>"}
    assert rendered.warnings == ()


def test_email_subject_line_breaks_never_reach_a_header() -> None:
    template = MessageTemplate(Channel.EMAIL, {"subject": "Hi {{ profile.traits.name }}", "text": "x"},
                               purpose=Purpose.TRANSACTIONAL)
    rendered = render(template, context(person(name="A\r\nBcc: victim@example.com")))
    assert rendered.payload["subject"] == "Hi A Bcc: victim@example.com"
    assert codes(rendered) == [("invalid_format", "subject", False)]


@pytest.mark.parametrize(("purpose", "url", "body", "expected"), [
    (Purpose.MARKETING, None, "sale", [("missing_unsubscribe", "unsubscribe_url", True)]),
    (Purpose.MARKETING, UNSUBSCRIBE, "sale", [("missing_unsubscribe", "html", False)]),
    (Purpose.MARKETING, "http://brand.example/u/1", "sale {{ unsubscribe_url }}",
     [("invalid_format", "unsubscribe_url", False)]),
    (Purpose.TRANSACTIONAL, None, "your receipt", []),
])
def test_marketing_email_needs_an_unsubscribe_link(purpose, url, body, expected) -> None:
    template = MessageTemplate(Channel.EMAIL, {"subject": "s", "text": body}, purpose=purpose)
    assert codes(render(template, context(unsubscribe_url=url))) == expected


def test_webhook_body_is_json_whose_strings_are_templates() -> None:
    template = MessageTemplate(Channel.WEBHOOK, {"body": {
        "type": "order_paid", "profile_id": 42, "vip": True, "score": None,
        "customer": {"name": "{{ profile.traits.name }}", "tags": ["{{ profile.tags | join(',') }}", 7]},
        "greeting": {"zh": "您好", "en": "Hello"}}})
    assert render(template, context(person(locale="en"))).payload == {
        "type": "order_paid", "profile_id": 42, "vip": True, "score": None,
        "customer": {"name": "小红", "tags": ["VIP,618", 7]}, "greeting": "Hello"}


# --- Preview -------------------------------------------------------------------------------------

def test_preview_reports_unknown_and_missing_variables() -> None:
    template = MessageTemplate(Channel.EMAIL, {
        "subject": "Hi {{ profil.traits.name }} {{ profile.trait.name }}",
        "text": {"zh": "{{ profile.traits.nickname | default('亲') }} {{ coupon.code }} {{ event.properties.sku }}",
                 "en": "{{ profile.traits.title }}"},
        "html": "{% for t in profile.tags %}{{ t }}{% endfor %}{{ now.year }} {{ link('https://x.example') }}"},
        purpose=Purpose.TRANSACTIONAL)
    shown = preview(template, context())
    assert [(w.code, w.field) for w in shown.warnings] == [
        (WarningCode.UNKNOWN_VARIABLE, "subject"), (WarningCode.UNKNOWN_VARIABLE, "subject"),
        (WarningCode.MISSING_VALUE, "text.zh"), (WarningCode.MISSING_VALUE, "text.zh")]
    messages = [w.message for w in shown.warnings]
    assert "'profil' is not a template variable" in messages[0]
    assert "profile has no 'trait'" in messages[1]
    assert messages[2:] == [
        "coupon.code is not set for this send: it renders as its default, or empty.",
        "profile.traits.nickname is not set for this send: it renders as its default, or empty."]
    assert shown.payload == render(template, context()).payload and shown.sendable


def test_preview_adds_length_warnings_to_the_payload() -> None:
    template = MessageTemplate(Channel.WECHAT_SUBSCRIBE, {"template_id": "T", "data": {"phrase1": "{{ x }}已发"}})
    shown = preview(template, context())
    assert [w.code for w in shown.warnings] == [WarningCode.UNKNOWN_VARIABLE]
    assert shown.payload["data"]["phrase1"] == {"value": "已发"}


def test_render_does_not_need_the_clock_to_be_passed() -> None:
    from siyu import clock

    with clock.travel(datetime(2025, 1, 1, 0, 30, tzinfo=UTC)):
        assert text_of("{{ now | datetime('yyyy-MM-dd HH:mm') }}", context(now=None)) == "2025-01-01 08:30"
