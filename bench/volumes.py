"""Volume backups: backup and restore MB/s of a 1 GiB volume half filled with random data.

Runs `stratus up` (3 storage nodes, 3 replicas by default) in a temp dir,
creates a volume through the API, fills half of it with random data (every
other 8 MiB stretch, written straight into the volume's file), then times,
through the API and until the backup record says ``available``:

- a full backup, then an incremental one after rewriting about 5% of it;
- a restore of each into a new volume (and checks the bytes are identical).

MB/s are given per volume byte (``mb_s``, 1 GiB / seconds) and per data
byte (``data_mb_s``). One JSON document on stdout.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import xxhash
from _launch import StratusUp, free_port

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from blockstore.client import VolumeClient  # noqa: E402

MiB = 1024 * 1024
STRETCH = 8 * MiB


class VolumeCloud(StratusUp):
    """`stratus up` with the volume API and the iSCSI target on free ports too."""

    def __init__(self, data_dir: Path, *, nodes: int, concurrency: int) -> None:
        super().__init__(data_dir, nodes=nodes)
        block = range(self.base_port, self.base_port + nodes)
        self.ports = {}
        for name in ("S3", "VOLUME", "ISCSI"):
            port = free_port()
            while port in block or port == self.proxy_port:  # the nodes' ports are not bound yet
                port = free_port()
            self.ports[f"STRATUS_{name}_PORT"] = str(port)
        self.ports["STRATUS_VOLUME_BACKUP_CONCURRENCY"] = str(concurrency)

    def env(self) -> dict[str, str]:
        env = super().env()
        env.update(self.ports)
        return env

    @property
    def volume_url(self) -> str:
        return f"http://127.0.0.1:{self.ports['STRATUS_VOLUME_PORT']}"

    def wait_volume_api(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"{self.volume_url}/healthcheck", timeout=2):
                    return
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                time.sleep(0.05)
        raise RuntimeError(f"volume API not ready; {self.log_tail()}")


def fill_half(path: Path, size: int) -> int:
    """Random data in every other stretch; the bytes written."""
    written = 0
    with open(path, "r+b") as f:
        for offset in range(0, size, 2 * STRETCH):
            f.seek(offset)
            f.write(os.urandom(STRETCH))
            written += STRETCH
        f.flush()
        os.fsync(f.fileno())
    return written


def rewrite_some(path: Path, size: int, fraction: float) -> int:
    """Overwrite about ``fraction`` of the volume (4 MiB pieces, spread out)."""
    piece = 4 * MiB
    count = max(1, int(size * fraction) // piece)
    step = size // count
    with open(path, "r+b") as f:
        for i in range(count):
            f.seek(i * step)
            f.write(os.urandom(piece))
        os.fsync(f.fileno())
    return count * piece


def digest(path: Path) -> str:
    h = xxhash.xxh3_128()
    with open(path, "rb") as f:
        while block := f.read(16 * MiB):
            h.update(block)
    return h.hexdigest()


async def timed_backup(c: VolumeClient, volume_id: str, incremental: bool) -> dict[str, Any]:
    t0 = time.monotonic()
    bk = await c.create_backup(volume_id, incremental=incremental)
    bk = await c.wait_backup(bk["id"], interval=0.05)
    seconds = time.monotonic() - t0
    return {
        "id": bk["id"],
        "seconds": round(seconds, 3),
        "objects_uploaded": bk["object_count"],
        "stored_mib": round(bk["stored_bytes"] / MiB, 1),
    }


async def timed_restore(c: VolumeClient, backup_id: str) -> tuple[str, float]:
    t0 = time.monotonic()
    got = await c.restore_backup(backup_id)
    await c.wait_backup(backup_id, interval=0.05)
    await c.wait_volume(got["volume_id"], interval=0.05)
    return got["volume_id"], time.monotonic() - t0


def rates(seconds: float, volume_bytes: int, data_bytes: int) -> dict[str, float]:
    return {
        "mb_s": round(volume_bytes / MiB / seconds, 1),
        "data_mb_s": round(data_bytes / MiB / seconds, 1),
    }


async def run(cloud: VolumeCloud, size_gib: int) -> dict[str, Any]:
    size = size_gib * 1024 * MiB
    files = cloud.data_dir / "volumes" / "files" / "volumes"
    c = await VolumeClient.login(cloud.volume_url, cloud.auth_url, "admin:admin", cloud.admin_key)
    async with c:
        vol = await c.wait_volume((await c.create_volume(size_gib, name="bench"))["id"])
        data = fill_half(files / f"{vol['id']}.img", size)
        full = await timed_backup(c, vol["id"], False)
        full.update(rates(full["seconds"], size, data))
        full_digest = digest(files / f"{vol['id']}.img")
        changed = rewrite_some(files / f"{vol['id']}.img", size, 0.05)
        inc = await timed_backup(c, vol["id"], True)
        inc.update(rates(inc["seconds"], size, changed), changed_mib=changed // MiB)
        inc_digest = digest(files / f"{vol['id']}.img")
        out: dict[str, Any] = {"full_backup": full, "incremental_backup": inc}
        for name, bk, want in (
            ("restore_full", full, full_digest),
            ("restore_incremental", inc, inc_digest),
        ):
            new_id, seconds = await timed_restore(c, bk["id"])
            same = digest(files / f"{new_id}.img") == want
            out[name] = {
                "seconds": round(seconds, 3),
                **rates(seconds, size, data),
                "identical": same,
            }
            await c.delete_volume(new_id)
        return {"volume_gib": size_gib, "data_mib": data // MiB, **out}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--size", type=int, default=1, help="volume size in GiB (default 1)")
    p.add_argument("--nodes", type=int, default=3, help="storage nodes (default 3)")
    p.add_argument("--concurrency", type=int, default=8, help="chunks in flight (default 8)")
    p.add_argument("--keep", action="store_true", help="keep the temp dir (for the logs)")
    args = p.parse_args()
    work = Path(tempfile.mkdtemp(prefix="stratus-bench-volumes-"))
    cloud = VolumeCloud(work / "data", nodes=args.nodes, concurrency=args.concurrency)
    try:
        print("starting stratus up ...", file=sys.stderr)
        cloud.start()
        cloud.wait_volume_api()
        result = asyncio.run(run(cloud, args.size))
        result.update(
            nodes=args.nodes,
            concurrency=args.concurrency,
            chunk_mib=4,
            compression="zstd",
            cpus=os.cpu_count(),
        )
        print(json.dumps(result, indent=1))
        return 0
    finally:
        cloud.stop()
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
