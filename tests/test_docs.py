"""Docs kept honest by tests (datasette's test_docs.py): every setting is documented."""

from pathlib import Path

import pytest

from siyu.config import SETTINGS

DOCS = Path(__file__).resolve().parents[1] / "docs"


@pytest.mark.parametrize("setting", SETTINGS, ids=lambda s: s.name)
def test_every_setting_is_documented(setting) -> None:
    assert f"`{setting.name}`" in (DOCS / "configuration.md").read_text()


def test_readme_starts_with_the_two_commands() -> None:
    readme = (DOCS.parent / "README.md").read_text()
    block = readme.split("```sh", 1)[1].split("```", 1)[0].strip().splitlines()
    assert block == ["pip install -e . && siyu demo", "pip install -e '.[test]' && python -m pytest -n 2 -q"]
    assert block[1] in (DOCS.parent / ".ci" / "run").read_text()


def test_the_cli_reference_is_generated_from_the_commands() -> None:
    from siyu.cli_reference import reference

    assert (DOCS / "cli.md").read_text(encoding="utf-8") == reference(), (
        "docs/cli.md is stale: run `python -m siyu.cli_reference`")


@pytest.mark.parametrize("page", ["ingest.md", "identity.md", "identity.zh.md", "profiles.md", "profiles.zh.md",
                                  "imports.md", "imports.zh.md", "console.md", "console.zh.md", "demo.md",
                                  "operations.md", "getting-started.md", "configuration.md", "cli.md",
                                  "segments.md", "segments.zh.md", "analytics.md", "clv.md", "reports.md",
                                  "messaging.md", "messaging-rules.md", "messaging-rules.zh.md", "journeys.md",
                                  "journeys.zh.md", "callbacks.md", "replies.md", "replies.zh.md", "forms.md",
                                  "forms.zh.md", "staff.md", "staff.zh.md", "channel-codes.md", "channel-codes.zh.md",
                                  "groups.md", "groups.zh.md", "group-codes.md", "group-codes.zh.md",
                                  "posters.md", "posters.zh.md", "payments.md", "payments.zh.md", "offers.md",
                                  "anti_fraud.md", "distribution.md", "campaigns.md", "loyalty.md", "loyalty.zh.md",
                                  "surveys.md", "surveys.zh.md"])
def test_every_guide_linked_from_the_index_exists(page: str) -> None:
    assert (DOCS / page).is_file()
    assert f"({page}" in (DOCS / "index.md").read_text() or page in ("console.zh.md",)
