"""Who may change a server, and one action at a time per server.

Stop, start, reboot, delete, attach and detach each hold the server's lock
while they run; a second action while one is in progress (its ``task`` set,
or its lock held) gets 409.
"""

from __future__ import annotations

import asyncio

from compute_glue.errors import Conflict, Forbidden
from compute_glue.servers.model import Server
from stratus.identity import Principal


def require_writer(who: Principal | None, action: str) -> None:
    """Readers read: every change to a server (actions, volumes) needs member or admin."""
    if who is not None and not who.can_write:
        raise Forbidden(f"Your role may not {action} servers.", kind="forbidden")


class ServerLocks:
    """One lock per server."""

    def __init__(self) -> None:
        self._locks: dict[str, asyncio.Lock] = {}

    def lock(self, server_id: str) -> asyncio.Lock:
        return self._locks.setdefault(server_id, asyncio.Lock())

    def forget(self, server_id: str) -> None:
        """The server is gone."""
        self._locks.pop(server_id, None)

    def busy(self, server: Server, action: str) -> None:
        """409 while another action runs on the server."""
        if server.task is not None or self.lock(server.id).locked():
            raise Conflict(
                f"Cannot '{action}' instance {server.id} while it is in task_state "
                f"{server.task or 'busy'}",
                kind="conflictingRequest",
            )
