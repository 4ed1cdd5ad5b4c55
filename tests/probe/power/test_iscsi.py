"""Power cuts under the built-in iSCSI target: FUA and SYNCHRONIZE CACHE mean durable.

The target (``stratus target export``, as an operator runs it) serves a file
on a LazyFS mount. An initiator writes in three ways: WRITE(16) with FUA,
plain writes followed by SYNCHRONIZE CACHE(10), and plain writes left in the
volatile cache the target advertises (WCE=1). Power is cut (the target dies
by SIGKILL, the file system forgets what was not synced); afterwards every
block acknowledged as durable reads back exactly, and every other block
holds its durable content or one of the writes made to it since.
``STRATUS_POWER_CUTS`` sets the number of cuts (default 3).
"""

from __future__ import annotations

import asyncio
import os
import random
import signal
import struct
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.functional.blockstore.iscsi.initiator import session
from tests.helpers.lazyfs import LazyFS
from tests.helpers.net import free_port
from tests.probe.power.cluster import need_fuse

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]

ROOT = Path(__file__).resolve().parents[3]
IQN = "iqn.2024-01.org.stratus.test:power"
BS = 512
BLOCKS = 4096  # a 2 MiB LUN
GOOD = 0


@dataclass
class Blocks:
    """Per block: the content a power cut must keep, and what it may hold instead."""

    durable: list[bytes] = field(default_factory=lambda: [bytes(BS)] * BLOCKS)
    since: list[list[bytes]] = field(default_factory=lambda: [[] for _ in range(BLOCKS)])
    durable_writes: int = 0
    writes: int = 0
    flushes: int = 0

    def wrote(self, lba: int, data: bytes, *, durable: bool) -> None:
        for i in range(len(data) // BS):
            block = data[i * BS : (i + 1) * BS]
            if durable:
                self.durable[lba + i] = block
                self.since[lba + i] = []
            else:
                self.since[lba + i].append(block)
        self.durable_writes += durable
        self.writes += 1

    def flushed(self) -> None:
        self.flushes += 1
        for lba, pending in enumerate(self.since):
            if pending:
                self.durable[lba] = pending[-1]
                self.since[lba] = []

    def check(self, image: bytes) -> list[str]:
        problems = []
        for lba in range(BLOCKS):
            got = image[lba * BS : (lba + 1) * BS]
            if got != self.durable[lba] and got not in self.since[lba]:
                problems.append(f"block {lba}: neither its durable content nor a later write")
        return problems

    def settle(self, image: bytes) -> None:
        """After the cut, what is on disk is the new durable state."""
        for lba in range(BLOCKS):
            self.durable[lba] = image[lba * BS : (lba + 1) * BS]
            self.since[lba] = []


def _pattern(rng: random.Random, blocks: int) -> bytes:
    return rng.randbytes(blocks * BS)


def _write16(lba: int, blocks: int, *, fua: bool) -> bytes:
    return struct.pack(">BBQIBB", 0x8A, 0x08 if fua else 0, lba, blocks, 0, 0)


SYNC_CACHE10 = bytes([0x35]) + bytes(9)


@pytest.fixture
def disk(tmp_path: Path) -> Iterator[LazyFS]:
    need_fuse()
    fs = LazyFS(tmp_path / "backing", tmp_path / "mnt", tmp_path / "ctl", tmp_path / "lazyfs.log")
    fs.start()
    try:
        yield fs
    finally:
        fs.stop()


def _start_target(
    image: Path, port: int, log: Path, *, write_cache: bool
) -> subprocess.Popen[bytes]:
    argv = [sys.executable, "-m", "stratus.cli.main", "target", "export", str(image),
            "--portal", f"127.0.0.1:{port}", "--iqn", IQN]  # fmt: skip
    if not write_cache:
        argv.append("--no-write-cache")
    env = {k: v for k, v in os.environ.items() if not k.startswith("STRATUS_")}
    with open(log, "ab") as out:
        return subprocess.Popen(argv, cwd=image.parent, env=env, stdout=out, stderr=out)


async def _wait_port(port: int, proc: subprocess.Popen[bytes], log: Path) -> None:
    for _ in range(400):
        if proc.poll() is not None:
            raise AssertionError(f"target exited:\n{log.read_text()[-2000:]}")
        try:
            _, w = await asyncio.open_connection("127.0.0.1", port)
            w.close()
            return
        except OSError:
            await asyncio.sleep(0.05)
    raise AssertionError("target did not listen")


async def _load(
    port: int, blocks: Blocks, rng: random.Random, ops: int, *, write_cache: bool
) -> None:
    async with session("127.0.0.1", port, IQN) as ini:
        for _ in range(ops):
            n = rng.choice((1, 8, 16, 64, 128))
            lba = rng.randrange(0, BLOCKS - n)
            data = _pattern(rng, n)
            kind = rng.random()
            if kind < 0.3:
                reply = await ini.command(_write16(lba, n, fua=True), data_out=data)
                assert reply.status == GOOD
                blocks.wrote(lba, data, durable=True)
            else:
                reply = await ini.command(_write16(lba, n, fua=False), data_out=data)
                assert reply.status == GOOD
                blocks.wrote(lba, data, durable=not write_cache)
                if kind > 0.85:
                    assert (await ini.command(SYNC_CACHE10)).status == GOOD
                    blocks.flushed()
        # Last, a batch that only SYNCHRONIZE CACHE makes durable.
        for _ in range(8):
            n = rng.choice((8, 16, 64))
            lba = rng.randrange(0, BLOCKS - n)
            data = _pattern(rng, n)
            assert (await ini.command(_write16(lba, n, fua=False), data_out=data)).status == GOOD
            blocks.wrote(lba, data, durable=not write_cache)
        assert (await ini.command(SYNC_CACHE10)).status == GOOD
        blocks.flushed()
        for _ in range(4):  # and FUA writes nothing flushes after them
            n = rng.choice((8, 16))
            lba = rng.randrange(0, BLOCKS - n)
            data = _pattern(rng, n)
            assert (await ini.command(_write16(lba, n, fua=True), data_out=data)).status == GOOD
            blocks.wrote(lba, data, durable=True)
        for _ in range(4):  # and plain writes left in the cache at the cut: these may go
            n = rng.choice((8, 16, 64))
            lba = rng.randrange(0, BLOCKS - n)
            data = _pattern(rng, n)
            assert (await ini.command(_write16(lba, n, fua=False), data_out=data)).status == GOOD
            blocks.wrote(lba, data, durable=not write_cache)


async def power_cuts(
    root: Path, disk: LazyFS, seed: int, cuts: int, *, write_cache: bool = True
) -> tuple[list[str], str]:
    problems, report, _ = await power_cuts_counted(root, disk, seed, cuts, write_cache=write_cache)
    return problems, report


async def power_cuts_counted(
    root: Path, disk: LazyFS, seed: int, cuts: int, *, write_cache: bool = True
) -> tuple[list[str], str, int]:
    """``power_cuts``, and how many unsynced pages the cuts took back."""
    rng = random.Random(seed)
    image = disk.mount / "lun.img"
    with open(image, "wb") as f:
        f.truncate(BLOCKS * BS)
        os.fsync(f.fileno())
    dfd = os.open(disk.mount, os.O_RDONLY | os.O_DIRECTORY)
    os.fsync(dfd)
    os.close(dfd)
    blocks, lost, problems = Blocks(), [], []
    for _ in range(cuts):
        port = free_port()
        log = root / "target.log"
        proc = _start_target(image, port, log, write_cache=write_cache)
        try:
            await _wait_port(port, proc, log)
            await _load(port, blocks, rng, rng.randint(100, 250), write_cache=write_cache)
        finally:
            proc.send_signal(signal.SIGKILL)
            proc.wait(10)
        lost.append(disk.crash(torn=True, seed=rng.randrange(1 << 30)))
        disk.start()
        now = image.read_bytes()
        problems += blocks.check(now)
        blocks.settle(now)
    pages = sum(x["pages_restored"] for x in lost)
    report = (
        f"seed {seed}: {cuts} cuts, {blocks.writes} writes ({blocks.durable_writes} durable), "
        f"{blocks.flushes} SYNCHRONIZE CACHE, {pages} cached pages lost by the cuts"
    )
    return problems, report, pages


async def test_fua_and_sync_cache_survive_power_cuts(
    tmp_path: Path, disk: LazyFS, power_report: Callable[[str], None]
) -> None:
    seed = int(os.environ.get("STRATUS_POWER_SEED") or random.randrange(1 << 30))
    cuts = int(os.environ.get("STRATUS_POWER_CUTS", "3"))
    problems, report, pages = await power_cuts_counted(tmp_path, disk, seed, cuts)
    power_report(report)
    assert not problems, f"{report}\n" + "\n".join(problems[:20])
    # WCE=1 is real: what was neither FUA nor flushed was in the volatile cache, and lost.
    assert pages > 0, f"no cut lost a cached write, so the cut tested nothing: {report}"


async def test_without_write_cache_every_write_survives(
    tmp_path: Path, disk: LazyFS, power_report: Callable[[str], None]
) -> None:
    """WCE=0 (a volume type's ``write_cache = <is> False``): GOOD means durable, FUA or not."""
    seed = int(os.environ.get("STRATUS_POWER_SEED") or random.randrange(1 << 30))
    problems, report, pages = await power_cuts_counted(tmp_path, disk, seed, 2, write_cache=False)
    power_report(report)
    assert not problems, f"{report}\n" + "\n".join(problems[:20])
    assert pages == 0, f"with WCE=0 nothing may wait in a cache: {report}"
