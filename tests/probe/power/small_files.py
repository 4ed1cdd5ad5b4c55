"""Small durable writes outside the big services, done and checked across a power cut.

``do`` runs in a process of its own on a LazyFS mount (with a mutant on its
path when the mutation check runs it) and prints one JSON line per write
that returned: acknowledged. ``check`` runs in another process after the cut
(an LMDB file a cut left short is mapped into memory: reading it may kill the
reader with SIGBUS, which must not be the test) and prints the problems.

Run: ``python -m tests.probe.power.small_files do|check KIND DIR``.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from stratus import durable

KINDS = (
    "node-index", "volume-records", "ring", "partial", "extend", "delete", "admin-key",
    "private", "records", "guest-image",
)  # fmt: skip
MiB = 1024 * 1024


def _ring_blob(weight: float) -> bytes:
    from ring import RingBuilder
    from ring.ringfile import encode

    b = RingBuilder(4, 2, min_part_hours=0)
    for i in range(3):
        b.add_device(region=1, zone=i + 1, ip=f"10.1.{i + 1}.1", port=6200, device=f"d{i}",
                     weight=100.0)  # fmt: skip
    b.rebalance(seed=1)
    b.set_weight(0, weight)
    b.rebalance(seed=2)
    return encode(b.to_ring_data())


def _pattern(n: int, salt: int) -> bytes:
    return bytes((i * 7 + salt) % 251 for i in range(n))


def do(kind: str, root: Path) -> None:
    def ack(**fields: object) -> None:
        print(json.dumps(fields), flush=True)

    if kind == "node-index":
        from objectstore.node.kv import LmdbEngine

        engine = LmdbEngine(str(root / "index"))
        durable.sync_entries(root / "index", levels=1)  # as the device does at start
        for i in range(20):
            engine.write(lambda txn, i=i: txn.put("objects", b"k%03d" % i, b"v" * (i + 1)))
            ack(key=i)  # and no commit after the last one: nothing syncs it for it
    elif kind == "volume-records":
        from blockstore.manager.store import Store

        store = Store(root / "records")
        meta = store._dbs["meta"]
        for i in range(20):
            store.write_now(lambda t, i=i: t._txn.put(b"k%03d" % i, b"v", db=meta))
            ack(key=i)
    elif kind == "ring":
        from ring import install_ring

        target = root / "etc" / "rings" / "object.ring"  # made by the install
        for weight in (100.0, 50.0):
            ack(version=install_ring(target, _ring_blob(weight)).version)
    elif kind in ("partial", "extend", "delete"):
        from blockstore.backend.files import FileBackend

        backend = FileBackend(root / "files")
        if kind == "partial":
            fd, _ = backend.open_partial_volume("v1")
            os.pwrite(fd, _pattern(3 * 4096 + 100, 1), 4096)
            backend.commit_partial_volume("v1", fd, 2 * MiB)
            ack(volume="v1", size=2 * MiB)
        else:
            backend.create_volume("v1", MiB)
            ack(volume="v1", size=MiB)
            if kind == "extend":
                backend.extend_volume("v1", 3 * MiB)
                ack(volume="v1", size=3 * MiB)
            else:
                backend.delete_volume("v1")
                ack(volume="v1", size=None)
    elif kind == "admin-key":
        from stratus.identity.admin import _write_key_file

        _write_key_file(root / "admin.key", "k" * 40)
        ack(key="k" * 40)
    elif kind == "private":
        from stratus.private import write_private

        write_private(root / "keys" / "s3-master.key", _pattern(64, 2))
        ack(path="keys/s3-master.key")
    elif kind == "records":
        from compute_glue.records import RecordStore

        store = RecordStore(root / "records", ["servers"])
        for i in range(20):
            store.put("servers", f"s{i}", {"n": i})
            ack(key=f"s{i}")
    elif kind == "guest-image":
        from compute_glue.guest_image import _write_atomically

        (root / "images").mkdir()
        durable.fsync_dir(root)  # the cache directory exists for good; then the image is written
        _write_atomically(root / "images" / "guest.img", _pattern(20000, 3))
        durable.fsync_dir(root / "images")  # another writer's fsync makes the name durable any time
        ack(path="images/guest.img")
    else:
        raise SystemExit(f"unknown kind {kind}")
    os._exit(0)  # as a power cut stops a process: no close, no clean-up that might sync


def check(kind: str, root: Path, acks: list[dict]) -> list[str]:
    """Every acknowledged write of ``kind`` as it was acknowledged."""
    last = acks[-1] if acks else None
    if last is None:
        return []
    if kind == "node-index":
        import lmdb

        from objectstore.node.kv import LmdbEngine

        try:
            engine = LmdbEngine(str(root / "index"))
        except lmdb.Error as exc:
            return [f"the index does not open: {exc}"]
        with engine.read() as txn:
            missing = [a["key"] for a in acks if txn.get("objects", b"k%03d" % a["key"]) is None]
        return [f"acknowledged index entries missing: {missing}"] if missing else []
    if kind == "volume-records":
        import lmdb

        env = lmdb.open(str(root / "records"), max_dbs=20, readonly=False)
        try:
            meta = env.open_db(b"meta")
            with env.begin() as txn:
                missing = [a["key"] for a in acks if txn.get(b"k%03d" % a["key"], db=meta) is None]
        finally:
            env.close()
        return [f"acknowledged volume records missing: {missing}"] if missing else []
    if kind == "ring":
        from ring.errors import RingError
        from ring.ringfile import read_ring_file

        try:
            got = read_ring_file(root / "etc" / "rings" / "object.ring").ring_version
        except (OSError, RingError) as exc:
            return [f"the installed ring does not read: {exc}"]
        return [] if got == last["version"] else [f"ring version {got}, installed {last}"]
    if kind in ("partial", "extend", "delete"):
        path = root / "files" / "volumes" / "v1.img"
        size = path.stat().st_size if path.exists() else None
        if size != last["size"]:
            return [f"v1.img has size {size}, acknowledged {last['size']}"]
        if kind == "partial" and path.read_bytes()[4096 : 4096 + 3 * 4096 + 100] != _pattern(
            3 * 4096 + 100, 1
        ):
            return ["v1.img does not hold the bytes it was filled with"]
        return []
    if kind == "admin-key":
        path = root / "admin.key"
        got = path.read_text().strip() if path.exists() else None
        return [] if got == last["key"] else [f"admin.key holds {got!r}"]
    if kind == "private":
        path = root / last["path"]
        got = path.read_bytes() if path.exists() else None
        return [] if got == _pattern(64, 2) else [f"{last['path']} holds {got!r}"]
    if kind == "records":
        from compute_glue.records import RecordError, RecordStore

        try:
            store = RecordStore(root / "records", ["servers"])
        except RecordError as exc:
            return [f"the records do not open: {exc}"]
        missing = [a["key"] for a in acks if store.get("servers", a["key"]) is None]
        store.close()
        return [f"acknowledged records missing: {missing}"] if missing else []
    if kind == "guest-image":
        path = root / last["path"]
        if path.exists() and path.read_bytes() != _pattern(20000, 3):
            return [f"{last['path']} is there with {path.stat().st_size} bytes, not whole"]
        return []
    raise SystemExit(f"unknown kind {kind}")


def main(argv: list[str]) -> None:
    mode, kind, root = argv[0], argv[1], Path(argv[2])
    if mode == "do":
        do(kind, root)
    else:
        acks = [json.loads(line) for line in sys.stdin if line.strip()]
        print(json.dumps(check(kind, root, acks)))


if __name__ == "__main__":
    main(sys.argv[1:])
