"""Identity resolution decisions, as pure functions over an in-memory graph (no database)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from siyu.identity.graph import BatchGraph
from siyu.identity.models import Identifier
from siyu.identity.normalise import InvalidIdentifier, normalise, parse_type
from siyu.identity.resolve import resolve
from siyu.identity.rules import DEFAULT_RULES, IdentityRules


def ident(type_: str, value: str) -> Identifier:
    return Identifier(type_, value)


def run(graph: BatchGraph, *identifiers: Identifier) -> int | None:
    return graph.apply(resolve(identifiers, graph, DEFAULT_RULES), message_id=None)


def test_new_identifiers_create_one_profile() -> None:
    graph = BatchGraph()
    first = run(graph, ident("user_id", "u1"), ident("anonymous_id", "a1"))
    assert first is not None
    assert graph.owner(ident("user_id", "u1")) == first == graph.owner(ident("anonymous_id", "a1"))


def test_known_identifier_resolves_to_its_profile_and_links_new_ones() -> None:
    graph = BatchGraph.load({ident("user_id", "u1"): 7}, {7: [ident("user_id", "u1")]})
    assert run(graph, ident("user_id", "u1"), ident("phone", "+8613800138001")) == 7
    assert graph.owner(ident("phone", "+8613800138001")) == 7
    assert graph.new_links == {ident("phone", "+8613800138001"): 7}


def test_two_profiles_sharing_a_new_identifier_merge_into_the_oldest() -> None:
    graph = BatchGraph.load(
        {ident("anonymous_id", "a1"): 3, ident("phone", "+8613800138001"): 9},
        {3: [ident("anonymous_id", "a1")], 9: [ident("phone", "+8613800138001")]},
    )
    assert run(graph, ident("anonymous_id", "a1"), ident("phone", "+8613800138001")) == 3
    assert graph.merged_into == {9: 3}
    assert graph.merges[0].identities == [ident("phone", "+8613800138001")]


def test_shared_device_does_not_merge_strangers() -> None:
    """One tablet in a store (anonymous id a1) used by two members: the second login must not
    glue the two people together; the anonymous id is demoted and recorded as a conflict."""
    graph = BatchGraph.load(
        {ident("user_id", "alice"): 1, ident("anonymous_id", "tablet"): 1},
        {1: [ident("user_id", "alice"), ident("anonymous_id", "tablet")]},
    )
    bob = run(graph, ident("user_id", "bob"), ident("anonymous_id", "tablet"))
    assert bob is not None and bob != 1
    assert graph.owner(ident("user_id", "bob")) == bob
    assert graph.owner(ident("anonymous_id", "tablet")) == 1
    [(conflict, _)] = graph.conflicts
    assert conflict.identifier == ident("anonymous_id", "tablet")
    assert conflict.rule == "limit:user_id=1"


def test_family_phone_does_not_merge_two_unionids() -> None:
    graph = BatchGraph.load(
        {ident("wechat_unionid", "mum"): 1, ident("phone", "+8613800138002"): 1},
        {1: [ident("wechat_unionid", "mum"), ident("phone", "+8613800138002")]},
    )
    child = run(graph, ident("wechat_unionid", "kid"), ident("phone", "+8613800138002"))
    assert child not in (None, 1)
    assert graph.conflicts[0][0].identifier.type == "phone"


def test_openid_limit_is_per_app() -> None:
    """One person has one openid per official account or mini program, so openids of two
    different apps may share a profile, but two openids of the same app may not."""
    graph = BatchGraph()
    person = run(graph, ident("wechat_unionid", "u"), ident("wechat_openid:wxA", "oA"),
                 ident("wechat_openid:wxB", "oB"))
    assert {i.type for i in graph.identifiers_of(person)} == {"wechat_unionid", "wechat_openid:wxA",
                                                              "wechat_openid:wxB"}
    other = run(graph, ident("wechat_openid:wxA", "oA2"), ident("wechat_unionid", "u"))
    assert other == person
    assert graph.owner(ident("wechat_openid:wxA", "oA2")) is None
    assert graph.conflicts[0][0].rule == "limit:wechat_openid:wxA=1"


def test_merge_is_refused_when_the_two_profiles_hold_different_user_ids() -> None:
    graph = BatchGraph.load(
        {ident("user_id", "u1"): 1, ident("user_id", "u2"): 2, ident("email", "x@brand.cn"): 2},
        {1: [ident("user_id", "u1")], 2: [ident("user_id", "u2"), ident("email", "x@brand.cn")]},
    )
    assert run(graph, ident("user_id", "u1"), ident("email", "x@brand.cn")) == 1
    assert graph.merged_into == {}
    assert graph.owner(ident("email", "x@brand.cn")) == 2


def test_anonymous_ids_are_bounded_per_profile() -> None:
    rules = IdentityRules(limits={**DEFAULT_RULES.limits, **{DEFAULT_RULES.priority[-1]: 2}})
    graph = BatchGraph()
    person = graph.apply(resolve([ident("user_id", "u"), ident("anonymous_id", "d1")], graph, rules), None)
    graph.apply(resolve([ident("user_id", "u"), ident("anonymous_id", "d2")], graph, rules), None)
    third = graph.apply(resolve([ident("user_id", "u"), ident("anonymous_id", "d3")], graph, rules), None)
    assert third == person
    assert graph.owner(ident("anonymous_id", "d3")) is None
    assert len([i for i in graph.identifiers_of(person) if i.type == "anonymous_id"]) == 2


def test_merges_within_a_batch_follow_the_chain() -> None:
    graph = BatchGraph()
    a = run(graph, ident("anonymous_id", "a"))
    b = run(graph, ident("anonymous_id", "b"))
    c = run(graph, ident("anonymous_id", "c"), ident("anonymous_id", "a"), ident("anonymous_id", "b"))
    assert c == a  # the oldest survives
    assert graph.canonical(a) == graph.canonical(b) == graph.canonical(c)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("13800138001", "+8613800138001"),
        ("138 0013 8001", "+8613800138001"),
        ("+86 138-0013-8001", "+8613800138001"),
        ("+1 650 253 0000", "+16502530000"),
    ],
)
def test_phones_are_stored_in_e164_with_china_as_default_region(raw: str, expected: str) -> None:
    assert normalise("phone", raw).value == expected


@pytest.mark.parametrize("raw", ["12345", "abc", "+86 000"])
def test_invalid_phones_are_refused_with_a_stable_code(raw: str) -> None:
    with pytest.raises(InvalidIdentifier) as error:
        normalise("phone", raw)
    assert error.value.code == "identity.invalid_phone"


def test_emails_are_trimmed_and_lower_cased() -> None:
    assert normalise("email", "  Li.Na@Brand.CN ").value == "li.na@brand.cn"


@pytest.mark.parametrize("bad", ["wechat_openid", "phone:cn", "fax", "platform_buyer_id:tm all"])
def test_identifier_types_must_be_known_and_scoped_correctly(bad: str) -> None:
    with pytest.raises(InvalidIdentifier):
        parse_type(bad)


@pytest.mark.parametrize("value", ["null", "undefined", "0", "-1", "+8613800138000", "test@example.com"])
def test_placeholder_values_are_blocked(value: str) -> None:
    assert DEFAULT_RULES.is_blocked(ident("anonymous_id", value))


def test_real_values_are_not_blocked() -> None:
    assert not DEFAULT_RULES.is_blocked(ident("phone", "+8613800138001"))
    assert not DEFAULT_RULES.is_blocked(ident("user_id", "10086"))


@given(prefix=st.sampled_from(["", "+86", "86", "0086", "+86 ", "+86-"]),
       digits=st.text(alphabet="0123456789", min_size=10, max_size=10))
@settings(max_examples=3000, deadline=None)
def test_the_chinese_mobile_fast_path_agrees_with_phonenumbers(prefix: str, digits: str) -> None:
    import phonenumbers

    raw = f"{prefix}1{digits}"
    try:
        fast: str | None = normalise("phone", raw).value
    except InvalidIdentifier:
        fast = None
    try:
        parsed = phonenumbers.parse(raw, None if raw.startswith("+") else "CN")
        slow = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164) if (
            phonenumbers.is_valid_number(parsed)) else None
    except phonenumbers.NumberParseException:
        slow = None
    assert fast == slow
