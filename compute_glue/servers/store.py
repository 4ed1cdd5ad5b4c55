"""Server records: one LMDB table, read and changed one server at a time.

``who`` is the caller (a :class:`stratus.identity.Principal`), or None for
the service itself: another project's server is not found, unless the
caller is an operator.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path

from compute_glue.errors import NotFound
from compute_glue.records import RecordStore
from compute_glue.servers.model import Server
from stratus.identity import Principal

TABLE = "servers"


def _not_found(server_id: str) -> NotFound:
    return NotFound(f"Instance {server_id} could not be found.", kind="itemNotFound")


class ServerStore:
    """The servers of this compute host, as records."""

    def __init__(self, path: Path, clock: Callable[[], float] = time.time) -> None:
        self.records = RecordStore(path, [TABLE])
        self.clock = clock

    def close(self) -> None:
        self.records.close()

    def load(self, server_id: str) -> Server:
        rec = self.records.get(TABLE, server_id) if len(server_id) <= 64 else None
        if rec is None:
            raise _not_found(server_id[:64])
        return Server.from_record(rec)

    def get(self, who: Principal | None, server_id: str) -> Server:
        """The server, if ``who`` may see it (404 otherwise)."""
        server = self.load(server_id)
        if who is not None and server.project != who.project and not who.is_reseller_admin:
            raise _not_found(server_id[:64])
        return server

    def all(self) -> Iterator[Server]:
        for _, rec in self.records.scan(TABLE):
            yield Server.from_record(rec)

    def list(self, who: Principal) -> list[Server]:
        return [s for s in self.all() if s.project == who.project or who.is_reseller_admin]

    def save(self, server: Server) -> Server:
        server.updated_at = self.clock()
        self.records.put(TABLE, server.id, server.to_record())
        return server

    def edit(self, server_id: str, change: Callable[[Server], None]) -> Server:
        """Apply ``change`` to the server in one write transaction."""
        with self.records.write() as t:
            rec = t.get(TABLE, server_id)
            if rec is None:
                raise _not_found(server_id)
            server = Server.from_record(rec)
            change(server)
            server.updated_at = self.clock()
            t.put(TABLE, server.id, server.to_record())
        return server

    def delete(self, server_id: str) -> None:
        self.records.delete(TABLE, server_id)
