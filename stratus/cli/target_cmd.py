"""`stratus target`: serve a file over iSCSI with the built-in target, in the foreground."""

from __future__ import annotations

import argparse
import asyncio
import os
import re
from pathlib import Path

from stratus import config, runner
from stratus.cli.main import CommandError
from stratus.logs import setup_logging


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("target", help="the built-in iSCSI target on its own")
    tsub = p.add_subparsers(dest="target_command", metavar="ACTION", required=True)
    exp = tsub.add_parser(
        "export", help="serve FILE as LUN 0 until Ctrl-C or SIGTERM (prints the iscsi:// URL)"
    )
    exp.add_argument("file", metavar="FILE", help="backing file (its size is the LUN's size)")
    exp.add_argument("--iqn", help="target name (default: <iscsi.iqn_prefix>:<file name>)")
    exp.add_argument(
        "--portal",
        action="append",
        metavar="HOST:PORT",
        help="listen address (repeatable, one portal group: multipath; "
        "default: iscsi.host:iscsi.port)",
    )
    exp.add_argument("--chap", metavar="USER:SECRET", help="require one-way CHAP")
    exp.add_argument(
        "--mutual-chap", metavar="USER:SECRET", help="also authenticate the target (mutual CHAP)"
    )
    exp.add_argument(
        "--initiator",
        action="append",
        metavar="IQN",
        help="allow only these initiators (repeatable; default: any initiator)",
    )
    exp.add_argument("--read-only", action="store_true", help="refuse writes")
    exp.add_argument(
        "--no-write-cache",
        action="store_true",
        help="advertise no volatile write cache (WCE=0): every write is durable before GOOD",
    )
    exp.add_argument("--block-size", type=int, default=512, help="logical block size (bytes)")
    exp.set_defaults(func=_export)
    compat = tsub.add_parser("compat", help="print docs/iscsi.md (what the target implements)")
    compat.set_defaults(func=_compat)


def _compat(args: argparse.Namespace) -> int:
    from blockstore.iscsi.compat import render

    print(render(), end="")
    return 0


def parse_portal(text: str) -> tuple[str, int]:
    """``HOST:PORT`` or ``[V6]:PORT``."""
    try:
        return config.parse_hostport(text)
    except config.ConfigError as exc:
        raise CommandError(f"--portal: {exc}") from None


def parse_userpass(text: str | None, what: str) -> tuple[str, str] | tuple[None, None]:
    if text is None:
        return None, None
    user, sep, secret = text.partition(":")
    if not sep or not user or not secret:
        raise CommandError(f"{what} must be USER:SECRET")
    return user, secret


def default_iqn(prefix: str, path: Path) -> str:
    stem = re.sub(r"[^a-z0-9.\-]", "-", path.name.lower()).strip("-.") or "lun"
    return f"{prefix}:{stem}"


def _export(args: argparse.Namespace) -> int:
    cfg = config.load(args.config)
    path = Path(args.file)
    if not path.is_file():
        raise CommandError(f"{path} is not a file")
    portals = [parse_portal(p) for p in args.portal or ()] or [(cfg.iscsi.host, cfg.iscsi.port)]
    user, secret = parse_userpass(args.chap, "--chap")
    muser, msecret = parse_userpass(args.mutual_chap, "--mutual-chap")
    if muser is not None and user is None:
        raise CommandError("--mutual-chap needs --chap")
    iqn = args.iqn or default_iqn(cfg.iscsi.iqn_prefix, path)
    setup_logging()
    chap = (user, secret, muser, msecret)
    try:
        runner.run(lambda stop: _serve(args, path, iqn, portals, chap, stop))
    except ValueError as exc:
        raise CommandError(str(exc)) from None
    except OSError as exc:
        where = ", ".join(f"{h}:{p}" for h, p in portals)
        raise CommandError(f"cannot serve {path} on {where}: {exc}") from None
    return 0


async def _serve(
    args: argparse.Namespace,
    path: Path,
    iqn: str,
    portals: list[tuple[str, int]],
    chap: tuple[str | None, str | None, str | None, str | None],
    stop: asyncio.Event,
) -> None:
    from blockstore.iscsi import TargetServer
    from blockstore.scsi import LogicalUnit

    unit = LogicalUnit(path, read_only=args.read_only, block_size=args.block_size)
    unit.mode.set_write_cache(not args.no_write_cache)
    await unit.open()
    server = TargetServer(*portals[0])
    try:
        for host, port in portals[1:]:
            await server.add_portal(host, port)
        target = server.add_target(iqn)
        target.add_lun(0, unit)
        user, secret, muser, msecret = chap
        if args.initiator:
            for name in args.initiator:
                target.set_acl(name, user, secret, muser, msecret)
        else:
            target.allow_any_initiator = True
            target.set_default_chap(user, secret, muser, msecret)
        await server.start()
        auth = f" (CHAP user {user})" if user else ""
        print(f"stratus: serving {os.path.abspath(path)} ({unit.size} bytes) as LUN 0{auth}")
        for host, port in server.portals:
            shown = f"[{host}]" if ":" in host else host
            print(f"iscsi://{shown}:{port}/{target.iqn}/0", flush=True)
        await stop.wait()
        print("stratus: stopping", flush=True)
    finally:
        await server.stop()
        await unit.close()
