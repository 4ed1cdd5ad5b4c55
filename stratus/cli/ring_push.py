"""`stratus ring push`: send the rings of this host to every storage node they name.

Run on the host that holds the builders, after a rebalance. Each node gets
the three ring files over its internal API (``PUT /ring/<name>``), signed
with the cluster's key (derived from the hash salts every host shares), and
installs a ring only if it is whole and newer than its own; it loads it at
once. Proxies reread ``<data>/rings`` of their host within
``RING_RELOAD_SECONDS`` (docs/ring.md, "Rings across hosts").

    stratus ring push [--config FILE] [--ring-dir DIR] [--timeout S] [--json]

Exit status 0 when every node holds the pushed rings (installed now or
already), 1 otherwise (a node unreachable or refusing: the table says why).
"""

from __future__ import annotations

import argparse
import asyncio
import time
from pathlib import Path
from typing import Any

from objectstore.common.ringsign import RING_NAMES, push_key
from ring import RingError
from ring.ringfile import decode
from stratus import config
from stratus.cli import cluster
from stratus.cli.output import add_json_flag, emit_json, table
from stratus.cli.status_cmd import NodeRef, each_node, ring_nodes

#: Seconds a proxy may keep answering from the ring it had (``ring.Ring``'s reload interval).
RING_RELOAD_SECONDS = 15.0


def register_push(rsub: argparse._SubParsersAction) -> None:
    push = rsub.add_parser(
        "push",
        help="send this host's ring files to every storage node in the rings",
        description="Push <data>/rings/{account,container,object}.ring to every node the "
        "rings name. Nodes install a ring only if it is whole and newer, and use it at once.",
    )
    push.add_argument(
        "--config", metavar="FILE", default=argparse.SUPPRESS, help="TOML configuration file"
    )
    push.add_argument(
        "--ring-dir", type=Path, default=None, help="directory of the ring files (<data>/rings)"
    )
    push.add_argument("--timeout", type=float, default=10.0, help="seconds to wait for each node")
    add_json_flag(push)
    push.set_defaults(func=_push)


def _load_rings(ring_dir: Path) -> dict[str, bytes]:
    """The three ring files, each checked whole before anything is sent."""
    out = {}
    for name in RING_NAMES:
        path = ring_dir / f"{name}.ring"
        try:
            blob = path.read_bytes()
        except OSError as exc:
            raise config.ConfigError(f"cannot read {path}: {exc.strerror}") from exc
        try:
            decode(blob, str(path))
        except RingError as exc:
            raise config.ConfigError(str(exc)) from exc
        out[name] = blob
    return out


async def _push_one(client: Any, node: NodeRef, rings: dict[str, bytes], key: bytes) -> Any:
    """Every ring to one node; per ring the node's answer or the error."""
    from objectstore.client import NodeClientError, NodeError

    out: dict[str, dict[str, Any]] = {}
    for name, blob in rings.items():
        try:
            out[name] = await client.push_ring(node, name, blob, key)
        except NodeError as exc:
            out[name] = {"result": "refused", "status": exc.status, "error": exc.body[:300]}
        except NodeClientError as exc:
            out[name] = {"result": "unreachable", "error": str(exc)[:300]}
    return out


def push_rings(cfg: config.Config, ring_dir: Path, timeout: float) -> dict[str, Any]:
    """Push and report: ``{"nodes": {ip:port: {ring: answer}}, "ok": bool, "seconds": s}``."""
    cluster.ensure_cluster_secrets(cfg, create=False)
    key = push_key(cfg.cluster.hash_path_prefix, cfg.cluster.hash_path_suffix)
    if key is None:
        raise config.ConfigError("the cluster has no hash salts: nodes refuse unsigned pushes")
    rings = _load_rings(ring_dir)
    nodes = ring_nodes(ring_dir)
    started = time.monotonic()

    async def call(client: Any, node: NodeRef) -> Any:
        return await _push_one(client, node, rings, key)

    results = asyncio.run(each_node(nodes, timeout, call))
    report: dict[str, Any] = {}
    for node, result in zip(nodes, results, strict=True):
        if isinstance(result, BaseException):
            result = {n: {"result": "unreachable", "error": repr(result)[:300]} for n in rings}
        report[node.label] = result
    ok = all(
        answer.get("result") in ("installed", "current")
        for per_node in report.values()
        for answer in per_node.values()
    )
    versions = {name: decode(blob).ring_version for name, blob in rings.items()}
    return {
        "nodes": report,
        "ok": ok,
        "versions": versions,
        "seconds": round(time.monotonic() - started, 3),
    }


def _push(args: argparse.Namespace) -> int:
    cfg = config.load(getattr(args, "config", None))
    cfg.data.dir = str(cfg.data_dir.resolve())
    ring_dir = args.ring_dir or cluster.ring_dir(cfg)
    report = push_rings(cfg, ring_dir, args.timeout)
    if args.json:
        emit_json(report)
        return 0 if report["ok"] else 1
    rows = []
    for label, per_node in report["nodes"].items():
        rows.append([label, *(_cell(per_node[name]) for name in RING_NAMES)])
    print(table(["node", *RING_NAMES], rows))
    versions = ", ".join(f"{n} {v}" for n, v in report["versions"].items())
    state = "every node holds them" if report["ok"] else "NOT every node holds them"
    print(f"\npushed ring versions {versions} in {report['seconds']:.2f}s: {state}")
    if report["ok"]:
        print(f"proxies use them within {RING_RELOAD_SECONDS:.0f}s")
    return 0 if report["ok"] else 1


def _cell(answer: dict[str, Any]) -> str:
    result = answer.get("result", "?")
    if result in ("installed", "current"):
        return f"{result} v{answer.get('version')}"
    return f"{result}: {answer.get('error', '')}"[:70]
