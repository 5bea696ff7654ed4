"""Message templates and what they render into.

A template is a channel plus its content fields; every string in the content is a Jinja template,
and any field may instead hold language variants (``{"zh": "…", "en": "…"}``). Rendering produces
the plain payload a channel adapter sends, plus warnings (a value over a platform limit, a variable
this person lacks). A warning is ``blocking`` when the platform would refuse the message as it is.
The channels' shapes and limits are in :mod:`siyu.messaging.template_payloads`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from siyu.errors import SiyuError
from siyu.messaging.models import Channel, Purpose

LANGUAGES = ("zh", "en")  # content variants a template may carry; Babel locales zh_CN and en
BABEL_LOCALES = {"zh": "zh_CN", "en": "en"}

# A link maker turns (url, utm parameters) into the link a person receives, e.g. a tracked short link.
LinkMaker = Callable[[str, Mapping[str, str]], str]


class InvalidTemplate(SiyuError):
    """A template that does not compile or cannot render; ``details`` name the field, line and reason."""

    code = "messaging.invalid_template"
    status = 422

    def __init__(self, field: str, reason: str, *, line: int | None = None) -> None:
        where = f"{field}, line {line}" if line is not None else field
        super().__init__(f"Template field '{where}': {reason.rstrip('.')}. Fix the template and save it again.",
                         details={"field": field, "line": line, "reason": reason})


@dataclass(frozen=True)
class MessageTemplate:
    """``content`` mirrors the channel's send API (see ``docs/messaging-rules.md``); strings are templates."""

    channel: Channel
    content: Mapping[str, Any]
    purpose: Purpose = Purpose.MARKETING
    name: str = ""


@dataclass(frozen=True)
class PublicLinks:
    """What ``member_centre_link()`` and ``survey_link(id)`` need to sign a link for the person being
    rendered: the public base URL (``SIYU_PUBLIC_URL``), the server's signing secret, the workspace and
    the person, and how many days a member-centre link lasts (the loyalty programme's
    ``centre_link_days``). Made by the code that renders a send (:mod:`siyu.messaging.render`), never
    shown to the template itself."""

    public_url: str
    secret: str = field(repr=False)
    workspace_id: int = 0
    profile_id: int = 0
    centre_link_days: int = 30


@dataclass(frozen=True)
class RenderContext:
    """Everything a template may read about one send.

    ``profile`` is :func:`siyu.messaging.templates.profile_context` of the person; ``event`` the
    triggering event (``name``, ``properties``, ``timestamp``, ``message_id``; a journey's send passes
    the event that entered the person, or an API entry's ``properties``); ``coupon`` the offer given with the
    message (``code``, ``value``, ``expires_at``). ``now`` defaults to :func:`siyu.clock.now` and is
    shown in ``timezone``. ``utm`` holds defaults for ``link()`` (a journey sets its campaign).
    ``public_links`` lets ``member_centre_link()`` and ``survey_link(id)`` sign links for this person;
    ``send_key`` is the send being rendered (the outbox key of its message,
    ``journey:<id>:<version>:<step>:<entry>``, ``broadcast:<id>:<profile>``, …; None for a preview),
    which ``survey_link(id)`` signs into the link so that each send asks anew.
    """

    profile: Mapping[str, Any] = field(default_factory=dict)
    event: Mapping[str, Any] | None = None
    coupon: Mapping[str, Any] | None = None
    unsubscribe_url: str | None = None
    timezone: str = "Asia/Shanghai"
    default_language: str = "zh"
    now: datetime | None = None
    link_maker: LinkMaker | None = None
    utm: Mapping[str, str] = field(default_factory=dict)
    public_links: PublicLinks | None = None  # member_centre_link() / survey_link(): empty without them
    send_key: str | None = None  # the message being rendered: survey_link()'s sending


class WarningCode(StrEnum):
    UNKNOWN_VARIABLE = "unknown_variable"  # a name no template context provides (a typo)
    MISSING_VALUE = "missing_value"  # this person or event lacks it: it renders as its default or empty
    TOO_LONG = "too_long"
    TRUNCATED = "truncated"  # shortened to the platform's limit (free-text fields only)
    INVALID_FORMAT = "invalid_format"
    IGNORED_BY_PLATFORM = "ignored_by_platform"  # accepted by the API, not shown to the person
    MULTIPART = "multipart"  # an SMS over 70 characters, billed as several
    MISSING_UNSUBSCRIBE = "missing_unsubscribe"
    MISSING_OPT_OUT = "missing_opt_out"
    MARKETING_NOT_ALLOWED = "marketing_not_allowed"  # the channel is for service notices only


@dataclass(frozen=True)
class TemplateWarning:
    code: WarningCode
    field: str
    message: str
    blocking: bool = False  # the platform would refuse the message as rendered
    source: str | None = None  # the rule's source, for limits


@dataclass(frozen=True)
class RenderedMessage:
    channel: Channel
    language: str  # "zh" or "en": the variant chosen for this person
    payload: dict[str, Any]
    warnings: tuple[TemplateWarning, ...] = ()
    text: str | None = None  # what the person reads, where siyu can tell (SMS with its body, text messages)

    @property
    def sendable(self) -> bool:
        return not any(w.blocking for w in self.warnings)
