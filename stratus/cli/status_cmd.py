"""`stratus status` and `stratus node replicate --once`: the cluster's health, and repair now.

Both ask the running storage nodes over their internal API (through
``NodeClient``, like every other caller); neither opens a node's files,
which only its own process may touch. The nodes are the ones the rings
name (every node of the cluster, on every machine), or with ``--node N``
(repeatable) this machine's node N only.

    stratus status [--json]
        nodes up, failed devices, replication lag, quarantined replicas,
        queued container updates, partitions waiting on handoffs; ring balance;
        the ring versions each node serves with, a node whose rings differ from
        this host's flagged STALE (`stratus ring push` brings them).

    stratus node replicate --once [--node N] [--workers object,container,account]
        run one replication pass on each node now and wait for it. The nodes
        also replicate on their own every ``durability.replicator_interval`` s.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from pathlib import Path
from typing import Any

from stratus import config
from stratus.cli import cluster
from stratus.cli.output import add_json_flag, emit_json, table

RING_NAMES = ("object", "container", "account")
REPLICATORS = ("object-replicator", "container-replicator", "account-replicator")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "status", help="cluster health: nodes, devices, replication lag, rings (asks the nodes)"
    )
    _config_flag(p)
    p.add_argument(
        "--node", type=int, action="append", metavar="N", help="only this machine's node N"
    )
    p.add_argument("--timeout", type=float, default=5.0, help="seconds to wait for each node")
    add_json_flag(p)
    p.set_defaults(func=_status)


def add_node_actions(node: argparse.ArgumentParser) -> None:
    """`stratus node replicate`: called by the `stratus node` parser (stratus.cli.node_cmd)."""
    actions = node.add_subparsers(dest="node_action", metavar="ACTION")
    rep = actions.add_parser("replicate", help="run a replication pass on the running nodes now")
    _config_flag(rep)
    rep.add_argument(
        "--once", action="store_true", required=True, help="one pass on each node, then exit"
    )
    rep.add_argument(
        "--node", type=int, action="append", metavar="N", help="only this machine's node N"
    )
    rep.add_argument(
        "--workers",
        default="object,container,account",
        help="which replicators (default: object,container,account)",
    )
    rep.add_argument("--timeout", type=float, default=600.0, help="seconds to wait for a pass")
    add_json_flag(rep)
    rep.set_defaults(func=_replicate)


def _config_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--config", metavar="FILE", default=argparse.SUPPRESS, help="TOML configuration file"
    )


# --- which nodes --------------------------------------------------------------
class _Node:
    """A node address that duck-types as ``ring.Device`` for the client."""

    def __init__(self, ip: str, port: int, device: str) -> None:
        self.ip, self.port, self.device = ip, port, device

    @property
    def label(self) -> str:
        return f"{self.ip}:{self.port}"


def _load(args: argparse.Namespace) -> config.Config:
    cfg = config.load(getattr(args, "config", None))
    cfg.data.dir = str(cfg.data_dir.resolve())
    if not cluster.rings_present(cluster.ring_dir(cfg)):
        raise config.ConfigError(f"no rings in {cluster.ring_dir(cfg)}: is the cluster set up?")
    return cfg


#: The public name of a node address (``stratus ring push`` addresses nodes the same way).
NodeRef = _Node


def ring_nodes(ring_dir: Path) -> list[_Node]:
    """Every node the rings name (one entry per ip:port, with one of its devices)."""
    from ring.ringfile import read_ring_file

    seen: dict[tuple[str, int], _Node] = {}
    for name in RING_NAMES:
        for dev in read_ring_file(ring_dir / f"{name}.ring").devices:
            seen.setdefault((dev.ip, dev.port), _Node(dev.ip, dev.port, dev.device))
    return sorted(seen.values(), key=lambda n: (n.ip, n.port))


def _nodes(cfg: config.Config, chosen: list[int] | None) -> list[_Node]:
    everyone = ring_nodes(cluster.ring_dir(cfg))
    if not chosen:
        return everyone
    out = []
    for index in chosen:
        ip, port = cluster.node_address(cfg, index)
        match = [n for n in everyone if n.port == port and n.ip in (ip, "127.0.0.1")]
        out.append(match[0] if match else _Node(ip, port, cluster.device_names(cfg)[0]))
    return out


async def each_node(nodes: list[_Node], timeout: float, call: Any) -> list[Any]:
    """``call(client, node)`` on every node at once; an exception instead of a value."""
    from objectstore.client import NodeClient

    async with NodeClient.make_session() as session:
        client = NodeClient(session, conn_timeout=min(timeout, 2.0), node_timeout=timeout)
        return await asyncio.gather(*(call(client, n) for n in nodes), return_exceptions=True)


# --- stratus node replicate --once ------------------------------------------------
def _replicate(args: argparse.Namespace) -> int:
    cfg = _load(args)
    nodes = _nodes(cfg, args.node)
    workers = [w.strip() for w in args.workers.split(",") if w.strip()]

    async def call(client: Any, node: _Node) -> dict[str, Any]:
        return await client.replicate_now(node, workers, timeout=args.timeout)

    results = asyncio.run(each_node(nodes, args.timeout, call))
    report, failed = {}, False
    for node, result in zip(nodes, results, strict=True):
        if isinstance(result, BaseException):
            failed = True
            report[node.label] = {"error": repr(result)}
            continue
        report[node.label] = result
        failed = failed or any(r.get("error") or r.get("last_error") for r in result.values())
    if args.json:
        emit_json(report)
        return 1 if failed else 0
    rows = []
    for label, result in report.items():
        if "error" in result and len(result) == 1:
            rows.append([label, "-", "unreachable", "", "", "", "", result["error"][:60]])
            continue
        for name, state in result.items():
            last = state.get("last", {}) if isinstance(state, dict) else {}
            rows.append(
                [
                    label,
                    name,
                    "ok" if not state.get("last_error") else "failed",
                    last.get("partitions", ""),
                    last.get("synced", ""),
                    last.get("pushed", ""),
                    last.get("handoff_partitions", ""),
                    state.get("last_error", "") or "; ".join(last.get("errors", [])[:1])[:60],
                ]
            )
    print(table(["node", "worker", "pass", "parts", "synced", "pushed", "handoff", "note"], rows))
    return 1 if failed else 0


# --- stratus status -----------------------------------------------------------------
def ring_balance(path: Path) -> dict[str, Any]:
    """Partitions, replicas, devices and the worst deviation from a weighted share (%)."""
    from ring.ringfile import read_ring_file

    data = read_ring_file(path)
    held = [0] * len(data.devices)
    for col in data.table:
        for i in col:
            held[i] += 1
    total_weight = sum(d.weight for d in data.devices if d.weight > 0)
    slots = data.partition_count * data.replicas
    worst = 0.0
    for dev, n in zip(data.devices, held, strict=True):
        if dev.weight <= 0:
            continue
        share = slots * dev.weight / total_weight
        worst = max(worst, abs(n - share) * 100.0 / share)
    return {
        "partitions": data.partition_count,
        "replicas": data.replicas,
        "devices": len(data.devices),
        "balance": round(worst, 2),
        "version": data.ring_version,
        "checksum": data.checksum,
    }


def _summary(stats: dict[str, Any]) -> dict[str, Any]:
    workers = stats.get("workers", {})
    lags = [w.get("lag") for n, w in workers.items() if n in REPLICATORS]
    handoffs = sum(
        int(w.get("last", {}).get("handoff_partitions", 0) or 0)
        for n, w in workers.items()
        if n in REPLICATORS
    )
    failed = {
        n: d["unavailable"] for n, d in stats.get("devices", {}).items() if "unavailable" in d
    }
    return {
        "up": True,
        "devices": len(stats.get("devices", {})),
        "failed_devices": failed,
        "replication_lag": None if not lags or None in lags else max(lags),
        "handoff_partitions": handoffs,
        "quarantined": stats.get("quarantined", 0),
        "async_pending": stats.get("async_pending", 0),
        "async_dropped": stats.get("async_dropped", 0),
        "rings": stats.get("rings", {}),
        "ring_checksums": stats.get("ring_checksums", {}),
    }


def stale_rings(node: dict[str, Any], rings: dict[str, dict[str, Any]]) -> list[str]:
    """The rings a node serves with that are not this host's (other version or checksum)."""
    stale = []
    for name, mine in rings.items():
        version = node["rings"].get(name)
        checksum = node["ring_checksums"].get(name)
        if version != mine["version"] or (checksum is not None and checksum != mine["checksum"]):
            stale.append(name)
    return stale


def collect_status(cfg: config.Config, chosen: list[int] | None, timeout: float) -> dict[str, Any]:
    """What `stratus status` shows, as data (also for tests and scripts)."""
    nodes = _nodes(cfg, chosen)

    async def call(client: Any, node: _Node) -> dict[str, Any]:
        return await client.node_stats(node)

    results = asyncio.run(each_node(nodes, timeout, call))
    out_nodes = {}
    for node, result in zip(nodes, results, strict=True):
        if isinstance(result, BaseException):
            out_nodes[node.label] = {"up": False, "error": repr(result)[:200]}
        else:
            out_nodes[node.label] = _summary(result)
    rings = {name: ring_balance(cluster.ring_dir(cfg) / f"{name}.ring") for name in RING_NAMES}
    up = [n for n in out_nodes.values() if n["up"]]
    for n in up:
        n["stale_rings"] = stale_rings(n, rings)
    lags = [n["replication_lag"] for n in up]
    return {
        "time": time.time(),
        "nodes": out_nodes,
        "nodes_up": len(up),
        "nodes_total": len(out_nodes),
        "failed_devices": sum(len(n["failed_devices"]) for n in up),
        "replication_lag": None if not lags or None in lags else max(lags),
        "quarantined": sum(n["quarantined"] for n in up),
        "async_pending": sum(n["async_pending"] for n in up),
        "async_dropped": sum(n["async_dropped"] for n in up),
        "handoff_partitions": sum(n["handoff_partitions"] for n in up),
        "stale_ring_nodes": sum(1 for n in up if n["stale_rings"]),
        "rings": rings,
    }


def async_pending_legend(logs: Path) -> str:
    """What a non-zero "async pending" means and where to look when it stays up."""
    return (
        "  async pending: container/account updates queued on storage nodes, retried by the "
        f"updater; if it does not fall, see {logs}/node*.log for the failing update"
    )


def _fmt_lag(lag: float | None) -> str:
    return "never" if lag is None else f"{lag:.0f}s"


def _fmt_rings(node: dict[str, Any]) -> str:
    """``a3 c3 o4``, then ``STALE(object)`` when the node's rings are not this host's."""
    text = " ".join(f"{name[0]}{node['rings'].get(name, '?')}" for name in sorted(node["rings"]))
    if node["stale_rings"]:
        text += f" STALE({','.join(node['stale_rings'])})"
    return text or "-"


def _status(args: argparse.Namespace) -> int:
    cfg = _load(args)
    report = collect_status(cfg, args.node, args.timeout)
    if args.json:
        emit_json(report)
        return 0 if report["nodes_up"] == report["nodes_total"] else 1
    print(
        f"nodes up {report['nodes_up']}/{report['nodes_total']}, "
        f"failed devices {report['failed_devices']}, "
        f"replication lag {_fmt_lag(report['replication_lag'])}, "
        f"quarantined {report['quarantined']}, async pending {report['async_pending']}, "
        f"async dropped {report['async_dropped']}, "
        f"handoff partitions {report['handoff_partitions']}, "
        f"nodes with stale rings {report['stale_ring_nodes']}"
    )
    if report["async_pending"]:
        print(async_pending_legend(cluster.logs_dir(cfg)))
    if report["stale_ring_nodes"]:
        print(
            "  stale rings: those nodes serve with other rings than this host's; run "
            "`stratus ring push` here (or on the builder host)"
        )
    rows = []
    for label, n in report["nodes"].items():
        if not n["up"]:
            rows.append([label, "DOWN", "", "", "", "", "", "", n["error"][:50]])
            continue
        failed = ", ".join(f"{d}: {why}" for d, why in n["failed_devices"].items())
        rows.append(
            [
                label,
                "up",
                n["devices"],
                _fmt_lag(n["replication_lag"]),
                n["handoff_partitions"],
                n["quarantined"],
                n["async_pending"],
                _fmt_rings(n),
                failed,
            ]
        )
    print()
    headers = ["node", "state", "devs", "lag", "handoff", "quar", "pending", "rings", "failed"]
    print(table(headers, rows))
    print()
    ring_rows = [
        [name, r["partitions"], r["replicas"], r["devices"], f"{r['balance']:.2f}%", r["version"]]
        for name, r in report["rings"].items()
    ]
    print(table(["ring", "partitions", "replicas", "devices", "balance", "version"], ring_rows))
    return 0 if report["nodes_up"] == report["nodes_total"] else 1
