"""`stratus node` and `stratus proxy`: one service of a multi-node cluster, from a config.

`stratus up` runs every service of one machine; a cluster of several
machines runs these instead, each machine with its own configuration
(``storage.host`` = its own address) and the same rings and hash salts:

    stratus node --config FILE [--node N]   storage node N of this machine
    stratus proxy --config FILE             the Swift API and /auth/v1.0

Both read the rings from ``<data>/rings`` and the salts from ``[cluster]``
or ``<data>/cluster.toml``; neither creates them (see README, "A cluster of
several machines"). A node may start before its host has rings: it serves
requests and waits for `stratus ring push` to give it them.
"""

from __future__ import annotations

import argparse
import dataclasses

from stratus import config, private, runner
from stratus.cli import cluster
from stratus.logs import setup_logging


def register(sub: argparse._SubParsersAction) -> None:
    node = sub.add_parser("node", help="run one storage node (multi-node clusters)")
    _config_flag(node)
    node.add_argument(
        "--node",
        type=int,
        default=0,
        metavar="N",
        help="which node of this machine: listens on storage.host:storage.base_port+N, "
        "devices under <data>/nodes/node<N>/ (default 0)",
    )
    node.set_defaults(func=_node)
    from stratus.cli.status_cmd import add_node_actions

    add_node_actions(node)  # `stratus node replicate --once` (durability)
    proxy = sub.add_parser("proxy", help="run the proxy: Swift API and /auth/v1.0")
    _config_flag(proxy)
    proxy.set_defaults(func=_proxy)


def _config_flag(parser: argparse.ArgumentParser) -> None:
    # Also accepted after the subcommand; SUPPRESS keeps a global --config when absent here.
    parser.add_argument(
        "--config", metavar="FILE", default=argparse.SUPPRESS, help="TOML configuration file"
    )


def _load(args: argparse.Namespace, *, need_rings: bool = True) -> config.Config:
    cfg = config.load(args.config)
    cfg.data.dir = str(cfg.data_dir.resolve())
    cluster.ensure_cluster_secrets(cfg, create=False)
    if need_rings and not cluster.rings_present(cluster.ring_dir(cfg)):
        raise config.ConfigError(
            f"no rings in {cluster.ring_dir(cfg)}: build them once and `stratus ring push` them"
        )
    return cfg


def _node(args: argparse.Namespace) -> int:
    cfg = _load(args, need_rings=False)  # `stratus ring push` brings them
    private.service_start(cfg.data_dir)
    if not 0 <= args.node < 1000:
        raise config.ConfigError("--node must be between 0 and 999")
    cluster.ensure_node_dirs(cfg, args.node)
    # The node's own entry point, in this process, handed the resolved configuration
    # (salts included) the same way `stratus up` hands it to its node children.
    from objectstore.node.__main__ import main as node_main

    run_config = cfg.data_dir / "run" / f"node{args.node}.toml"
    cluster.write_private(run_config, cluster.to_toml(dataclasses.asdict(cfg)))
    return node_main(["--config", str(run_config), "--node", str(args.node)])


def _proxy(args: argparse.Namespace) -> int:
    from stratus.cli.proxy_service import serve_proxy

    cfg = _load(args)
    private.service_start(cfg.data_dir)
    setup_logging()
    runner.run(lambda stop: serve_proxy(cfg, stop))
    return 0
