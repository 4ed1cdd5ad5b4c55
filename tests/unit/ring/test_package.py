"""The public surface of `ring`, and its promise to import only the stdlib and xxhash."""

from __future__ import annotations

import inspect
import json
import subprocess
import sys
from pathlib import Path

import ring


def test_public_names() -> None:
    for name in ("Ring", "RingBuilder", "Device", "RingFileError", "hash_path"):
        assert hasattr(ring, name)
    assert "build_cluster_rings" in ring.__all__
    params = inspect.signature(ring.RingBuilder).parameters
    assert list(params)[:4] == ["part_power", "replicas", "min_part_hours", "overload"]
    params = inspect.signature(ring.Ring).parameters
    assert {"hash_path_prefix", "hash_path_suffix", "reload_interval"} <= set(params)
    assert [f for f in ring.Device.__dataclass_fields__] == [
        "id",
        "region",
        "zone",
        "ip",
        "port",
        "device",
        "weight",
        "meta",
    ]


def test_importing_ring_loads_nothing_but_stdlib_and_xxhash() -> None:
    script = (
        "import json, sys\n"
        "before = set(sys.modules)\n"
        "import ring\n"
        "print(json.dumps(sorted(set(sys.modules) - before)))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
        cwd=Path(__file__).resolve().parents[3],
    )
    loaded = {name.split(".")[0] for name in json.loads(out.stdout)}
    foreign = {m for m in loaded - {"ring", "xxhash"} if m not in sys.stdlib_module_names}
    assert not foreign, foreign
