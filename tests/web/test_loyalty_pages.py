"""Console pages for loyalty over HTTP: the tiers editor and the points rules (the starter ladder,
saving through the API with the page's CSRF token, a refusal's message), a member's tier and points
history linked from the customer page, the member summary on the customer page itself, and another
workspace's member."""

from __future__ import annotations

import json
import re
from typing import Any

from siyu import clock
from siyu.loyalty.models import Expiry
from siyu.runtime import Runtime
from tests.loyalty.helpers import LADDER, NOW, earn, make_programme, spend
from tests.web.test_pages import signed_in  # noqa: F401 - the fixture


def _data(html: str) -> dict[str, Any]:
    return json.loads(re.search(r'id="loyalty-data" type="application/json">(.*?)</script>', html, re.S).group(1))


def test_the_tiers_editor_starts_with_a_starter_ladder_and_saves_through_the_api(signed_in, runtime: Runtime,  # noqa: ANN001, F811
                                                                                  workspace) -> None:
    page = signed_in.get("/loyalty")
    assert page.status_code == 200 and 'id="no-programme"' in page.text and "会员等级" in page.text
    data = _data(page.text)
    programme = data["programme"]
    programme["tiers"][1]["threshold"] = 0  # not rising: refused with a message
    refused = signed_in.put("/api/loyalty/programme", json=programme, headers={"X-CSRF-Token": data["csrf"]})
    assert refused.status_code == 422 and "rise" in refused.json()["error"]["message"]
    programme["tiers"][1]["threshold"] = 800
    saved = signed_in.put("/api/loyalty/programme", json=programme, headers={"X-CSRF-Token": data["csrf"]})
    assert saved.status_code == 200
    page = signed_in.get("/loyalty")
    assert 'id="no-programme"' not in page.text and 'value="800"' in page.text
    rules = signed_in.get("/loyalty/points")
    assert rules.status_code == 200 and "积分规则" in rules.text and 'id="catalogue"' in rules.text
    no_token = signed_in.put("/api/loyalty/programme", json=programme)
    assert no_token.status_code in (401, 403)


def test_a_member_page_shows_tier_history_and_points_and_is_linked_from_the_customer(signed_in, runtime: Runtime,  # noqa: ANN001, F811
                                                                                    workspace) -> None:
    clock.freeze(NOW)
    make_programme(runtime, workspace)
    earn(runtime, workspace, 1, 300, "e1")
    spend(runtime, workspace, 1, 120, "s1")
    page = signed_in.get("/loyalty/members/1")
    assert page.status_code == 200
    assert re.search(r'id="balance">180<', page.text)
    assert page.text.count('data-kind="earn"') == 1 and page.text.count('data-kind="spend"') == 1
    assert 'id="tier-name">普卡<' in page.text
    someone = re.search(r'href="/profiles/(\d+)"', signed_in.get("/profiles").text).group(1)
    customer = signed_in.get(f"/profiles/{someone}")
    assert customer.status_code == 200 and f'href="/loyalty/members/{someone}"' in customer.text
    assert 'id="not-member"' in signed_in.get("/loyalty/members/999").text


def test_the_customer_page_summarises_tier_points_and_the_next_expiry(signed_in, runtime: Runtime,  # noqa: ANN001, F811
                                                                      workspace, other_workspace) -> None:
    clock.freeze(NOW)  # 30 November 2026, 10:00 in Beijing
    someone = re.search(r'href="/profiles/(\d+)"', signed_in.get("/profiles").text).group(1)
    assert 'id="loyalty-summary"' not in signed_in.get(f"/profiles/{someone}").text  # no programme: no membership
    make_programme(runtime, workspace, expiry={"mode": "rolling", "days": 30})
    page = signed_in.get(f"/profiles/{someone}").text
    assert 'id="loyalty-not-member"' in page and f'href="/loyalty/members/{someone}"' in page
    earn(runtime, workspace, int(someone), 300, "p1", expiry=Expiry(mode="rolling", days=30))  # to 30 December
    earn(runtime, workspace, int(someone), 50, "p2", expiry=Expiry(mode="never"))
    page = signed_in.get(f"/profiles/{someone}").text
    assert 'id="summary-tier">普卡<' in page and 'id="summary-balance">350<' in page
    assert re.search(r'id="summary-next-tier">再 1,000 升至银卡<', page)
    assert 'id="summary-expiring">300<' in page and re.search(r'id="summary-expires-at">2026年12月30日', page)
    assert f'<p id="loyalty-link"><a href="/loyalty/members/{someone}">' in page
    make_programme(runtime, other_workspace)  # another workspace's programme changes nothing here
    english = signed_in.get(f"/profiles/{someone}", headers={"Accept-Language": "en"}).text
    assert "Membership" in english and "Next to expire" in english


def test_english_and_no_programme(signed_in, runtime: Runtime, workspace) -> None:  # noqa: ANN001, F811
    page = signed_in.get("/loyalty/members/1")
    assert 'id="no-programme"' in page.text
    signed_in.cookies.clear()
    assert signed_in.get("/loyalty", follow_redirects=False).status_code == 303
    assert LADDER  # the helpers' ladder is the one the member test uses
