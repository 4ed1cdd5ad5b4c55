"""Run one storage node process: ``python -m objectstore.node``.

Two ways to say what to serve (flags win over the file):

    python -m objectstore.node --config stratus.toml --node N
        node N of `stratus up`'s layout: listens on storage.host at
        storage.base_port + N, serves devices d0..d<devices_per_node-1>
        under <data>/nodes/node<N>/, salts from [cluster], inline threshold
        and fsync from [storage].

    python -m objectstore.node --ip 127.0.0.1 --port 6200 \\
        --devices-dir /srv/node --device d0 --device d1 \\
        --hash-prefix P --hash-suffix S [--ring-dir DIR]

Other flags: ``--inline-threshold BYTES``, ``--no-fsync`` (development
only: acknowledged writes may be lost on power failure), ``--mount-check``
(a missing device directory answers 507 instead of being created),
``--reserve BYTES`` (507 for writes that would leave less free space),
``--no-workers`` (no background passes), ``--access-log``, ``--log-level``.

``PUT /ring/<name>`` installs a ring pushed by `stratus ring push`, signed
with a key derived from the hash salts (unsalted nodes refuse every push);
with ``cluster.ring_source`` the node also fetches newer rings from that node
every ``cluster.ring_fetch_interval`` seconds (``GET /ring/<name>``).

With rings (``--ring-dir``, or ``<data>/rings`` from the configuration) the
node runs its background workers: object, container and account
replicators, the auditor and the expirer, paced and timed by the
``[durability]`` section; ``stratus node replicate`` (``POST /replicate``)
runs a replication pass at once.

SIGTERM or SIGINT stops accepting connections, lets in-flight requests
finish (their group commits included), then exits 0.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import logging
import sys
from collections.abc import Sequence
from typing import Any

from objectstore.common.ringsign import push_key
from objectstore.node.device import DeviceConfig, make_hasher
from objectstore.node.server import NodeSettings, make_app
from stratus import private, runner
from stratus.http import server as httpserver
from stratus.logs import setup_logging

log = logging.getLogger("objectstore.node")
ACCESS_LOG_FORMAT = '%a "%r" %s %b %Tf trans=%{X-Trans-Id}i'


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m objectstore.node", description=(__doc__ or "").split("\n")[0]
    )
    p.add_argument("--config", metavar="FILE", help="Stratus TOML configuration")
    p.add_argument("--node", type=int, metavar="N", help="node index in the configuration's layout")
    p.add_argument("--ip", help="address to listen on")
    p.add_argument("--port", type=int, help="port to listen on")
    p.add_argument("--devices-dir", help="directory holding one subdirectory per device")
    p.add_argument("--device", action="append", default=[], help="a device name (repeatable)")
    p.add_argument("--ring-dir", help="directory of the rings (for the background replicator)")
    p.add_argument("--hash-prefix", help="cluster placement salt (prefix)")
    p.add_argument("--hash-suffix", help="cluster placement salt (suffix)")
    p.add_argument("--inline-threshold", type=int, help="bodies up to this size live in LMDB")
    p.add_argument("--no-fsync", action="store_true", help="do not fsync (development only)")
    p.add_argument("--mount-check", action="store_true", help="507 for missing device directories")
    p.add_argument(
        "--reserve", type=int, help="bytes to keep free on each device (storage.reserve_bytes)"
    )
    p.add_argument(
        "--no-workers",
        action="store_true",
        help="no background replicators, auditor or expirer (passes only on POST /replicate)",
    )
    p.add_argument("--access-log", action="store_true", help="log every request")
    p.add_argument("--log-level", default="INFO")
    return p


def settings_from_args(args: argparse.Namespace) -> tuple[str, int, NodeSettings]:
    """(ip, port, settings) from flags, completed by the configuration file."""
    ip, port, devices_dir = args.ip, args.port, args.devices_dir
    devices = list(args.device)
    prefix, suffix = args.hash_prefix, args.hash_suffix
    threshold, fsync = args.inline_threshold, not args.no_fsync
    ring_dir = args.ring_dir
    reserve = args.reserve
    background: dict[str, Any] = {}
    fetch: dict[str, Any] = {}
    if args.config:
        from stratus import config as stratus_config

        if args.node is None:
            raise SystemExit("--config needs --node N")
        cfg = stratus_config.load(args.config)
        ip = ip or cfg.storage.host
        port = port if port is not None else cfg.storage.base_port + args.node
        devices_dir = devices_dir or str(cfg.data_dir / "nodes" / f"node{args.node}")
        devices = devices or [f"d{j}" for j in range(cfg.storage.devices_per_node)]
        prefix = prefix if prefix is not None else cfg.cluster.hash_path_prefix
        suffix = suffix if suffix is not None else cfg.cluster.hash_path_suffix
        threshold = threshold if threshold is not None else cfg.storage.inline_threshold
        fsync = fsync and cfg.storage.fsync
        ring_dir = ring_dir or str(cfg.data_dir / "rings")
        reserve = reserve if reserve is not None else cfg.storage.reserve_bytes
        background = dataclasses.asdict(cfg.durability)
        fetch = {
            "ring_source": cfg.cluster.ring_source_address(),
            "ring_fetch_interval": cfg.cluster.ring_fetch_interval,
        }
    missing = [
        n for n, v in (("--ip", ip), ("--port", port), ("--devices-dir", devices_dir)) if v is None
    ]
    if missing or not devices:
        raise SystemExit(f"missing {', '.join(missing) or '--device'} (or --config/--node)")
    if not prefix and not suffix:
        log.warning("no hash prefix/suffix: placement is unsalted (development only)")
    settings = NodeSettings(
        devices_dir=devices_dir,
        devices=devices,
        hasher=make_hasher(prefix or "", suffix or ""),
        device=DeviceConfig(
            inline_threshold=threshold if threshold is not None else 65536,
            fsync=fsync,
            reserve_bytes=reserve or 0,
        ),
        mount_check=args.mount_check,
        ring_dir=ring_dir,
        ip=ip,
        port=port,
        workers=not args.no_workers,
        ring_key=push_key(prefix or "", suffix or ""),
        **background,
        **fetch,
    )
    return ip, port, settings


def limits_from_args(args: argparse.Namespace) -> httpserver.ServerLimits:
    """The ``[http]`` limits of ``--config``, else the defaults."""
    if not args.config:
        return httpserver.ServerLimits()
    from stratus import config as stratus_config

    return httpserver.ServerLimits.from_config(stratus_config.load(args.config))


async def serve(
    ip: str,
    port: int,
    settings: NodeSettings,
    stop: asyncio.Event,
    *,
    access_log: bool,
    limits: httpserver.ServerLimits | None = None,
) -> None:
    """Serve until ``stop`` is set (SIGTERM/SIGINT), then drain and close."""
    async with httpserver.serving(
        make_app(settings),
        httpserver.listen(ip, port, backlog=1024),
        limits,
        access_log=log if access_log else None,
        access_log_format=ACCESS_LOG_FORMAT,
        shutdown_timeout=30.0,
        read_bufsize=1024 * 1024,  # large PUT bodies: fewer, larger socket reads per hand-off
    ):
        log.info("node listening on %s:%d, devices %s", ip, port, ", ".join(settings.devices))
        await stop.wait()
        log.info("stopping: draining in-flight requests and commits")
    log.info("stopped")


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    setup_logging(args.log_level)
    ip, port, settings = settings_from_args(args)
    try:  # umask 077; the node's files are its user's alone
        private.service_start(settings.devices_dir)
    except private.ExposedData as exc:
        print(f"node: error: {exc}", file=sys.stderr, flush=True)
        return 1
    limits = limits_from_args(args)
    runner.run(
        lambda stop: serve(ip, port, settings, stop, access_log=args.access_log, limits=limits)
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
