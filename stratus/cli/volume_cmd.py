"""`stratus volume`: the volume service's API from the command line (and `volume serve`).

Every action talks to the volume API (``--url``, default
``http://volume.host:volume.port``) with a token from the object store's
``/auth/v1.0``: ``--user PROJECT:USER`` and ``--key`` (or ``$ST_USER`` /
``$ST_KEY``, as the swift CLI); the default user is ``admin:admin``, whose
key `stratus up` keeps in ``<data>/identity/admin.key``. ``--json`` prints
the API's own JSON objects; ``attach`` prints the os-brick connection info
an initiator needs. Backup and restore show a progress bar until done.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import uvloop
from rich.console import Console
from rich.progress import BarColumn, TaskProgressColumn, TextColumn, TimeElapsedColumn
from rich.progress import Progress as RichProgress

from stratus import config
from stratus.cli.main import CommandError
from stratus.cli.output import add_json_flag, emit_json, table

Handler = Callable[[argparse.Namespace, Any], Awaitable[int]]


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("volume", help="volumes, snapshots, attachments and backups")
    act = p.add_subparsers(dest="volume_command", metavar="ACTION", required=True)
    serve = act.add_parser("serve", help="run the volume service and its iSCSI target")
    serve.add_argument("--config", metavar="FILE", default=argparse.SUPPRESS)
    serve.set_defaults(func=_serve)

    create = _action(act, "create", "create a volume (size in GiB)", _create)
    create.add_argument("size", type=int, nargs="?", help="GiB (default: the source's size)")
    create.add_argument("--name")
    create.add_argument("--description")
    create.add_argument("--type", dest="volume_type", help="volume type name or id")
    source = create.add_mutually_exclusive_group()
    source.add_argument("--snapshot", help="create from this snapshot")
    source.add_argument("--source", help="clone this volume")
    source.add_argument("--image", metavar="CONTAINER/OBJECT", help="raw or qcow2 image object")
    source.add_argument("--backup", help="restore this backup into the new volume")
    create.add_argument("--multiattach", action="store_true", default=None)
    create.add_argument("--no-wait", action="store_true", help="do not wait for 'available'")

    _action(act, "list", "list volumes", _list).add_argument("--status")
    _action(act, "show", "show a volume", _show).add_argument("volume")
    delete = _action(act, "delete", "delete a volume", _delete)
    delete.add_argument("volume")
    delete.add_argument("--cascade", action="store_true", help="delete its snapshots too")
    extend = _action(act, "extend", "grow a volume (also while attached)", _extend)
    extend.add_argument("volume")
    extend.add_argument("size", type=int, help="new size in GiB")

    snap = _action(act, "snapshot", "snapshot a volume", _snapshot)
    snap.add_argument("volume")
    snap.add_argument("--name")
    snap.add_argument("--force", action="store_true", help="allow an in-use volume")
    _action(act, "snapshots", "list snapshots", _snapshots)
    _action(act, "snapshot-delete", "delete a snapshot", _snapshot_delete).add_argument("snapshot")

    backup = _action(act, "backup", "back a volume up into the object store", _backup)
    backup.add_argument("volume")
    backup.add_argument("--name")
    backup.add_argument("--incremental", action="store_true")
    backup.add_argument("--force", action="store_true", help="allow an in-use volume")
    backup.add_argument("--no-wait", action="store_true")
    restore = _action(act, "restore", "restore a backup (into a new volume by default)", _restore)
    restore.add_argument("backup")
    restore.add_argument("--volume", help="overwrite this existing (available) volume")
    restore.add_argument("--name", help="name of the new volume")
    restore.add_argument("--no-wait", action="store_true")
    _action(act, "backups", "list backups", _backups)
    _action(act, "backup-delete", "delete a backup", _backup_delete).add_argument("backup")
    _action(act, "backup-verify", "re-read and check every chunk", _backup_verify).add_argument(
        "backup"
    )

    attach = _action(act, "attach", "let an initiator in; print its connection info", _attach)
    attach.add_argument("volume")
    attach.add_argument("--initiator", required=True, metavar="IQN", help="the initiator's name")
    attach.add_argument("--mode", choices=("rw", "ro"), default="rw")
    attach.add_argument("--instance", help="what the attachment is for (free text)")
    detach = _action(act, "detach", "end an attachment", _detach)
    detach.add_argument("volume")
    detach.add_argument("--attachment", help="which attachment (default: the only one)")
    detach.add_argument("--initiator", metavar="IQN", help="the attachment of this initiator")


def _action(act: Any, name: str, text: str, handler: Handler) -> argparse.ArgumentParser:
    p = act.add_parser(name, help=text)
    p.add_argument("--config", metavar="FILE", default=argparse.SUPPRESS)
    p.add_argument("--url", help="volume API (default: http://volume.host:volume.port)")
    p.add_argument("--auth-url", help="auth endpoint (default: the proxy's /auth/v1.0)")
    p.add_argument("--user", help="PROJECT:USER (default: $ST_USER or admin:admin)")
    p.add_argument("--key", help="the user's key (default: $ST_KEY, or admin.key for admin)")
    add_json_flag(p)
    p.set_defaults(func=lambda args: _run(args, handler))
    return p


# -- plumbing ---------------------------------------------------------------------------


def _host(host: str) -> str:
    host = {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}.get(host, host)
    return f"[{host}]" if ":" in host else host


def _credentials(args: argparse.Namespace, cfg: config.Config) -> tuple[str, str]:
    user = args.user or os.environ.get("ST_USER") or "admin:admin"
    key = args.key or os.environ.get("ST_KEY")
    if key is None and user == "admin:admin":
        path = Path(cfg.data.dir) / "identity" / "admin.key"
        if path.exists():
            key = path.read_text().strip()
    if not key:
        raise CommandError(f"no key for {user}: give --key or set ST_KEY")
    return user, key


def _run(args: argparse.Namespace, handler: Handler) -> int:
    from blockstore.client import VolumeApiError, VolumeClient, VolumeStateError

    cfg = config.load(args.config)
    url = args.url or f"http://{_host(cfg.volume.host)}:{cfg.volume.port}"
    auth = args.auth_url or f"http://{_host(cfg.proxy.host)}:{cfg.proxy.port}/auth/v1.0"
    user, key = _credentials(args, cfg)

    async def main() -> int:
        client = await VolumeClient.login(url, auth, user, key)
        async with client:
            return await handler(args, client)

    try:
        return uvloop.run(main())
    except VolumeApiError as exc:
        raise CommandError(exc.message or str(exc)) from None
    except (VolumeStateError, TimeoutError) as exc:
        raise CommandError(str(exc)) from None
    except OSError as exc:
        raise CommandError(f"cannot reach the volume service at {url}: {exc}") from None


def _volume_rows(vols: list[dict[str, Any]]) -> str:
    rows = [
        (
            v["id"],
            v.get("name") or "",
            v["status"],
            v["size"],
            v.get("volume_type") or "",
            ",".join(a["server_id"] or a["attachment_id"] for a in v.get("attachments", [])),
        )
        for v in vols
    ]
    return table(("ID", "NAME", "STATUS", "SIZE", "TYPE", "ATTACHED TO"), rows)


def _print(args: argparse.Namespace, value: Any, text: str | None = None) -> int:
    if args.json:
        emit_json(value)
    elif text is not None:
        print(text)
    elif isinstance(value, dict):
        print(table(("FIELD", "VALUE"), sorted((k, _short(v)) for k, v in value.items())))
    return 0


def _short(value: Any) -> str:
    text = str(value)
    return text if len(text) <= 80 else text[:77] + "..."


class Progress:
    """Backup / restore progress on stderr: a rich bar on a terminal, a line per 10% in a log."""

    def __init__(self, label: str, quiet: bool) -> None:
        self.label = label
        self.quiet = quiet
        self.shown = -1
        self.console = Console(stderr=True)
        self.bar: RichProgress | None = None
        if not quiet and self.console.is_terminal:
            self.bar = RichProgress(
                TextColumn("{task.description}"),
                BarColumn(),
                TaskProgressColumn(),
                TextColumn("{task.fields[status]}"),
                TimeElapsedColumn(),
                console=self.console,
            )
            self.task = self.bar.add_task(label, total=100.0, status="")
            self.bar.start()

    def __call__(self, item: dict[str, Any]) -> None:
        if self.quiet:
            return
        pct = float(item.get("progress") or 0)
        if item.get("status") == "available":
            pct = 100.0
        if self.bar is not None:
            self.bar.update(self.task, completed=pct, status=str(item.get("status", "")))
        elif int(pct // 10) > self.shown:
            self.shown = int(pct // 10)
            print(f"{self.label}: {pct:.0f}%", file=sys.stderr, flush=True)

    def done(self) -> None:
        if self.bar is not None:
            self.bar.stop()


# -- handlers ---------------------------------------------------------------------------


async def _create(args: argparse.Namespace, c: Any) -> int:
    vol = await c.create_volume(
        args.size,
        name=args.name,
        description=args.description,
        volume_type=args.volume_type,
        snapshot_id=args.snapshot,
        source_volid=args.source,
        imageRef=args.image,
        backup_id=args.backup,
        multiattach=args.multiattach,
    )
    if not args.no_wait:
        vol = await c.wait_volume(vol["id"])
    return _print(args, vol, None if args.json else _volume_rows([vol]))


async def _list(args: argparse.Namespace, c: Any) -> int:
    vols = await c.list_volumes(status=args.status)
    return _print(args, vols, _volume_rows(vols))


async def _show(args: argparse.Namespace, c: Any) -> int:
    return _print(args, await c.get_volume(args.volume))


async def _delete(args: argparse.Namespace, c: Any) -> int:
    await c.delete_volume(args.volume, cascade=args.cascade)
    await c.wait_volume_gone(args.volume)
    return _print(args, {"deleted": args.volume}, f"deleted {args.volume}")


async def _extend(args: argparse.Namespace, c: Any) -> int:
    await c.extend_volume(args.volume, args.size)
    vol = await c.wait_volume(args.volume, ("available", "in-use"))
    return _print(args, vol, None if args.json else _volume_rows([vol]))


async def _snapshot(args: argparse.Namespace, c: Any) -> int:
    snap = await c.create_snapshot(args.volume, force=args.force, name=args.name)
    snap = await c.wait_snapshot(snap["id"])
    return _print(args, snap)


async def _snapshots(args: argparse.Namespace, c: Any) -> int:
    snaps = await c.list_snapshots()
    rows = [(s["id"], s["name"], s["status"], s["size"], s["volume_id"]) for s in snaps]
    return _print(args, snaps, table(("ID", "NAME", "STATUS", "SIZE", "VOLUME"), rows))


async def _snapshot_delete(args: argparse.Namespace, c: Any) -> int:
    await c.delete_snapshot(args.snapshot)
    return _print(args, {"deleted": args.snapshot}, f"deleting {args.snapshot}")


async def _backup(args: argparse.Namespace, c: Any) -> int:
    bk = await c.create_backup(
        args.volume, incremental=args.incremental, force=args.force, name=args.name
    )
    if not args.no_wait:
        bar = Progress("backup", args.json)
        try:
            bk = await c.wait_backup(bk["id"], on_poll=bar)
        finally:
            bar.done()
    else:
        bk = await c.get_backup(bk["id"])
    return _print(args, bk)


async def _restore(args: argparse.Namespace, c: Any) -> int:
    got = await c.restore_backup(args.backup, volume_id=args.volume, name=args.name)
    if not args.no_wait:
        bar = Progress("restore", args.json)
        try:
            await c.wait_backup(args.backup, on_poll=bar)
        finally:
            bar.done()
        vol = await c.wait_volume(got["volume_id"])
        got["status"] = vol["status"]
    return _print(args, got)


async def _backups(args: argparse.Namespace, c: Any) -> int:
    bks = await c.list_backups()
    rows = [
        (
            b["id"],
            b["name"],
            b["status"],
            b["size"],
            b["volume_id"],
            "yes" if b["is_incremental"] else "no",
            b["object_count"],
        )
        for b in bks
    ]
    head = ("ID", "NAME", "STATUS", "SIZE", "VOLUME", "INCREMENTAL", "OBJECTS")
    return _print(args, bks, table(head, rows))


async def _backup_delete(args: argparse.Namespace, c: Any) -> int:
    await c.delete_backup(args.backup)
    return _print(args, {"deleted": args.backup}, f"deleting {args.backup}")


async def _backup_verify(args: argparse.Namespace, c: Any) -> int:
    await c.verify_backup(args.backup)
    bk = await c.wait_backup(args.backup)
    result = bk.get("verify_result") or {}
    _print(args, result)
    return 0 if result.get("ok") else 1


async def _attach(args: argparse.Namespace, c: Any) -> int:
    att = await c.attach(args.volume, args.initiator, instance_uuid=args.instance, mode=args.mode)
    info = att["connection_info"]
    if args.json:
        emit_json(info)
        return 0
    d = info["data"]
    print(f"attachment   {att['id']}")
    for key in (
        "target_portal",
        "target_iqn",
        "target_lun",
        "auth_method",
        "auth_username",
        "auth_password",
        "access_mode",
    ):
        print(f"{key:<13}{d.get(key)}")
    user, secret = d.get("auth_username"), d.get("auth_password")
    print(
        f"url          iscsi://{user}%{secret}@{d['target_portal']}/{d['target_iqn']}/"
        f"{d['target_lun']}"
    )
    return 0


async def _detach(args: argparse.Namespace, c: Any) -> int:
    atts = await c.list_attachments(volume_id=args.volume)
    if args.attachment:
        atts = [a for a in atts if a["id"] == args.attachment]
    elif args.initiator:
        atts = [a for a in atts if (a.get("connector") or {}).get("initiator") == args.initiator]
    if len(atts) != 1:
        raise CommandError(
            f"{len(atts)} matching attachments of {args.volume}: name one with --attachment"
        )
    await c.delete_attachment(atts[0]["id"])
    return _print(args, {"detached": atts[0]["id"]}, f"detached {atts[0]['id']}")


# -- the service --------------------------------------------------------------------------


def _serve(args: argparse.Namespace) -> int:
    from blockstore.service import serve

    cfg = config.load(args.config)
    cfg.data.dir = str(cfg.data_dir.resolve())
    logging.basicConfig(
        level=logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s[%(process)d]: %(message)s",
        stream=sys.stderr,
    )

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await serve(cfg, stop)

    try:
        uvloop.run(main())
    except OSError as exc:
        raise CommandError(f"cannot serve volumes: {exc}") from None
    return 0
