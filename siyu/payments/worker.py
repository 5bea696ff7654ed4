"""The worker's step for cash rewards: each workspace's due rewards sent, uncertain ones queried
first (:func:`siyu.payments.ledger.send_due`). A workspace without a provider set up keeps its
decided rows until it has one."""

from __future__ import annotations

import logging

from siyu import clock
from siyu.payments.errors import PaymentsNotConfigured
from siyu.payments.ledger import send_due
from siyu.runtime import Runtime

log = logging.getLogger("siyu.payments")


def run_due(rt: Runtime, workspaces: list) -> dict[str, int]:  # noqa: ANN001 - Workspace rows
    done: dict[str, int] = {}
    for workspace in workspaces:
        try:
            for what, count in send_due(rt.engine, workspace, now=clock.now()).items():
                done[what] = done.get(what, 0) + count
        except PaymentsNotConfigured:
            log.info("workspace %s: rewards wait for settings.payments.wechat_pay", workspace.id)
    return done
