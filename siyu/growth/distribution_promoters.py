"""Promoters: made from a staff member or a KOC customer, given a parent (two levels at most), and
their links followed — each visit a touch, the visitor known by a signed first-party cookie.

A link token is 128 random bits (``secrets.token_urlsafe(16)``): unguessable, so the address is the
only credential the public link and page need. The visitor cookie (``siyu_vid``) is signed with the
installation's secret, so nobody can claim another visitor's touches by writing a cookie by hand.
"""

from __future__ import annotations

import secrets
import uuid
from datetime import datetime
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from itsdangerous import BadSignature, Signer
from sqlalchemy import Connection

from siyu.growth import distribution_store as store
from siyu.growth.distribution_errors import DistributionError
from siyu.growth.distribution_ledger import start_following
from siyu.growth.distribution_models import Promoter, PromoterKind, PromoterStatus
from siyu.growth.distribution_rules import check_parent
from siyu.messaging.links import with_utm

VISITOR_COOKIE = "siyu_vid"
REF_PARAMETER = "siyu_ref"
SALT = "siyu-distribution-visitor"
MAX_PRODUCTS = 12


def new_token() -> str:
    return secrets.token_urlsafe(16)


def _landing(url: str | None) -> str:
    if not url:
        return ""
    url = url.strip()
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc or len(url) > 1000:
        raise DistributionError("landing_url is an http(s) address of at most 1000 characters.",
                                details={"field": "landing_url"})
    return url


def _products(items: Any) -> list[dict[str, Any]]:
    """What the personal page lists: name, an optional http(s) address and an optional price."""
    if items is None:
        return []
    if not isinstance(items, list) or len(items) > MAX_PRODUCTS:
        raise DistributionError(f"products is a list of at most {MAX_PRODUCTS} items.", details={"field": "products"})
    found = []
    for index, item in enumerate(items):
        name = item.get("name") if isinstance(item, dict) else None
        if not isinstance(name, str) or not name.strip() or len(name) > 100:
            raise DistributionError(f"products[{index}].name is a text of 1-100 characters.",
                                    details={"field": f"products[{index}]"})
        product: dict[str, Any] = {"name": name.strip()}
        if item.get("url"):
            product["url"] = _landing(str(item["url"]))
        price = item.get("price")
        if price is not None:
            if isinstance(price, bool) or not isinstance(price, int | float) or price < 0:
                raise DistributionError(f"products[{index}].price is a number of yuan.",
                                        details={"field": f"products[{index}]"})
            product["price"] = price
        found.append(product)
    return found


def _parent(conn: Connection, workspace_id: int, promoter_id: int | None, parent_id: int | None) -> None:
    if parent_id is None:
        return
    store.lock_promoters(conn, workspace_id, [parent_id] + ([promoter_id] if promoter_id else []))
    parent = store.get_promoter(conn, workspace_id, parent_id)
    recruits = promoter_id is not None and store.has_recruits(conn, workspace_id, promoter_id)
    check_parent(promoter_id, parent.id, parent.parent_id, recruits)


def create_promoter(conn: Connection, workspace_id: int, *, kind: str, now: datetime, staff_id: int | None = None,
                    profile_id: int | None = None, name: str | None = None, parent_id: int | None = None,
                    landing_url: str | None = None, products: Any = None) -> Promoter:
    from siyu.profiles.read_store import resolve_profile_id
    from siyu.profiles.store import load_traits
    from siyu.staff import store as staff_store

    if kind == PromoterKind.STAFF:
        if staff_id is None or profile_id is not None:
            raise DistributionError("A staff promoter names a staff_id (and no profile_id).",
                                    details={"field": "staff_id"})
        name = name or staff_store.get_staff(conn, workspace_id, staff_id).name  # 404 for a stranger
    elif kind == PromoterKind.KOC:
        if profile_id is None or staff_id is not None:
            raise DistributionError("A KOC promoter names a profile_id (and no staff_id).",
                                    details={"field": "profile_id"})
        profile_id = resolve_profile_id(conn, workspace_id, profile_id)
        traits = load_traits(conn, workspace_id, [profile_id]).get(profile_id, ({}, {}))[0]
        name = name or str(traits.get("name") or traits.get("nickname") or f"KOC {profile_id}")
    else:
        raise DistributionError("kind is staff or koc.", details={"field": "kind"})
    _parent(conn, workspace_id, None, parent_id)
    promoter = store.insert_promoter(conn, workspace_id, now=now, kind=str(kind), staff_id=staff_id,
                                     profile_id=profile_id, name=name[:100], parent_id=parent_id, token=new_token(),
                                     landing_url=_landing(landing_url), products=_products(products))
    start_following(conn, workspace_id, now)
    return promoter


UNSET: Any = object()


def change_promoter(conn: Connection, workspace_id: int, promoter_id: int, now: datetime, *, name: Any = UNSET,
                    parent_id: Any = UNSET, landing_url: Any = UNSET, products: Any = UNSET,
                    status: Any = UNSET) -> Promoter:
    """Change what is given; a new parent is checked against the two-level limit under lock."""
    found = store.get_promoter(conn, workspace_id, promoter_id)
    values: dict[str, Any] = {}
    if name is not UNSET and name is not None:
        if not isinstance(name, str) or not name.strip():
            raise DistributionError("name is a non-empty text.", details={"field": "name"})
        values["name"] = name.strip()[:100]
    if parent_id is not UNSET:
        _parent(conn, workspace_id, found.id, parent_id)
        values["parent_id"] = parent_id
    if landing_url is not UNSET:
        values["landing_url"] = _landing(landing_url)
    if products is not UNSET:
        values["products"] = _products(products)
    if status is not UNSET and status is not None:
        values["status"] = PromoterStatus(status).value
    return store.update_promoter(conn, workspace_id, promoter_id, now, **values) if values else found


def sign_visitor(secret: str, visitor_id: str) -> str:
    return Signer(secret, salt=SALT).sign(visitor_id).decode()


def read_visitor(secret: str, cookie: str | None) -> str | None:
    if not cookie or len(cookie) > 200:
        return None
    try:
        return Signer(secret, salt=SALT).unsign(cookie).decode()
    except BadSignature:
        return None


def destination(promoter: Promoter, page_url: str, ref: str, item: int | None = None) -> str:
    """Where a link leads: the chosen product's address, else the landing URL, else the promoter's own
    page; with ``siyu_ref`` (for the shop to echo on the order) and UTM tags."""
    url = promoter.landing_url or page_url
    if item is not None and 0 <= item < len(promoter.products) and promoter.products[item].get("url"):
        url = promoter.products[item]["url"]
    parts = urlsplit(url)
    query = urlencode([*parse_qsl(parts.query, keep_blank_values=True), (REF_PARAMETER, ref)])
    return with_utm(urlunsplit((parts.scheme, parts.netloc, parts.path, query, parts.fragment)), "distribution",
                    f"promoter-{promoter.id}")


def follow(conn: Connection, token: str, *, visitor_id: str | None, known_ids: list[str], now: datetime,
           ref_given: str | None = None) -> tuple[Promoter, str, str] | None:
    """Record a touch for the link's promoter (an active one); (promoter, touch ref, visitor id), or
    None for an unknown token. The visitor is the signed cookie's; else the visitor of the
    ``siyu_ref`` the link was opened with (a browser that keeps no cookies, e.g. a share inside
    WeChat passing the ref on); else a new one. ``known_ids`` are other first-party ids of the
    browser (the forms' ``siyu_aid``) that may already name a profile."""
    found = store.promoter_by_token(conn, token)
    if found is None:
        return None
    workspace_id, promoter = found
    if visitor_id is None and ref_given:
        visitor_id = store.visitor_of_ref(conn, workspace_id, ref_given[:32])
    visitor = visitor_id or uuid.uuid4().hex
    ref = secrets.token_urlsafe(12)
    if promoter.status is PromoterStatus.ACTIVE:
        profile_id = store.profile_of_visitor(conn, workspace_id, [visitor, *known_ids])
        store.insert_touch(conn, workspace_id, promoter_id=promoter.id, ref=ref, visitor_id=visitor,
                           profile_id=profile_id, at=now)
    return promoter, ref, visitor
