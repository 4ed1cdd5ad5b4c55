"""One device of a node: its KV engine, group committer, bodies and keys.

The handlers and background workers only ever talk to a device through
this object, so swapping LMDB for the in-memory engine (tests) changes
nothing above it.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import TypeVar

from objectstore.node.bodies import OBJECTS_DIR, TMP_DIR, BodySink, clean_tmp
from objectstore.node.dbs import info_key
from objectstore.node.errors import DeviceUnavailable
from objectstore.node.groupcommit import GroupCommitter
from objectstore.node.kv import Engine, LmdbEngine, MemoryEngine, ReadTxn, WriteTxn
from objectstore.node.objects import object_key
from stratus import durable

try:
    from ring import hash_path
except ImportError:  # ring/__init__ does not re-export it yet
    from ring.hashing import hash_path

T = TypeVar("T")
Hasher = Callable[[str, str | None, str | None], bytes]


@dataclass(slots=True)
class DeviceConfig:
    inline_threshold: int = 65536
    fsync: bool = True
    #: Bytes that must stay free: writes that would eat into them get 507.
    reserve_bytes: int = 0
    engine: str = "lmdb"  # or "memory" (tests)
    #: Address space reserved for the index (sparse: disk is used as data grows).
    map_size: int = 1 << 40


def make_hasher(prefix: str, suffix: str) -> Hasher:
    """The cluster's placement hash, bound to its secret salts."""

    def hasher(account: str, container: str | None = None, obj: str | None = None) -> bytes:
        return hash_path(account, container, obj, prefix=prefix, suffix=suffix)

    return hasher


class Device:
    """State and helpers of one device directory."""

    def __init__(self, name: str, root: str, hasher: Hasher, config: DeviceConfig) -> None:
        self.name = name
        self.root = root
        self.hasher = hasher
        self.config = config
        self.engine: Engine = (
            MemoryEngine()
            if config.engine == "memory"
            else LmdbEngine(
                os.path.join(root, "index"), sync=config.fsync, map_size=config.map_size
            )
        )
        if config.fsync and config.engine != "memory":
            # The index and body directories exist before the first write is
            # acknowledged, and their names survive a power cut: a new device's
            # directory entries are made durable once, here (strict POSIX).
            for sub in (TMP_DIR, OBJECTS_DIR):
                os.makedirs(os.path.join(root, sub), mode=0o700, exist_ok=True)
            durable.sync_entries(os.path.join(root, "index"), levels=2)
        self.committer = GroupCommitter(self.engine, name)
        #: Container updates being delivered inline (the updater leaves them alone).
        self.in_flight: set[bytes] = set()
        #: Set by the 507 hook (tests, operators) or a failed mount check.
        self.unavailable: str | None = None
        self._free_checked = 0.0
        self._free = 0
        clean_tmp(root)

    # -- keys --
    def object_key(self, part: int, account: str, container: str, obj: str) -> bytes:
        return object_key(part, self.hasher(account, container, obj))

    def container_keys(self, part: int, account: str, container: str) -> tuple[bytes, bytes]:
        """(info key, row-key owner prefix) of a container."""
        owner = self.hasher(account, container, None)
        return info_key(part, owner), owner

    def account_keys(self, part: int, account: str) -> tuple[bytes, bytes]:
        owner = self.hasher(account, None, None)
        return info_key(part, owner), owner

    # -- state --
    def read(self) -> AbstractContextManager[ReadTxn]:
        return self.engine.read()

    async def submit(self, op: Callable[[WriteTxn], T]) -> T:
        return await self.committer.submit(op)

    def check_writable(self, incoming: int = 0) -> None:
        """Raise DeviceUnavailable (507) when unmounted or too full for ``incoming``."""
        if self.unavailable is not None:
            raise DeviceUnavailable(detail=self.unavailable)
        if self.config.reserve_bytes <= 0:
            return
        now = time.monotonic()
        if now - self._free_checked > 1.0:
            st = os.statvfs(self.root)
            self._free = st.f_bavail * st.f_frsize
            self._free_checked = now
        if self._free - incoming < self.config.reserve_bytes:
            raise DeviceUnavailable(detail="not enough free space")

    def check_readable(self) -> None:
        if self.unavailable is not None:
            raise DeviceUnavailable(detail=self.unavailable)

    def new_sink(self) -> BodySink:
        return BodySink(self.root, self.config.inline_threshold, fsync=self.config.fsync)

    async def commit_body(self, sink: BodySink, part: int, key: bytes, ts_normal: str) -> str:
        """fsync + rename + directory fsync, off the event loop."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(None, sink.commit_file, part, key.hex(), ts_normal)

    def body_path(self, rel: str) -> str:
        return os.path.join(self.root, rel)

    async def close(self) -> None:
        await self.committer.close()
        self.engine.close()
