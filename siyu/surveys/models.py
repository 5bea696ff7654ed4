"""A survey as plain data, and its texts in zh and en."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from siyu.surveys.errors import SurveyError

ANSWERED = "Survey Answered"  # the event appended to the person's timeline
REANSWER_WINDOW = timedelta(days=7)  # a re-answer replaces the first within this; later ones are refused
DEFAULT_TEXTS = {
    "question": {"zh": "你有多大可能把我们推荐给朋友或同事？",
                 "en": "How likely are you to recommend us to a friend or colleague?"},
    "comment": {"zh": "能告诉我们原因吗？（选填）", "en": "What is the main reason for your score? (optional)"},
    "thanks": {"zh": "感谢你的反馈！", "en": "Thank you for your feedback!"},
}


@dataclass(frozen=True)
class Survey:
    id: int
    workspace_id: int
    name: str
    texts: dict[str, Any]
    status: str  # active | closed
    created_at: datetime

    @property
    def asks_comment(self) -> bool:
        return bool(self.texts.get("comment"))

    def text(self, key: str, language: str) -> str:
        variants = self.texts.get(key) or DEFAULT_TEXTS[key]
        return variants.get(language) or variants.get("zh") or next(iter(variants.values()))

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "texts": self.texts, "status": self.status,
                "created_at": self.created_at.isoformat()}


def checked_texts(raw: Any, with_comment: bool = True) -> dict[str, Any]:
    """The survey's texts with defaults filled in; each given text needs both zh and en (1–500 chars)."""
    raw = raw or {}
    if not isinstance(raw, dict) or set(raw) - set(DEFAULT_TEXTS):
        raise SurveyError(f"texts: an object with {', '.join(DEFAULT_TEXTS)}", details={"field": "texts"})
    texts: dict[str, Any] = {}
    for key, default in DEFAULT_TEXTS.items():
        value = raw.get(key, default)
        if key == "comment" and (value is None or not with_comment):
            texts[key] = None
            continue
        if not (isinstance(value, dict) and set(value) == {"zh", "en"}
                and all(isinstance(v, str) and 1 <= len(v.strip()) <= 500 for v in value.values())):
            raise SurveyError(f"texts.{key}: give both zh and en, 1-500 characters each",
                              details={"field": f"texts.{key}"})
        texts[key] = {"zh": value["zh"].strip(), "en": value["en"].strip()}
    return texts
