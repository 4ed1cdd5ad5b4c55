"""The one state every volume service shares: records, files, target, settings,
background tasks and per-volume locks.

Each service (types, volumes, snapshots, attachments, quotas, reconcile; backups and
images in ``blockstore.backup``) is an object over one :class:`Context` and holds
explicit references to the services it calls, so ``ctx.x`` is always this dataclass
and ``self.volumes.x`` is always the volume service.

Operations answer as soon as their first transition is durable; the slow part
(copying bytes, exporting, backing up) runs as a background task of the context,
and its end is one more durable transition. ``wait_idle`` lets tests and the
service's shutdown wait for those tasks.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any, TypeVar

from blockstore.backend import VolumeFiles
from blockstore.export.base import ExportDriver
from blockstore.manager.core import Settings
from blockstore.manager.placement import Pool
from blockstore.manager.store import Store

log = logging.getLogger("blockstore.manager")
T = TypeVar("T")


@dataclass
class Context:
    """Records (``store``), volume files (``backend``), the target (``driver``, None: no
    exports), the knobs, and the background tasks and locks of one volume service."""

    store: Store
    backend: VolumeFiles
    driver: ExportDriver | None
    settings: Settings = field(default_factory=Settings)
    tasks: set[asyncio.Task[Any]] = field(default_factory=set)
    locks: dict[str, asyncio.Lock] = field(default_factory=dict)
    # Several backend processes (``backend`` and ``driver`` then route to them by the
    # volume's ``host``); None: the one backend in this process, named ``host``.
    pool: Pool | None = None
    host: str = ""

    # -- background work -----------------------------------------------------------

    def spawn(self, coro: Coroutine[Any, Any, Any], what: str) -> asyncio.Task[Any]:
        task = asyncio.get_running_loop().create_task(coro, name=what)
        self.tasks.add(task)
        task.add_done_callback(functools.partial(self._task_done, what))
        return task

    def _task_done(self, what: str, task: asyncio.Task[Any]) -> None:
        self.tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("%s failed", what, exc_info=task.exception())

    async def wait_idle(self) -> None:
        """Wait until no background operation runs (those they start included)."""
        while self.tasks:
            await asyncio.gather(*list(self.tasks), return_exceptions=True)

    async def close(self) -> None:
        """Cancel background work (a restart's reconcile resolves what it left)."""
        for task in list(self.tasks):
            task.cancel()
        with contextlib.suppress(Exception):
            await asyncio.gather(*list(self.tasks), return_exceptions=True)

    def lock(self, volume_id: str) -> asyncio.Lock:
        """Serialises export changes (attach, detach, extend) of one volume."""
        return self.locks.setdefault(volume_id, asyncio.Lock())

    async def io(self, fn: Callable[..., T], *args: Any) -> T:
        """Blocking file work, off the event loop."""
        return await asyncio.to_thread(fn, *args)

    def target_iqn(self, volume_id: str) -> str:
        return f"{self.settings.iqn_prefix}:volume-{volume_id.lower()}"
