"""The checker's two halves, run inside the client namespace of a host cluster.

``load``: mixed PUT / GET / DELETE for a bounded time (the checker of
tests/probe/objectstore/consistency.py judges every read as it goes), then
the history's end state written to a JSON file: per key, the MD5 of what the
last acknowledged write left (or null: deleted) and of the failed writes
since, which may or may not have happened.

``plant`` (for the test that the checker can fail): tombstone one replica
of one settled key behind the cluster's back.

``verify``: after the faults healed and one replication pass, every key
read again through the proxy, and every replica of every key whose state is
certain asked on its primaries directly: all must agree with the history
(a lost or stale read, a primary missing a settled object, or a deleted
object still on one). Prints a JSON report; exit status 1 on any violation.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import sys
import time
from pathlib import Path
from typing import Any

import aiohttp

from objectstore.client import NodeClient, NodeClientError, NotFound
from objectstore.proxy.core import Rings
from objectstore.timestamp import Timestamp
from stratus import config
from tests.probe.objectstore.consistency import Checker
from tests.probe.objectstore.harness import Swift


async def _swift(session: aiohttp.ClientSession, auth: str, user: str, key: str) -> Swift:
    headers = {"X-Auth-User": user, "X-Auth-Key": key}
    async with session.get(auth, headers=headers) as resp:
        assert resp.status == 200, await resp.text()
        return Swift(session, resp.headers["X-Storage-Url"], resp.headers["X-Auth-Token"])


def _md5(value: bytes | None) -> str | None:
    return None if value is None else hashlib.md5(value).hexdigest()


async def load(args: argparse.Namespace) -> dict[str, Any]:
    async with aiohttp.ClientSession() as session:
        swift = await _swift(session, args.auth, args.user, args.key)
        # Right after the last scenario healed, a node may still wait out a connection the
        # fault left dead: the setup retries as a client would; the load itself never does.
        for attempt in range(4):
            status = (await swift.request("PUT", f"/{args.container}"))[0]
            if status in (201, 202) or attempt == 3:
                break
            await asyncio.sleep(1.0)
        assert status in (201, 202), status
        checker = Checker(
            swift, args.container, workers=args.workers, keys=args.keys, seed=args.seed
        )
        stop = asyncio.Event()
        task = asyncio.ensure_future(checker.run(stop))
        await asyncio.sleep(args.seconds)
        stop.set()
        await task
    state = {
        key: {"acked": _md5(s.acked), "maybe": [_md5(m) for m in s.maybe]}
        for key, s in checker.state.items()
    }
    Path(args.state).write_text(json.dumps({"container": args.container, "keys": state}))
    return {"load": checker.report.to_dict()}


async def verify(args: argparse.Namespace) -> dict[str, Any]:
    history = json.loads(Path(args.state).read_text())
    container = history["container"]
    cfg = config.load(Path(args.config), env={})
    rings = Rings.from_config(cfg)
    problems: list[str] = []
    counts = {"keys": 0, "settled": 0, "replicas_checked": 0}
    async with aiohttp.ClientSession() as session:
        swift = await _swift(session, args.auth, args.user, args.key)
        account = swift.url.rstrip("/").rsplit("/", 1)[1]
        node_session = NodeClient.make_session()
        nodes = NodeClient(node_session, conn_timeout=2.0, node_timeout=30.0)
        try:
            for key, st in history["keys"].items():
                counts["keys"] += 1
                allowed = {st["acked"], *st["maybe"]}
                status, body, _ = await swift.request("GET", f"/{container}/{key}")
                got = _md5(body) if status == 200 else None
                if status not in (200, 404):
                    problems.append(f"GET {key}: {status}")
                elif got not in allowed:
                    kind = "lost" if got is None else "stale"
                    problems.append(
                        f"{kind}: {key} read {got}, history allows {sorted(map(str, allowed))}"
                    )
                if st["maybe"]:
                    continue  # a failed write may be anywhere: nothing certain to check
                counts["settled"] += 1
                part, primaries = rings.object.get_nodes(account, container, key)
                for dev in primaries:
                    counts["replicas_checked"] += 1
                    try:
                        etag = (await nodes.head_object(dev, part, account, container, key)).etag
                    except NotFound:
                        etag = None
                    except NodeClientError as exc:
                        problems.append(f"replica {key} on {dev.ip}: {exc!r}")
                        continue
                    if etag != st["acked"]:
                        problems.append(
                            f"replica {key} on {dev.ip}:{dev.port}/{dev.device} holds {etag}, "
                            f"want {st['acked']}"
                        )
        finally:
            await node_session.close()
    return {"verify": {**counts, "violations": len(problems), "problems": problems[:30]}}


async def plant(args: argparse.Namespace) -> dict[str, Any]:
    """A violation for the checker to find: one replica of one settled key tombstoned."""
    history = json.loads(Path(args.state).read_text())
    container = history["container"]
    rings = Rings.from_config(config.load(Path(args.config), env={}))
    key = next(k for k, st in history["keys"].items() if st["acked"] and not st["maybe"])
    async with aiohttp.ClientSession() as session:
        swift = await _swift(session, args.auth, args.user, args.key)
        account = swift.url.rstrip("/").rsplit("/", 1)[1]
    part, primaries = rings.object.get_nodes(account, container, key)
    node_session = NodeClient.make_session()
    try:
        nodes = NodeClient(node_session, conn_timeout=2.0, node_timeout=30.0)
        await nodes.delete_object(
            primaries[-1],
            part,
            account,
            container,
            key,
            timestamp=Timestamp.now(),
            container_update=None,
        )
    finally:
        await node_session.close()
    return {"planted": {"key": key, "device": f"{primaries[-1].ip}:{primaries[-1].port}"}}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("phase", choices=("load", "verify", "plant"))
    parser.add_argument("--auth", required=True)
    parser.add_argument("--user", default="admin:admin")
    parser.add_argument("--key", required=True)
    parser.add_argument("--state", required=True, help="the history's end state (JSON)")
    parser.add_argument("--container", default="checker")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--workers", type=int, default=6)
    parser.add_argument("--keys", type=int, default=20)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--config", help="verify: a host's stratus.toml (rings, salts)")
    args = parser.parse_args(argv)
    assert 1 <= args.seconds <= 900, "--seconds: 1 to 900"
    started = time.monotonic()
    phase = {"load": load, "verify": verify, "plant": plant}[args.phase]
    report = asyncio.run(phase(args))
    report["seconds"] = round(time.monotonic() - started, 2)
    print(json.dumps(report))
    failed = report.get("verify", {}).get("violations", 0)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
