"""`stratus sse-keys`: the cluster's SSE-S3 keys (list their ids, rotate).

    stratus sse-keys list [--json]   key ids and which one is active (never a key)
    stratus sse-keys rotate          add a new key and make it active

Rotation is safe while the cloud runs: proxies reread the file when it
changes; objects written before keep naming the key that wrapped their data
key, which stays in the file. Copy the file to every proxy machine after a
rotation (see docs/security.md).
"""

from __future__ import annotations

import argparse

from s3compat import sse_keys
from stratus import config
from stratus.cli.output import add_json_flag, emit_json


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("sse-keys", help="the cluster's SSE-S3 encryption keys: list, rotate")
    act = p.add_subparsers(dest="sse_keys_command", metavar="ACTION", required=True)
    ls = act.add_parser("list", help="key ids and the active one (never the keys)")
    add_json_flag(ls)
    ls.set_defaults(func=_list)
    rotate = act.add_parser("rotate", help="add a new key for new writes; old keys stay")
    rotate.set_defaults(func=_rotate)


def _ring(args: argparse.Namespace) -> sse_keys.KeyRing:
    return sse_keys.KeyRing(sse_keys.path_for(config.load(args.config)))


def _list(args: argparse.Namespace) -> int:
    ring = _ring(args)
    active, ids = ring.describe()
    if args.json:
        emit_json({"file": str(ring.path), "active": active, "keys": ids})
        return 0
    if active is None:
        print(f"no key file yet ({ring.path}): the first SSE-S3 write makes one")
        return 0
    print(f"{ring.path}")
    for kid in ids:
        print(f"{kid}{'  (active)' if kid == active else ''}")
    return 0


def _rotate(args: argparse.Namespace) -> int:
    ring = _ring(args)
    new_id = ring.rotate()
    print(f"key {new_id} is now active in {ring.path}; older keys stay for reading")
    return 0
