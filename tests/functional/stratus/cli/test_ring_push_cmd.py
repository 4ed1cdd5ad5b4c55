"""`stratus ring push` and the ring columns of `stratus status`, against real nodes on loopback."""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
from pathlib import Path

from objectstore.common import ringsign
from ring import RingBuilder
from stratus.cli.main import main
from tests.functional.objectstore.node.conftest import start_node  # noqa: F401  (fixture)
from tests.helpers.net import free_port

NAMES = ("account", "container", "object")


async def _run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()

    def call() -> int:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            return main(list(argv))

    code = await asyncio.to_thread(call)
    return code, out.getvalue(), err.getvalue()


def _setup(tmp_path: Path, ports: list[int], salts: tuple[str, str] = ("pre", "suf")) -> Path:
    """The builder host: rings naming the nodes in <data>/rings, and its configuration."""
    ring_dir = tmp_path / "data" / "rings"
    ring_dir.mkdir(parents=True, mode=0o700)
    for name in NAMES:
        b = RingBuilder(4, len(ports), min_part_hours=0)
        for zone, port in enumerate(ports, start=1):
            b.add_device(region=1, zone=zone, ip="127.0.0.1", port=port, device="d0", weight=100)
        b.rebalance(seed=1)
        b.save(ring_dir / f"{name}.builder")
        b.write_ring(ring_dir / f"{name}.ring")
    cfg = tmp_path / f"stratus-{salts[0]}.toml"
    cfg.write_text(
        f'[data]\ndir = "{tmp_path / "data"}"\n'
        f'[cluster]\nhash_path_prefix = "{salts[0]}"\nhash_path_suffix = "{salts[1]}"\n'
    )
    return cfg


async def test_push_then_status_shows_every_node_current(
    start_node,  # noqa: F811
    tmp_path: Path,
) -> None:
    ports = [free_port(), free_port()]
    key = ringsign.push_key("pre", "suf")
    for i, port in enumerate(ports):
        ring_dir = str(tmp_path / f"host{i}" / "rings")
        await start_node(port=port, ring_dir=ring_dir, ip="127.0.0.1", workers=False, ring_key=key)
    cfg = _setup(tmp_path, ports)

    code, out, _ = await _run("--config", str(cfg), "status", "--json")
    status = json.loads(out)
    assert status["stale_ring_nodes"] == 2  # started without rings
    code, out, err = await _run("--config", str(cfg), "ring", "push")
    assert code == 0, out + err
    assert "installed v1" in out and "every node holds them" in out
    for i in range(2):
        assert (tmp_path / f"host{i}" / "rings" / "object.ring").read_bytes() == (
            tmp_path / "data" / "rings" / "object.ring"
        ).read_bytes()

    builder = str(tmp_path / "data" / "rings" / "container.builder")
    assert (await _run("ring", "set-weight", builder, "1", "50"))[0] == 0
    assert (await _run("ring", "rebalance", builder))[0] == 0
    code, out, _ = await _run("--config", str(cfg), "status")
    assert "nodes with stale rings 2" in out and "STALE(container)" in out
    code, out, _ = await _run("--config", str(cfg), "ring", "push", "--json")
    report = json.loads(out)
    assert code == 0 and report["ok"] and report["versions"]["container"] == 2
    for per_node in report["nodes"].values():
        assert per_node["container"]["result"] == "installed"
        assert per_node["object"]["result"] == "current"
    code, out, _ = await _run("--config", str(cfg), "status", "--json")
    status = json.loads(out)
    assert status["stale_ring_nodes"] == 0
    for node in status["nodes"].values():
        assert node["rings"] == {"account": 1, "container": 2, "object": 1}
        assert node["stale_rings"] == []


async def test_a_push_with_other_salts_is_refused_by_every_node(
    start_node,  # noqa: F811
    tmp_path: Path,
) -> None:
    port = free_port()
    ring_dir = tmp_path / "node" / "rings"
    key = ringsign.push_key("pre", "suf")
    await start_node(port=port, ring_dir=str(ring_dir), ip="127.0.0.1", workers=False, ring_key=key)
    cfg = _setup(tmp_path, [port], salts=("not", "ours"))
    code, out, _ = await _run("--config", str(cfg), "ring", "push", "--json")
    assert code == 1
    (answers,) = json.loads(out)["nodes"].values()
    assert {a["status"] for a in answers.values()} == {401}
    assert not ring_dir.exists()


async def test_a_corrupt_local_ring_is_never_sent(tmp_path: Path) -> None:
    cfg = _setup(tmp_path, [free_port()])
    ring = tmp_path / "data" / "rings" / "object.ring"
    blob = bytearray(ring.read_bytes())
    blob[-20] ^= 1
    ring.write_bytes(bytes(blob))
    code, _out, err = await _run("--config", str(cfg), "ring", "push")
    assert code == 1 and "checksum mismatch" in err
