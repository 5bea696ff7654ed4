"""Rendering message templates: sandboxed Jinja2 in, a channel's payload and its warnings out.

Why it is safe to run operator-written templates: the environment is Jinja's
``ImmutableSandboxedEnvironment`` (no dunder or private attribute access, no mutating methods,
``range`` capped), string/list repetition and powers are bounded, every field's output is capped,
and only data is exposed (plain mappings, ``link()``, ``now``). A missing variable is a
``_Missing`` value: it renders empty, takes ``| default(...)``, compares false and absorbs
arithmetic (both in :mod:`siyu.messaging.template_sandbox`), so a template never fails because one
person lacks a trait. What does fail, with
``messaging.invalid_template`` naming the field, line and reason: syntax errors, unknown filters,
refused sandbox access and errors the template itself causes (``1 / 0``).

Variables: ``profile`` (:func:`profile_context`), ``event``, ``coupon``, ``link(url, **utm)``,
``unsubscribe_url``, ``now`` (workspace time zone) and ``locale`` (``zh``/``en``); the person's signed
links ``member_centre_link()`` and ``survey_link(survey_id, send_key)`` (when the send has
:class:`~siyu.messaging.template_models.PublicLinks`; empty otherwise); filters ``money``,
``date`` and ``datetime`` format with Babel in the person's language. HTML is escaped only in the
e-mail ``html`` field. Channel shapes and limits live in :mod:`siyu.messaging.template_models`;
the rules behind them, with sources, in ``docs/messaging-rules.md``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import replace
from datetime import datetime
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit
from zoneinfo import ZoneInfo

from jinja2 import Template, TemplateSyntaxError, meta, nodes
from jinja2.exceptions import TemplateError

from siyu import clock
from siyu.messaging.models import Channel
from siyu.messaging.template_models import (
    LANGUAGES,
    InvalidTemplate,
    MessageTemplate,
    PublicLinks,
    RenderContext,
    RenderedMessage,
    TemplateWarning,
    WarningCode,
)
from siyu.messaging.template_payloads import check_shape, is_variants, shape_payload
from siyu.messaging.template_sandbox import SETTINGS_KEY, TEXT_ENV, RenderSettings, absent, compiled, parsed

MAX_FIELD_CHARS = 100_000  # a rendered field longer than any channel accepts is a runaway loop
PROFILE_KEYS = ("id", "traits", "identities", "tags", "rollups")
EVENT_KEYS = ("name", "properties", "timestamp", "message_id")
VARIABLES = frozenset({"profile", "event", "coupon", "link", "unsubscribe_url", "now", "locale",
                       "member_centre_link", "survey_link"})
SIGNED_LINKS = ("member_centre_link", "survey_link")


# --- Context -------------------------------------------------------------------------------------

def profile_context(detail: Mapping[str, Any]) -> dict[str, Any]:
    """The ``profile`` variable from a profile detail (``profiles.read_store.profile_detail``).

    ``identities`` maps each type to its most recently seen value, under the full type
    (``identities["wechat_openid:wx123"]``) and its kind (``identities.wechat_openid``); ``tags`` are
    tag names; ``rollups`` are the profile's rollups (``order_count``, ``total_spend``,
    ``last_order_at``, …), named as in ``GET /api/profiles/{id}``.
    """
    def seen(identity: Mapping[str, Any]) -> float:
        at = identity.get("last_seen_at")
        return at.timestamp() if isinstance(at, datetime) else 0.0

    identities: dict[str, str] = {}
    for identity in sorted(detail.get("identities") or [], key=seen):
        identities[str(identity["type"])] = identity["value"]
        identities[str(identity["type"]).partition(":")[0]] = identity["value"]
    return {"id": detail.get("id"), "traits": dict(detail.get("traits") or {}), "identities": identities,
            "tags": [tag["name"] if isinstance(tag, Mapping) else tag for tag in detail.get("tags") or []],
            "rollups": dict(detail.get("rollups") or {})}


def choose_language(traits: Mapping[str, Any], default_language: str | None = None) -> str:
    """The person's ``locale`` trait (``en-US``, ``zh_CN``, …), else the workspace default, else zh."""
    for candidate in (traits.get("locale"), traits.get("language"), default_language):
        if isinstance(candidate, str):
            language = candidate.strip().lower().replace("_", "-").partition("-")[0]
            if language in LANGUAGES:
                return language
    return "zh"


def append_utm(url: str, utm: Mapping[str, str]) -> str:
    """The default link maker: ``url`` with the UTM parameters it does not already carry."""
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    present = {key for key, _ in query}
    query += [(key, value) for key, value in utm.items() if key not in present]
    return urlunsplit(parts._replace(query=urlencode(query)))


class _LinkMakerFailed(Exception):
    """The caller's link maker raised: its error is the caller's, not the template's."""

    def __init__(self, original: BaseException) -> None:
        super().__init__(str(original))
        self.original = original


def _link(context: RenderContext) -> Callable[..., str]:
    maker = context.link_maker or append_utm

    def link(url: Any, **utm: Any) -> str:
        merged = {**context.utm, **utm}
        params = {key if key.startswith("utm_") else f"utm_{key}": str(value)
                  for key, value in merged.items() if not absent(value) and str(value)}
        try:
            return maker(str(url), params)
        except Exception as error:  # re-raised unchanged by _render_string
            raise _LinkMakerFailed(error) from error

    return link


def member_centre_link(links: PublicLinks, now: datetime) -> Callable[[], str]:
    """``member_centre_link()``: the person's member centre (``/m/…``), valid ``centre_link_days``
    from the send (:mod:`siyu.loyalty.member_centre_token`)."""
    def centre() -> str:
        from siyu.loyalty.member_centre_token import link_for

        return link_for(links.public_url, links.secret, links.workspace_id, links.profile_id, now,
                        links.centre_link_days)[0]

    return centre


def survey_link(links: PublicLinks, send: str | None = None) -> Callable[..., str]:
    """``survey_link(survey_id, send_key=None)``: the person's signed answer page of a survey
    (``/survey/…``, the links ``POST /api/surveys/{id}/links`` gives; :mod:`siyu.surveys.page`).

    Without ``send_key`` the link stands for this send (``send``, the outbox key of the message being
    rendered; :func:`siyu.surveys.sends.send_key_for`): a person asked again by another journey entry
    or message can answer again, and the same message rendered twice carries the same link. A
    template may name the sending itself (``survey_link(12, '2027-q1')``), e.g. ``'default'`` to ask
    each person once whatever sends the link; a value this person lacks is no key."""
    def survey(survey_id: Any, send_key: Any = None) -> str:
        from siyu.surveys.page import link_for
        from siyu.surveys.sends import MAX_SEND_KEY, is_send_key, send_key_for

        if isinstance(survey_id, bool) or not isinstance(survey_id, int | str) or not str(survey_id).isdigit() \
                or not 0 < int(survey_id) < 2**63:
            raise ValueError(f"survey_link() takes a survey id (a whole number), not {survey_id!r}")
        if absent(send_key):  # a trait this person lacks: this send, as when none is given
            send_key = None
        if send_key is not None and not is_send_key(send_key):
            raise ValueError(f"survey_link()'s send key is 1-{MAX_SEND_KEY} of the characters A-Z a-z 0-9 _ . : -, "
                             f"not {send_key!r}")
        key = send_key if send_key is not None else send_key_for(send)
        return link_for(links.public_url, links.secret, links.workspace_id, int(survey_id), links.profile_id, key)

    return survey


def _variables(context: RenderContext, language: str) -> dict[str, Any]:
    zone = ZoneInfo(context.timezone)
    found: dict[str, Any] = {
        "profile": context.profile, "now": (context.now or clock.now()).astimezone(zone), "locale": language,
        "link": _link(context), SETTINGS_KEY: RenderSettings(language, zone)}
    for name, value in (("event", context.event), ("coupon", context.coupon),
                        ("unsubscribe_url", context.unsubscribe_url)):
        if value is not None:
            found[name] = value
    if context.public_links is not None:
        found["member_centre_link"] = member_centre_link(context.public_links, context.now or clock.now())
        found["survey_link"] = survey_link(context.public_links, context.send_key)
    return found


# --- Walking content -----------------------------------------------------------------------------

def _pick(variants: Mapping[str, str], language: str, default_language: str) -> str:
    for candidate in (language, default_language, "zh", *LANGUAGES):
        if candidate in variants:
            return variants[candidate]
    raise AssertionError("variants are never empty")


def _sources(value: Any, path: str) -> Iterator[tuple[str, str, str | None]]:
    """Every template string in a content tree: (field path, source, language of the variant)."""
    if isinstance(value, str):
        yield path, value, None
    elif is_variants(value):
        for language, text in value.items():
            yield f"{path}.{language}", text, language
    elif isinstance(value, Mapping):
        for key, item in value.items():
            yield from _sources(item, f"{path}.{key}" if path else str(key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _sources(item, f"{path}[{index}]")


def _is_html(channel: Channel, field: str) -> bool:
    return channel is Channel.EMAIL and (field == "html" or field.startswith("html."))


def _template_line(error: BaseException) -> int | None:
    line, trace = None, error.__traceback__
    while trace is not None:  # Jinja rewrites template frames to '<template>' with template line numbers
        if trace.tb_frame.f_code.co_filename == "<template>":
            line = trace.tb_lineno
        trace = trace.tb_next
    return line


def _compile_or_raise(field: str, source: str, html: bool) -> Template:
    try:
        return compiled(source, html)
    except TemplateSyntaxError as error:
        raise InvalidTemplate(field, error.message or str(error), line=error.lineno) from None


def _render_string(field: str, source: str, html: bool, variables: Mapping[str, Any]) -> str:
    if "{" not in source:
        return source
    template = _compile_or_raise(field, source, html)
    try:
        text = template.render(variables)
    except _LinkMakerFailed as failure:
        raise failure.original from None
    except (TemplateError, ArithmeticError, TypeError, ValueError, LookupError, AttributeError) as error:
        raise InvalidTemplate(field, f"{type(error).__name__}: {error}", line=_template_line(error)) from None
    if len(text) > MAX_FIELD_CHARS:
        raise InvalidTemplate(field, f"it renders {len(text)} characters, over the {MAX_FIELD_CHARS} limit")
    return text


def _render_tree(value: Any, path: str, render: Callable[[str, str], str], pick: Callable[[Any], str]) -> Any:
    if isinstance(value, str):
        return render(path, value)
    if is_variants(value):
        return render(path, pick(value))
    if isinstance(value, Mapping):
        return {key: _render_tree(item, f"{path}.{key}" if path else str(key), render, pick)
                for key, item in value.items()}
    if isinstance(value, list):
        return [_render_tree(item, f"{path}[{index}]", render, pick) for index, item in enumerate(value)]
    return value


# --- Public API ----------------------------------------------------------------------------------

def validate_template(template: MessageTemplate) -> None:
    """Raise :class:`InvalidTemplate` unless the content has the channel's shape and every field compiles."""
    check_shape(template.channel, template.content)
    for field, source, _ in _sources(template.content, ""):
        _compile_or_raise(field, source, _is_html(template.channel, field))


def render(template: MessageTemplate, context: RenderContext) -> RenderedMessage:
    """The payload for one person: their language's variant of every field, rendered and checked
    against the channel's limits (see :class:`~siyu.messaging.template_models.TemplateWarning`)."""
    check_shape(template.channel, template.content)
    language = choose_language(context.profile.get("traits") or {}, context.default_language)
    variables = _variables(context, language)
    content = _render_tree(
        template.content, "",
        lambda field, source: _render_string(field, source, _is_html(template.channel, field), variables),
        lambda variants: _pick(variants, language, choose_language({}, context.default_language)))
    payload, warnings, text = shape_payload(template, content, context, language)
    return RenderedMessage(template.channel, language, payload, tuple(warnings), text)


def preview(template: MessageTemplate, context: RenderContext) -> RenderedMessage:
    """:func:`render`, plus warnings about variables: names no context provides (typos) and values this
    person or event lacks (they render as their default, or empty)."""
    rendered = render(template, context)
    variables = _variables(context, rendered.language)
    found: list[TemplateWarning] = []
    for field, source, language in _sources(template.content, ""):
        if "{" in source:
            found.extend(_variable_warnings(field, parsed(source), variables,
                                            check_values=language in (None, rendered.language)))
    unique = list(dict.fromkeys(found))
    return replace(rendered, warnings=(*unique, *rendered.warnings))


# --- Variable analysis (preview) -----------------------------------------------------------------

def _chain(node: nodes.Node) -> tuple[str, ...] | None:
    parts: list[str] = []
    while True:
        if isinstance(node, nodes.Getattr):
            parts.append(node.attr)
            node = node.node
        elif isinstance(node, nodes.Getitem) and isinstance(node.arg, nodes.Const) and isinstance(node.arg.value, str):
            parts.append(node.arg.value)
            node = node.node
        elif isinstance(node, nodes.Name):
            parts.append(node.name)
            return tuple(reversed(parts))
        else:
            return None


def _chains(ast: nodes.Template) -> list[tuple[str, ...]]:
    """Dotted paths the template reads (``profile.traits.name``), longest only."""
    found = {chain for node in ast.find_all((nodes.Getattr, nodes.Getitem, nodes.Name))
             if (chain := _chain(node)) is not None}
    return sorted(c for c in found if not any(o != c and o[:len(c)] == c for o in found))


_UNSET = object()


def _resolve(value: Any, path: tuple[str, ...]) -> Any:
    for part in path:
        if isinstance(value, Mapping) and part in value:
            value = value[part]
        elif not part.startswith("_") and not isinstance(value, Mapping) and hasattr(value, part):
            value = getattr(value, part)
        else:
            return _UNSET
    return value


def _variable_warnings(field: str, ast: nodes.Template, variables: Mapping[str, Any], *,
                       check_values: bool) -> Iterator[TemplateWarning]:
    for name in sorted(meta.find_undeclared_variables(ast) - VARIABLES - set(TEXT_ENV.globals)):
        yield TemplateWarning(WarningCode.UNKNOWN_VARIABLE, field,
                              f"'{name}' is not a template variable (known: {', '.join(sorted(VARIABLES))}).")
    for chain in _chains(ast):
        root, known = chain[0], {"profile": PROFILE_KEYS, "event": EVENT_KEYS}.get(chain[0])
        if known is not None and len(chain) > 1 and chain[1] not in known and \
                _resolve(variables.get(root), chain[1:2]) is _UNSET:
            yield TemplateWarning(WarningCode.UNKNOWN_VARIABLE, field,
                                  f"{root} has no '{chain[1]}' (it has {', '.join(known)}).")
        elif check_values and root in ("profile", "event", "coupon", "unsubscribe_url", *SIGNED_LINKS) and \
                _resolve(variables.get(root, _UNSET), chain[1:]) is _UNSET:
            yield TemplateWarning(WarningCode.MISSING_VALUE, field,
                                  f"{'.'.join(chain)} is not set for this send: it renders as its default, or empty.")
