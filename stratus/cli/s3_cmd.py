"""`stratus s3`: maintenance of the S3 layer.

    stratus s3 lifecycle run [--json]   apply every bucket's lifecycle rules now

The pass talks to the storage nodes directly (rings from the data
directory), as the proxy's background pass does every
``s3.lifecycle_interval`` seconds; it may run while the cloud serves.
"""

from __future__ import annotations

import argparse
import asyncio

from s3compat import lifecycle_run
from stratus import config
from stratus.cli import cluster
from stratus.cli.output import add_json_flag, emit_json


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("s3", help="S3 layer maintenance: run a lifecycle pass")
    act = p.add_subparsers(dest="s3_command", metavar="ACTION", required=True)
    lc = act.add_parser("lifecycle", help="bucket lifecycle rules")
    lc_act = lc.add_subparsers(dest="lifecycle_command", metavar="ACTION", required=True)
    run = lc_act.add_parser("run", help="apply every bucket's lifecycle rules now (one pass)")
    add_json_flag(run)
    run.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    cfg = config.load(args.config)
    cluster.ensure_cluster_secrets(cfg, create=False)  # the placement salts of the running cloud
    result = asyncio.run(lifecycle_run.run_pass_from_config(cfg))
    if args.json:
        emit_json(result.as_dict())
    else:
        print(
            f"lifecycle pass: {result.buckets} bucket(s); expired {result.expired}, "
            f"noncurrent removed {result.noncurrent}, delete markers removed {result.markers}, "
            f"uploads aborted {result.aborted}, locked versions kept {result.locked}"
        )
        for line in result.errors:
            print(f"error: {line}")
    return 1 if result.errors else 0
