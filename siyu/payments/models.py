"""A cash reward as the ledger keeps it, and what a provider answered."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any


class RewardStatus(StrEnum):
    DECIDED = "decided"  # written, nothing sent yet
    SENDING = "sending"  # claimed by a worker, the bill number fixed, the provider being called
    SENT = "sent"  # the provider paid it
    FAILED = "failed"  # the provider refused it for good; its amount went back to the budget
    UNCERTAIN = "uncertain"  # the answer was lost or said SYSTEMERROR: ask the provider before any resend
    REFUSED = "refused"  # siyu said no before any call (budget spent, the person's daily limit)


OPEN = (RewardStatus.DECIDED, RewardStatus.SENDING, RewardStatus.UNCERTAIN)


class Outcome(StrEnum):
    """What one provider answer means for the row."""

    PAID = "paid"
    REFUSED = "refused"  # nothing was paid and nothing will be with this bill number
    LATER = "later"  # nothing was paid; the same bill number may be sent again later (balance, rate)
    UNKNOWN = "unknown"  # maybe paid: query before anything else
    NOT_FOUND = "not_found"  # a query: the provider has no such packet (yet)
    PENDING = "pending"  # a query: the provider is still sending it


@dataclass(frozen=True)
class Answer:
    outcome: Outcome
    code: str | None = None  # the provider's err_code (SYSTEMERROR, NOTENOUGH, ...) or a transport fault
    detail: str | None = None
    provider_id: str | None = None  # send_listid / detail_id
    provider_status: str | None = None  # gethbinfo status


@dataclass(frozen=True)
class Reward:
    id: int
    idempotency_key: str
    profile_id: int
    reason: str
    amount_fen: int
    status: RewardStatus
    provider: str
    wishing: str
    act_name: str
    remark: str
    scene_id: str | None
    recipient: str | None
    bill_no: str | None
    attempts: int
    next_attempt_at: datetime
    claimed_at: datetime | None
    provider_id: str | None
    provider_status: str | None
    error_code: str | None
    error_detail: str | None
    decided_at: datetime
    sent_at: datetime | None
    updated_at: datetime

    def to_dict(self) -> dict[str, Any]:
        return {name: (value.value if isinstance(value, StrEnum) else value)
                for name, value in self.__dict__.items()}
