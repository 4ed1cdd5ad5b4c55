"""A small QMP client: one reader task routes replies by id and keeps events.

QMP accepts one client at a time per socket, so each running VM has exactly
one of these, owned by the compute service; a restarted service connects
anew. Arguments are never logged: ``object-add`` of a CHAP secret carries
the password.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
from collections import deque
from pathlib import Path
from typing import Any

MAX_EVENTS = 256  # events nobody waits for are dropped, oldest first
LINE_LIMIT = 1 << 20


class QmpError(Exception):
    """QMP answered a command with an error."""

    def __init__(self, command: str, error: dict[str, Any]) -> None:
        self.error_class = str(error.get("class", ""))
        self.desc = str(error.get("desc", ""))
        super().__init__(f"{command}: {self.error_class}: {self.desc}")


class QmpClosed(ConnectionError):
    """The QMP connection is gone (QEMU exited, or the socket closed)."""


class QmpClient:
    """Commands and events over one QMP connection."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._reader = reader
        self._writer = writer
        self._ids = itertools.count(1)
        self._pending: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self.events: deque[dict[str, Any]] = deque(maxlen=MAX_EVENTS)
        self._new_event = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._closed: BaseException | None = None
        self._write_lock = asyncio.Lock()

    @classmethod
    async def connect(cls, path: Path, timeout: float = 30.0) -> QmpClient:
        """Connect to a listening QMP socket and negotiate capabilities."""
        reader, writer = await asyncio.wait_for(
            asyncio.open_unix_connection(str(path), limit=LINE_LIMIT), timeout
        )
        client = cls(reader, writer)
        try:
            greeting = json.loads(await asyncio.wait_for(reader.readline(), timeout) or b"{}")
            if "QMP" not in greeting:
                raise QmpClosed(f"no QMP greeting on {path}")
            client._task = asyncio.create_task(client._read_loop())
            await client.execute("qmp_capabilities", timeout=timeout)
        except BaseException:
            await client.close()
            raise
        return client

    @property
    def closed(self) -> bool:
        return self._closed is not None

    async def _read_loop(self) -> None:
        try:
            while line := await self._reader.readline():
                msg = json.loads(line)
                if "event" in msg:
                    self.events.append(msg)
                    self._new_event.set()
                elif (fut := self._pending.pop(str(msg.get("id")), None)) and not fut.done():
                    fut.set_result(msg)
            self._closed = QmpClosed("QMP connection closed")
        except Exception as exc:  # the reader's failure is every waiter's failure
            self._closed = QmpClosed(f"QMP connection failed: {exc}")
        for fut in self._pending.values():
            if not fut.done():
                fut.set_exception(self._closed)
        self._pending.clear()
        self._new_event.set()

    async def execute(
        self, command: str, arguments: dict[str, Any] | None = None, *, timeout: float = 30.0
    ) -> Any:
        """Run one command and return its ``return`` value; QmpError on an error reply."""
        if self._closed is not None:
            raise self._closed
        ident = str(next(self._ids))
        fut: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._pending[ident] = fut
        msg: dict[str, Any] = {"execute": command, "id": ident}
        if arguments:
            msg["arguments"] = arguments
        try:
            async with self._write_lock:
                self._writer.write(json.dumps(msg).encode() + b"\n")
                await self._writer.drain()
            reply = await asyncio.wait_for(fut, timeout)
        except (ConnectionError, OSError) as exc:
            raise QmpClosed(f"QMP connection failed: {exc}") from None
        finally:
            self._pending.pop(ident, None)
        if "error" in reply:
            raise QmpError(command, reply["error"])
        return reply.get("return")

    async def wait_event(
        self, name: str, *, data: dict[str, Any] | None = None, timeout: float = 30.0
    ) -> dict[str, Any]:
        """Wait for (and consume) the first event ``name`` whose data contains ``data``."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            for ev in list(self.events):
                got = ev.get("data", {})
                if ev["event"] == name and all(got.get(k) == v for k, v in (data or {}).items()):
                    self.events.remove(ev)
                    return ev
            if self._closed is not None:
                raise self._closed
            self._new_event.clear()
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise TimeoutError(f"no QMP event {name} within {timeout} s")
            with contextlib.suppress(TimeoutError):  # not wait_for: on 3.11 it can lose a cancel
                async with asyncio.timeout(remaining):
                    await self._new_event.wait()

    def discard_events(self, name: str, data: dict[str, Any] | None = None) -> None:
        """Forget earlier events ``name`` matching ``data`` (before waiting for a new one)."""
        for ev in list(self.events):
            got = ev.get("data", {})
            if ev["event"] == name and all(got.get(k) == v for k, v in (data or {}).items()):
                self.events.remove(ev)

    async def close(self) -> None:
        self._writer.close()
        with contextlib.suppress(Exception):
            await self._writer.wait_closed()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(BaseException):
                await self._task
        if self._closed is None:
            self._closed = QmpClosed("QMP connection closed")
