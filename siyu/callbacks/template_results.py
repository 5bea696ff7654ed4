"""WeChat's template-message results (``TEMPLATESENDJOBFINISH``) become receipts on the message
they report on, through :mod:`siyu.messaging.receipts` (guarded updates: a repeat changes nothing)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection

from siyu import clock
from siyu.callbacks.hooks import InboundEvent, Outcome, register
from siyu.messaging import receipts
from siyu.messaging.receipt_formats import template_result


def apply_result(conn: Connection, runtime: Any, event: InboundEvent, outcome: Outcome) -> None:
    result = template_result(dict(event.fields))  # checked before ingest: never raises here
    if result is not None:
        receipts.apply_template_result(conn, event.workspace_id, result, clock.now())


register("wechat", "templatesendjobfinish", apply_result)
