"""`stratus ring push` across hosts with their own addresses (network namespaces).

One three-host cluster built as README says (whose own `stratus ring push`
gave hosts 2 and 3 their first rings). A rebalance on host 1 reaches every
host by `stratus ring push`; the time until every host's node serves with
the new version is measured and printed as JSON; `stratus status` flags the
hosts left behind before the push and shows every version after it; a ring
that is tampered with, unsigned or older is refused by every node.
"""

from __future__ import annotations

import json
import shutil
import sys
import time
from pathlib import Path
from typing import Any

from tests.helpers.hosts import HostCluster

RINGS = ("account", "container", "object")


def _versions(c: HostCluster) -> dict[int, dict[str, Any]]:
    return {h.index: c.node_stats(h)["rings"] for h in c.hosts}


def _status(c: HostCluster) -> dict[str, Any]:
    done = c.stratus(c.hosts[0], "status", "--json", check=False)
    return json.loads(done.stdout)


def _by_address(c: HostCluster, report: dict[str, Any]) -> dict[int, Any]:
    return {h.index: report["nodes"][f"{h.address}:6200"] for h in c.hosts}


def test_readme_push_gave_every_host_its_rings(hosts: HostCluster) -> None:
    for index, rings in _versions(hosts).items():
        assert rings == {name: 1 for name in RINGS}, index
    for host in hosts.hosts[1:]:
        ring_dir = host.root / "rings"
        assert sorted(p.name for p in ring_dir.iterdir()) == [f"{n}.ring" for n in RINGS]
        assert (ring_dir.stat().st_mode & 0o777) == 0o700


def test_rebalance_reaches_every_host_and_old_or_bad_rings_do_not(
    hosts: HostCluster, tmp_path: Path
) -> None:
    first = hosts.hosts[0]
    ring_dir = first.root / "rings"
    old = tmp_path / "old"
    old.mkdir()
    for name in RINGS:
        shutil.copy2(ring_dir / f"{name}.ring", old / f"{name}.ring")
    # The operator's rebalance on host 1: host 3's device weighs half as much.
    builder = str(ring_dir / "object.builder")
    hosts.stratus(first, "ring", "set-weight", builder, "2", "50")
    hosts.stratus(first, "ring", "rebalance", builder)

    # Before the push: host 1 reads the builder's directory; the others are stale.
    deadline = time.monotonic() + 10
    while True:
        status = _status(hosts)
        nodes = _by_address(hosts, status)
        if not nodes[1]["stale_rings"] or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert status["rings"]["object"]["version"] == 2
    assert nodes[1]["stale_rings"] == []
    assert nodes[2]["stale_rings"] == nodes[3]["stale_rings"] == ["object"]
    assert status["stale_ring_nodes"] == 2
    text = hosts.stratus(first, "status", check=False).stdout
    assert "STALE(object)" in text

    started = time.monotonic()
    pushed = json.loads(hosts.stratus(first, "ring", "push", "--json").stdout)
    acked = time.monotonic() - started
    assert pushed["ok"] and pushed["versions"]["object"] == 2
    results = {label: per_node["object"]["result"] for label, per_node in pushed["nodes"].items()}
    assert sorted(results.values()) == ["current", "installed", "installed"], results
    # No waiting: a node reloads the ring before it acknowledges the push.
    versions = _versions(hosts)
    serving = time.monotonic() - started
    assert all(rings["object"] == 2 for rings in versions.values()), versions
    print(
        json.dumps(
            {
                "ring_push": {
                    "hosts": len(hosts.hosts),
                    "push_seconds": pushed["seconds"],
                    "command_seconds": round(acked, 3),
                    "every_host_serving_checked_after_seconds": round(serving, 3),
                }
            }
        )
    )

    status = _status(hosts)
    assert status["stale_ring_nodes"] == 0
    for node in _by_address(hosts, status).values():
        assert node["rings"] == {"account": 1, "container": 1, "object": 2}
        assert node["ring_checksums"]["object"] == status["rings"]["object"]["checksum"]

    # The old ring set, pushed again (a stale builder host): every node refuses it.
    done = hosts.stratus(first, "ring", "push", "--ring-dir", str(old), "--json", check=False)
    assert done.returncode == 1
    report = json.loads(done.stdout)
    for per_node in report["nodes"].values():
        assert per_node["object"]["status"] == 409, per_node
        assert per_node["account"]["result"] == "current"

    # A tampered ring: the CLI will not send it, and a node will not take it if sent.
    tampered = tmp_path / "tampered"
    shutil.copytree(ring_dir, tampered)
    blob = bytearray((tampered / "object.ring").read_bytes())
    blob[-40] ^= 0x01
    (tampered / "object.ring").write_bytes(bytes(blob))
    done = hosts.stratus(first, "ring", "push", "--ring-dir", str(tampered), check=False)
    assert done.returncode == 1 and "checksum mismatch" in done.stderr
    statuses = _send(hosts, bytes(blob))
    assert statuses == {"signed": [422] * 3, "unsigned": [401] * 3, "other key": [401] * 3}
    assert all(rings["object"] == 2 for rings in _versions(hosts).values())


SEND = """
import asyncio, json, sys
import aiohttp
from stratus import config
from objectstore.common import ringsign
cfg = config.load(sys.argv[1])
key = ringsign.push_key(cfg.cluster.hash_path_prefix, cfg.cluster.hash_path_suffix)
body = open(sys.argv[2], "rb").read()
async def main():
    out = {"signed": [], "unsigned": [], "other key": []}
    keys = {"signed": key, "unsigned": None, "other key": ringsign.push_key("x", "y")}
    async with aiohttp.ClientSession() as s:
        for address in sys.argv[3:]:
            for what, k in keys.items():
                h = ringsign.sign(k, "PUT", "/ring/object", body) if k else {}
                async with s.put(f"http://{address}:6200/ring/object", data=body, headers=h) as r:
                    out[what].append(r.status)
    print(json.dumps(out))
asyncio.run(main())
"""


def _send(c: HostCluster, blob: bytes) -> dict[str, list[int]]:
    """PUT ``blob`` as the object ring to every host from host 1: signed, unsigned, wrong key."""
    first = c.hosts[0]
    path = c.root / "tampered.ring"
    path.write_bytes(blob)
    out = c.exec_in(
        first.netns,
        [sys.executable, "-c", SEND, str(first.config), str(path), *(h.address for h in c.hosts)],
    )
    return json.loads(out)


def test_a_host_down_during_the_push_catches_up_from_its_ring_source(
    hosts: HostCluster,
) -> None:
    first, last = hosts.hosts[0], hosts.hosts[-1]
    last.node.kill9()
    # Its operator points it at host 1's node (cluster.ring_source) while it is down.
    text = last.config.read_text()
    last.config.write_text(
        text.replace(
            "[cluster]\n",
            f'[cluster]\nring_source = "{first.address}:6200"\nring_fetch_interval = 1.0\n',
            1,
        )
    )
    builder = str(first.root / "rings" / "account.builder")
    hosts.stratus(first, "ring", "set-weight", builder, "1", "50")
    hosts.stratus(first, "ring", "rebalance", builder)
    done = hosts.stratus(first, "ring", "push", "--json", check=False)
    assert done.returncode == 1
    report = json.loads(done.stdout)
    assert report["nodes"][f"{last.address}:6200"]["account"]["result"] == "unreachable"

    started = time.monotonic()
    hosts.start_node(last)
    while hosts.node_stats(last)["rings"]["account"] != 2:
        assert time.monotonic() - started < 20, "host 3 never fetched the account ring"
        time.sleep(0.2)
    caught_up = time.monotonic() - started
    print(json.dumps({"ring_fetch_after_restart_seconds": round(caught_up, 3)}))
    status = _status(hosts)
    assert status["stale_ring_nodes"] == 0 and status["nodes_up"] == 3
