"""Who owns each identifier, remembered between ingest batches in one process.

Loading the owners of a batch's identifiers was the largest single cost of ingest after the
commit (a py-spy profile of the HTTP benchmark: 12-20% of the server's samples), and in steady
state the answer rarely changes: known people keep sending events. The cache is only ever
consulted under the workspace's graph lock (:func:`siyu.identity.store.lock_identity_graph`)
and only while the workspace's version token (:data:`siyu.db.tables.identity_versions`) is the
one it was filled under. Every change to identities, in any process, replaces the token, so a
cache that missed a change is dropped, never trusted.

The batch's own changes are added with the token they produced. If that transaction rolls back,
the stored token is still the old one, which differs from the cache's: the cache is dropped the
next time it is asked. Tokens are random, so a later unrelated change cannot bring a stale cache
back to life.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable

from sqlalchemy import Connection

from siyu.identity import store as identity_store
from siyu.identity.graph import BatchGraph
from siyu.identity.models import Identifier

MAX_ENTRIES = 200_000  # per workspace and database; ~40 MB at worst, then it starts over
_UNSET = object()


class OwnerCache:
    def __init__(self) -> None:
        self.token: object = _UNSET
        self.owners: dict[Identifier, int] = {}

    def check(self, conn: Connection, workspace_id: int) -> None:
        token = identity_store.graph_version(conn, workspace_id)
        if token != self.token or len(self.owners) > MAX_ENTRIES:
            self.owners = {}
            self.token = token

    def owners_of(self, conn: Connection, workspace_id: int, wanted: Iterable[Identifier]) -> dict[Identifier, int]:
        """Owners of ``wanted`` (unowned ones absent): cached where known, the rest loaded and kept."""
        found: dict[Identifier, int] = {}
        missing: list[Identifier] = []
        for identifier in wanted:
            owner = self.owners.get(identifier)
            if owner is None:
                missing.append(identifier)
            else:
                found[identifier] = owner
        if missing:
            loaded = identity_store.load_owners(conn, workspace_id, missing)
            self.owners.update(loaded)
            found.update(loaded)
        return found

    def written(self, conn: Connection, workspace_id: int, graph: BatchGraph, final: dict[Identifier, int]) -> None:
        """After the batch wrote links or merges: its changes, under the token they produced."""
        if not graph.new_links and not graph.merges:
            return
        self.owners.update(final)
        for merge in graph.merges:
            for identifier in merge.identities:
                self.owners[identifier] = merge.into_profile_id
        self.token = identity_store.graph_version(conn, workspace_id)


_caches: dict[tuple[str, int], OwnerCache] = {}
_lock = threading.Lock()


def for_workspace(conn: Connection, workspace_id: int) -> OwnerCache:
    """The process's cache for this database and workspace, checked against the stored token.
    Call it with the graph lock held."""
    key = (conn.engine.url.render_as_string(hide_password=False), workspace_id)
    with _lock:
        cache = _caches.get(key)
        if cache is None:
            cache = _caches[key] = OwnerCache()
    cache.check(conn, workspace_id)
    return cache
