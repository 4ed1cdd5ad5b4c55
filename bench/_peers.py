"""Where the peers (OpenStack Swift, tgtd) live, and Swift started and stopped for one benchmark.

The peers' scripts are in bench/peers (``STRATUS_PEERS`` may point elsewhere); what they
install goes outside the repository, under ``STRATUS_BENCH_CACHE`` (default
``${XDG_CACHE_HOME:-~/.cache}/stratus-bench``).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parent
PEERS = Path(os.environ.get("STRATUS_PEERS", BENCH / "peers"))
CACHE = Path(
    os.environ.get(
        "STRATUS_BENCH_CACHE",
        Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "stratus-bench",
    )
)
SWIFT_SH = PEERS / "swift.sh"
TGT_SH = PEERS / "tgt.sh"
SWIFT_VENV = Path(os.environ.get("SWIFT_VENV", CACHE / "swift-venv"))
SWIFT_PYTHON = SWIFT_VENV / "bin" / "python"


def key_values(text: str) -> dict[str, str]:
    """The KEY=VALUE lines of a peer script's output."""
    return dict(
        line.split("=", 1) for line in text.splitlines() if "=" in line and line[:1].isupper()
    )


class SwiftPeer:
    """``peers/swift.sh start`` ... ``stop`` as a context manager; ``info`` holds swift.env."""

    def __init__(self, *, nodes: int = 3, replicas: int = 3, daemons: bool = True) -> None:
        self.env = {
            **os.environ,
            "STRATUS_BENCH_CACHE": str(CACHE),
            "SWIFT_VENV": str(SWIFT_VENV),
            "NODES": str(nodes),
            "REPLICAS": str(replicas),
            "DAEMONS": "1" if daemons else "0",
        }
        self.info: dict[str, str] = {}

    def __enter__(self) -> SwiftPeer:
        done = subprocess.run(
            ["bash", str(SWIFT_SH), "start"],
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=sys.stderr,
            text=True,
            timeout=1800,
        )
        if done.returncode != 0:
            raise RuntimeError(f"{SWIFT_SH} start failed ({done.returncode})")
        self.info = key_values(done.stdout)
        return self

    def __exit__(self, *exc: object) -> None:
        subprocess.run(
            ["bash", str(SWIFT_SH), "stop"], env=self.env, stdout=sys.stderr, timeout=120
        )

    @property
    def pidfile(self) -> str:
        return self.info["SWIFT_PIDFILE"]
