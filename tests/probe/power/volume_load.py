"""A volume workload that remembers what the client saw completed, and the checks after a cut.

Workers drive the real HTTP API: create, extend, snapshot, clone (from a
snapshot or a volume), attach (reserve + export + complete), detach,
backup, and delete of each. An operation is *acknowledged* once the client saw its
final status (available, in-use, attached, gone); a power cut may undo only
what was not. Right after a volume is seen available the test writes a few
blocks into its file and fsyncs them, so snapshots and clones have bytes to
be checked against. After a cut and a restart:

- consistency: every volume and snapshot record in a settled state has its
  file, of its size; every file has its record; ``tmp/`` is empty; every
  attachment left is attached (its volume in-use); an initiator can log in
  to a volume exactly when it has an attachment (no export without one);
- nothing acknowledged is undone: what was seen available / in-use /
  attached is still so, with its bytes; what was seen gone stays gone.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from blockstore.client import VolumeApiError, VolumeClient, VolumeStateError
from tests.functional.blockstore.iscsi.initiator import LoginError, session
from tests.probe.power.volume_service import VolumeHost

GiB = 1024**3
BLOCK = 64 * 1024
WAIT = 60.0
GONE = "gone"
# Where an API call may fail because the power went: the outcome is then unknown.
CUT = (aiohttp.ClientError, asyncio.TimeoutError, ConnectionError, VolumeApiError)


@dataclass
class Res:
    """One volume, snapshot, attachment or backup, as the client knows it."""

    kind: str
    id: str
    acked: str | None = None  # the last state the client saw an operation complete in
    pending: bool = True  # an operation on it whose outcome the client has not seen
    content: dict[int, bytes] | None = field(default_factory=dict)  # None: not known
    volume_id: str = ""
    creds: tuple[str, str, str, str] | None = None  # attachment: target, initiator, user, secret
    size: int = 0  # volume: GiB the client saw it have (0: not known)

    def must_live(self) -> bool:
        return not self.pending and self.acked not in (None, GONE, "error")


@dataclass
class Model:
    rng: random.Random
    res: dict[str, Res] = field(default_factory=dict)
    locks: dict[str, asyncio.Lock] = field(default_factory=dict)
    acked: int = 0
    ops: int = 0
    serial: int = 0
    logins: dict[str, int] = field(default_factory=lambda: {"let in": 0, "refused": 0})

    def add(self, r: Res) -> Res:
        self.res[r.id] = r
        return r

    def of(self, kind: str, *states: str) -> list[Res]:
        return [
            r
            for r in self.res.values()
            if r.kind == kind and not r.pending and r.acked in states and not self.busy(r.id)
        ]

    def busy(self, ident: str) -> bool:
        return self.locks.setdefault(ident, asyncio.Lock()).locked()

    def lock(self, ident: str) -> asyncio.Lock:
        return self.locks.setdefault(ident, asyncio.Lock())

    def ack(self, r: Res, state: str) -> None:
        r.acked, r.pending = state, False
        self.acked += 1

    def initiator(self) -> str:
        self.serial += 1
        return f"iqn.2024-01.org.stratus.test:power-{self.serial}"


class Workload:
    """Workers over one model; ``run`` until cancelled (the power cut)."""

    def __init__(self, host: VolumeHost, client: VolumeClient, model: Model) -> None:
        self.host, self.c, self.m = host, client, model

    async def run(self, worker: int) -> None:
        rng = random.Random(self.m.rng.randrange(1 << 30) + worker)
        while True:
            self.m.ops += 1
            with contextlib.suppress(*CUT, VolumeStateError):
                await self._one(rng)
            await asyncio.sleep(0)

    async def _one(self, rng: random.Random) -> None:
        m = self.m
        vols = m.of("volume", "available")
        used = m.of("volume", "in-use")
        snaps = m.of("snapshot", "available")
        atts = m.of("attachment", "attached")
        bks = m.of("backup", "available")
        errs = [r for r in m.of("volume", "error") + m.of("snapshot", "error")]
        live = len([r for r in m.res.values() if r.kind == "volume" and r.acked != GONE])
        choices: list[tuple[float, Any]] = [(3.0 if live < 6 else 0.5, self.create)]
        if vols:
            deletes = 2.0 if live > 4 else 0.7
            choices += [(2.0, self.snapshot), (1.5, self.clone), (2.0, self.attach),
                        (1.0, self.backup), (0.7, self.extend),
                        (deletes, self.delete_volume)]  # fmt: skip
        if snaps:
            choices += [(1.5, self.clone_snapshot), (1.0, self.delete_snapshot)]
        if atts:
            choices += [(2.0, self.detach)]
        if used:
            choices += [(0.5, self.backup_in_use)]
        if bks:
            choices += [(1.0, self.delete_backup)]
        if errs:
            choices += [(1.0, self.delete_error)]
        weights = [w for w, _ in choices]
        op = rng.choices([f for _, f in choices], weights)[0]
        await op(rng)

    # -- the operations ---------------------------------------------------------------

    async def _fill(self, r: Res, rng: random.Random) -> None:
        """The test's own writes to a new volume, made durable before they count."""
        path = self.host.files("volumes") / f"{r.id}.img"
        writes = {
            rng.randrange(0, GiB // BLOCK) * BLOCK: rng.randbytes(BLOCK)
            for _ in range(rng.randint(1, 3))
        }
        fd = os.open(path, os.O_WRONLY)
        try:
            for offset, data in writes.items():
                os.pwrite(fd, data, offset)
            os.fsync(fd)
        finally:
            os.close(fd)
        assert r.content is not None
        r.content.update(writes)

    async def create(self, rng: random.Random) -> None:
        vol = await self.c.create_volume(1, name="power")
        r = self.m.add(Res("volume", vol["id"], size=vol["size"]))
        async with self.m.lock(r.id):
            await self.c.wait_volume(r.id, "available", timeout=WAIT)
            self.m.ack(r, "available")
            await self._fill(r, rng)

    async def extend(self, rng: random.Random) -> None:
        v = rng.choice(self.m.of("volume", "available"))
        async with self.m.lock(v.id):
            if v.acked != "available" or v.pending:
                return
            v.pending = True
            size = (await self.c.get_volume(v.id))["size"]
            await self.c.extend_volume(v.id, size + 1)
            got = await self.c.wait_volume(v.id, "available", timeout=WAIT)
            if got["size"] == size + 1:
                v.size = size + 1
                self.m.ack(v, "available")

    async def snapshot(self, rng: random.Random) -> None:
        v = rng.choice(self.m.of("volume", "available"))
        async with self.m.lock(v.id):
            if v.acked != "available" or v.pending:
                return
            snap = await self.c.create_snapshot(v.id)
            r = self.m.add(Res("snapshot", snap["id"], content=_copy(v.content), volume_id=v.id))
            await self.c.wait_snapshot(r.id, timeout=WAIT)
            self.m.ack(r, "available")

    async def _clone_of(self, source: Res, **fields: Any) -> None:
        vol = await self.c.create_volume(None, **fields)
        r = self.m.add(Res("volume", vol["id"], content=_copy(source.content), size=vol["size"]))
        async with self.m.lock(r.id):
            await self.c.wait_volume(r.id, "available", timeout=WAIT)
            self.m.ack(r, "available")

    async def clone(self, rng: random.Random) -> None:
        v = rng.choice(self.m.of("volume", "available"))
        async with self.m.lock(v.id):
            if v.acked == "available" and not v.pending:
                await self._clone_of(v, source_volid=v.id)

    async def clone_snapshot(self, rng: random.Random) -> None:
        s = rng.choice(self.m.of("snapshot", "available"))
        async with self.m.lock(s.id):
            if s.acked == "available" and not s.pending:
                await self._clone_of(s, snapshot_id=s.id)

    async def attach(self, rng: random.Random) -> None:
        v = rng.choice(self.m.of("volume", "available"))
        async with self.m.lock(v.id):
            if v.acked != "available" or v.pending:
                return
            initiator = self.m.initiator()
            v.pending = True
            connector = {"initiator": initiator, "multipath": False, "platform": "x86_64"}
            att = await self.c.create_attachment(v.id, connector=connector)
            d = att["connection_info"]["data"]
            creds = (d["target_iqn"], initiator, d["auth_username"], d["auth_password"])
            r = self.m.add(Res("attachment", att["id"], volume_id=v.id, creds=creds))
            if rng.random() < 0.2:
                return  # reserved and exported, never completed: a restart drops it
            await self.c.complete_attachment(r.id)
            self.m.ack(r, "attached")
            self.m.ack(v, "in-use")

    async def detach(self, rng: random.Random) -> None:
        a = rng.choice(self.m.of("attachment", "attached"))
        v = self.m.res[a.volume_id]
        async with self.m.lock(v.id), self.m.lock(a.id):
            if a.acked != "attached" or a.pending:
                return
            a.pending = v.pending = True
            await self.c.delete_attachment(a.id)
            self.m.ack(a, GONE)
            self.m.ack(v, "available")

    async def _backup(self, v: Res, *, force: bool) -> None:
        bk = await self.c.create_backup(v.id, force=force)
        r = self.m.add(Res("backup", bk["id"], volume_id=v.id, content=None))
        await self.c.wait_backup(r.id, timeout=WAIT)
        self.m.ack(r, "available")

    async def backup(self, rng: random.Random) -> None:
        v = rng.choice(self.m.of("volume", "available"))
        async with self.m.lock(v.id):
            if v.acked == "available" and not v.pending:
                v.pending = True
                await self._backup(v, force=False)
                await self.c.wait_volume(v.id, "available", timeout=WAIT)
                self.m.ack(v, "available")

    async def backup_in_use(self, rng: random.Random) -> None:
        v = rng.choice(self.m.of("volume", "in-use"))
        async with self.m.lock(v.id):
            if v.acked == "in-use" and not v.pending:
                await self._backup(v, force=True)

    async def _delete(self, r: Res, delete: Any, get: Any) -> None:
        r.pending = True
        await delete(r.id)
        deadline = asyncio.get_running_loop().time() + WAIT
        while asyncio.get_running_loop().time() < deadline:
            try:
                if (await get(r.id))["status"].startswith("error"):
                    return  # the delete failed: no acknowledgement either way
            except VolumeApiError as exc:
                if exc.status == 404:
                    self.m.ack(r, GONE)
                    return
                raise
            await asyncio.sleep(0.1)

    async def delete_volume(self, rng: random.Random) -> None:
        v = rng.choice(self.m.of("volume", "available"))
        async with self.m.lock(v.id):
            if v.acked != "available" or v.pending:
                return
            snaps = [s for s in self.m.res.values() if s.kind == "snapshot" and s.volume_id == v.id]
            for s in snaps:
                if s.acked != GONE:
                    s.pending = True  # cascade takes them too
            await self._delete(
                v, lambda i: self.c.delete_volume(i, cascade=True), self.c.get_volume
            )
            if v.acked == GONE:
                for s in snaps:
                    self.m.ack(s, GONE)

    async def delete_snapshot(self, rng: random.Random) -> None:
        s = rng.choice(self.m.of("snapshot", "available"))
        async with self.m.lock(s.id):
            if s.acked == "available" and not s.pending:
                await self._delete(s, self.c.delete_snapshot, self.c.get_snapshot)

    async def delete_backup(self, rng: random.Random) -> None:
        b = rng.choice(self.m.of("backup", "available"))
        async with self.m.lock(b.id):
            if b.acked == "available" and not b.pending:
                await self._delete(b, self.c.delete_backup, self.c.get_backup)

    async def delete_error(self, rng: random.Random) -> None:
        r = rng.choice(self.m.of("volume", "error") + self.m.of("snapshot", "error"))
        async with self.m.lock(r.id):
            if r.kind == "volume":
                await self._delete(r, self.c.delete_volume, self.c.get_volume)
            else:
                await self._delete(r, self.c.delete_snapshot, self.c.get_snapshot)


def _copy(content: dict[int, bytes] | None) -> dict[int, bytes] | None:
    return None if content is None else dict(content)


# -- after the cut ---------------------------------------------------------------------

SETTLED_VOLUME = {"available", "in-use", "error", "error_deleting", "error_extending",
                  "error_restoring"}  # fmt: skip
SETTLED = {"available", "error", "error_deleting"}


async def settle(c: VolumeClient) -> dict[str, dict[str, Any]]:
    """Wait (bounded) until the resumed deletes are done; every record by id."""
    deadline = asyncio.get_running_loop().time() + WAIT
    while True:
        vols = await c.list_volumes()
        snaps = await c.list_snapshots()
        bks = await c.list_backups()
        atts = await c.list_attachments()
        busy = [v for v in vols if v["status"] not in SETTLED_VOLUME]
        busy += [s for s in snaps + bks if s["status"] not in SETTLED]
        if not busy or asyncio.get_running_loop().time() > deadline:
            out: dict[str, dict[str, Any]] = {}
            for kind, items in (("volume", vols), ("snapshot", snaps), ("backup", bks),
                                ("attachment", atts)):  # fmt: skip
                for item in items:
                    out[item["id"]] = {"kind": kind, **item}
            return out
        await asyncio.sleep(0.1)


def _ids(directory: Any) -> set[str]:
    return {p.name[: -len(".img")] for p in directory.iterdir() if p.name.endswith(".img")}


async def check(host: VolumeHost, model: Model, state: dict[str, dict[str, Any]]) -> list[str]:
    """Every problem after a restart: inconsistencies, then acknowledged work undone."""
    problems: list[str] = []
    vol_files, snap_files = _ids(host.files("volumes")), _ids(host.files("snapshots"))
    leftovers = sorted(p.name for p in host.files("tmp").iterdir())
    if leftovers:
        problems.append(f"tmp/ holds {leftovers} after start-up")
    by_kind: dict[str, dict[str, dict[str, Any]]] = {}
    for ident, item in state.items():
        by_kind.setdefault(item["kind"], {})[ident] = item
    vols, snaps = by_kind.get("volume", {}), by_kind.get("snapshot", {})
    atts = by_kind.get("attachment", {})
    for ident, v in vols.items():
        if v["status"] not in SETTLED_VOLUME:
            problems.append(f"volume {ident} still {v['status']} after the restart")
        if v["status"] in ("available", "in-use"):
            problems += _file_problems(host, "volumes", ident, v["size"], model)
    for ident in vol_files - set(vols):
        problems.append(f"volume file {ident}.img has no record (orphan)")
    for ident, s in snaps.items():
        if s["status"] == "available":
            problems += _file_problems(host, "snapshots", ident, s["size"], model)
        elif s["status"] not in SETTLED:
            problems.append(f"snapshot {ident} still {s['status']} after the restart")
    for ident in snap_files - set(snaps):
        problems.append(f"snapshot file {ident}.img has no record (orphan)")
    for ident, b in by_kind.get("backup", {}).items():
        if b["status"] not in SETTLED:
            problems.append(f"backup {ident} still {b['status']} after the restart")
    for ident, a in atts.items():
        v = vols.get(a["volume_id"])
        if a["status"] != "attached":
            problems.append(f"attachment {ident} left {a['status']} by the restart")
        if v is None:
            problems.append(f"attachment {ident} of a volume that has no record")
        elif v["status"] != "in-use":
            problems.append(f"volume {v['id']} is {v['status']} with attachment {ident}")
    for ident, v in vols.items():
        if v["status"] == "in-use" and not any(a["volume_id"] == ident for a in atts.values()):
            problems.append(f"volume {ident} is in-use without an attachment")
    problems += await _export_problems(host, model, atts)
    for r in model.res.values():
        got = state.get(r.id)
        if r.acked == GONE and not r.pending and got is not None:
            problems.append(f"{r.kind} {r.id} was seen gone; it is back as {got['status']}")
        elif r.must_live() and r.kind != "attachment" and got is None:
            problems.append(f"{r.kind} {r.id} was seen {r.acked}; it is gone")
        elif r.must_live() and got is not None and got["status"] != r.acked:
            problems.append(f"{r.kind} {r.id} was seen {r.acked}; it is now {got['status']}")
        elif r.must_live() and r.kind == "attachment" and got is None:
            problems.append(f"attachment {r.id} was seen attached; it is gone")
        elif r.must_live() and r.size and got is not None and got["size"] != r.size:
            problems.append(f"volume {r.id} was seen at {r.size} GiB; it is now {got['size']}")
    return problems


def _file_problems(
    host: VolumeHost, kind: str, ident: str, size_gb: int, model: Model
) -> list[str]:
    path = host.files(kind) / f"{ident}.img"
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        return [f"{kind[:-1]} {ident} has a record but no file"]
    if size != size_gb * GiB:
        return [f"{kind[:-1]} {ident}: its file has {size} bytes, not {size_gb} GiB"]
    r = model.res.get(ident)
    if r is None or r.content is None or not r.must_live():
        return []
    with open(path, "rb") as f:
        for offset, data in r.content.items():
            f.seek(offset)
            if f.read(len(data)) != data:
                return [f"{kind[:-1]} {ident}: the bytes at {offset} are not what it held"]
    return []


async def _export_problems(
    host: VolumeHost, model: Model, atts: dict[str, dict[str, Any]]
) -> list[str]:
    """Each initiator the test ever attached logs in exactly when its attachment is there."""
    problems = []
    for r in model.res.values():
        if r.kind != "attachment" or r.creds is None:
            continue
        target, initiator, user, secret = r.creds
        should = r.id in atts and atts[r.id]["status"] in ("attached", "attaching")
        try:
            async with asyncio.timeout(15):
                async with session("127.0.0.1", host.iscsi_port, target, name=initiator,
                                   chap=(user, secret)) as ini:  # fmt: skip
                    await ini.test_unit_ready()
            logged_in = True
        except (TimeoutError, LoginError, OSError, AssertionError):
            logged_in = False
        model.logins["let in" if logged_in else "refused"] += 1
        if logged_in and not should:
            problems.append(f"{initiator} still reaches {target}: an export without attachment")
        if should and not logged_in:
            problems.append(f"attachment {r.id} is {atts[r.id]['status']} but {target} refuses it")
    return problems


def adopt(model: Model, state: dict[str, dict[str, Any]]) -> None:
    """After the checks, what the restart settled is what the client knows."""
    for item in state.values():
        if item["id"] not in model.res:
            model.add(Res(item["kind"], item["id"], content=None,
                          volume_id=item.get("volume_id") or ""))  # fmt: skip
    for r in model.res.values():
        got = state.get(r.id)
        r.acked = GONE if got is None else got["status"]
        r.size = got.get("size", 0) if got is not None and r.kind == "volume" else 0
        r.pending = False
    for r in list(model.res.values()):
        if r.acked == GONE:
            del model.res[r.id]
