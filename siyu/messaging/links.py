"""Tracked links: which URLs of a message are rewritten, how, and what the redirect adds. Pure.

When a message is handed to its channel, every web link a person can follow is replaced by
``{SIYU_PUBLIC_URL}/r/<token>`` (see :mod:`siyu.messaging.tracking`); the redirect then records the
click and sends the person on with UTM parameters. The fields are the ones a person can click:

- e-mail: ``href`` of ``<a>`` tags in ``html``; bare URLs in ``text``;
- SMS: bare URLs in the template variables (``params``) — the approved template holds the rest;
- WeChat customer-service: ``<a href>`` and bare URLs in ``text.content``, ``news.articles[].url``,
  ``link.url``; template messages: ``url``.

Only ``http(s)`` URLs are touched; links already on ``SIYU_PUBLIC_URL`` (the unsubscribe link, a
link tracked by an earlier attempt) are left alone, so rewriting twice changes nothing. An HTML
e-mail also gets a 1×1 open pixel before ``</body>``.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from siyu.messaging.models import Channel

TRACK_KEY = "$track_links"  # ``false`` in a payload: this message's links and opens are not tracked
Replace = Callable[[str], str | None]  # an original URL -> its replacement, or None to keep it

# RFC 3986 characters; a URL in running text ends at anything else (spaces, CJK punctuation, quotes).
_BARE_URL = re.compile(r"https?://[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=%]+", re.IGNORECASE)
_TRAILING = ".,;:!?'\")]}"  # sentence punctuation after a URL is not part of it
_HREF = re.compile(r"""(<a\b[^>]*?\bhref\s*=\s*)(["'])(.*?)\2""", re.IGNORECASE | re.DOTALL)
_HREF_OR_BARE = re.compile(f"{_HREF.pattern}|{_BARE_URL.pattern}", re.IGNORECASE | re.DOTALL)
_BODY_END = re.compile(r"</body\s*>", re.IGNORECASE)


def trackable(url: str, public_url: str) -> bool:
    lowered = url.lower()
    return lowered.startswith(("http://", "https://")) and not url.startswith(public_url.rstrip("/") + "/")


def _swap_bare(match: re.Match[str], replace: Replace) -> str:
    url, tail = match.group(0), ""
    while url and url[-1] in _TRAILING and not (url[-1] == ")" and url.count("(") >= url.count(")")):
        url, tail = url[:-1], url[-1] + tail
    return (replace(url) or url) + tail


def _swap_href(match: re.Match[str], replace: Replace) -> str:
    new = replace(html.unescape(match.group(3)).strip())
    return match.group(0) if new is None else f"{match.group(1)}{match.group(2)}{html.escape(new)}{match.group(2)}"


def _bare(text: str, replace: Replace) -> str:
    return _BARE_URL.sub(lambda match: _swap_bare(match, replace), text)


def _hrefs(markup: str, replace: Replace) -> str:
    return _HREF.sub(lambda match: _swap_href(match, replace), markup)


def _hrefs_and_bare(text: str, replace: Replace) -> str:
    """Both in one pass, so a URL inside an ``href`` is not seen again as a bare one."""
    return _HREF_OR_BARE.sub(lambda match: _swap_href(match, replace) if match.group(3) is not None
                             else _swap_bare(match, replace), text)


def rewrite(channel: Channel, payload: dict[str, Any], replace: Replace) -> dict[str, Any]:
    """A copy of ``payload`` with each clickable URL passed through ``replace`` (see the module
    docstring for the fields). ``replace`` sees every URL, trackable or not; it decides."""
    out = dict(payload)
    if channel is Channel.EMAIL:
        if isinstance(out.get("html"), str):
            out["html"] = _hrefs(out["html"], replace)
        if isinstance(out.get("text"), str):
            out["text"] = _bare(out["text"], replace)
    elif channel is Channel.SMS:
        if isinstance(out.get("params"), dict):
            out["params"] = {k: _bare(v, replace) if isinstance(v, str) else v for k, v in out["params"].items()}
    elif channel is Channel.WECHAT_TEMPLATE:
        if isinstance(out.get("url"), str) and out["url"]:
            out["url"] = replace(out["url"]) or out["url"]
    elif channel is Channel.WECHAT_CS:
        _rewrite_customer_service(out, replace)
    return out


def _rewrite_customer_service(out: dict[str, Any], replace: Replace) -> None:
    kind = out.get("msgtype")
    if not isinstance(kind, str):
        return
    block = out.get(kind)
    if not isinstance(block, dict):
        return
    block = dict(block)
    if kind == "text" and isinstance(block.get("content"), str):
        block["content"] = _hrefs_and_bare(block["content"], replace)
    elif kind == "link" and isinstance(block.get("url"), str):
        block["url"] = replace(block["url"]) or block["url"]
    elif kind == "news" and isinstance(block.get("articles"), list):
        block["articles"] = [{**a, "url": replace(a["url"]) or a["url"]}
                             if isinstance(a, dict) and isinstance(a.get("url"), str) else a
                             for a in block["articles"]]
    out[kind] = block


def urls_in(channel: Channel, payload: dict[str, Any], public_url: str) -> list[str]:
    """The trackable URLs of a payload, each once, in order of appearance."""
    found: dict[str, None] = {}

    def collect(url: str) -> None:
        if trackable(url, public_url):
            found.setdefault(url)

    rewrite(channel, payload, collect)  # type: ignore[arg-type]
    return list(found)


def with_pixel(markup: str, pixel_url: str) -> str:
    """``markup`` with a 1×1 image before ``</body>`` (or at the end); unchanged if it has it already."""
    if pixel_url in markup:
        return markup
    image = (f'<img src="{html.escape(pixel_url)}" width="1" height="1" alt="" '
             'style="display:block;width:1px;height:1px;border:0" />')
    found = list(_BODY_END.finditer(markup))
    if not found:
        return markup + image
    at = found[-1].start()
    return markup[:at] + image + markup[at:]


def with_utm(url: str, medium: str, campaign: str) -> str:
    """``url`` with ``utm_source=siyu``, ``utm_medium`` and ``utm_campaign`` added — unless it carries
    any ``utm_*`` parameter already: then the brand tagged it on purpose, and it is left as it is
    (mixing its tags with ours would split one campaign over two in the brand's analytics)."""
    parts = urlsplit(url)
    if any(key.lower().startswith("utm_") for key, _ in parse_qsl(parts.query, keep_blank_values=True)):
        return url
    added = urlencode({"utm_source": "siyu", "utm_medium": medium, "utm_campaign": campaign})
    query = f"{parts.query}&{added}" if parts.query else added
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, parts.fragment))
