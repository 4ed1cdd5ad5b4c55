"""`stratus volume`: the volume service's API from the command line (and `volume serve`).

Every action talks to the volume API (``--url``, default
``http://volume.host:volume.port``) with a token from the object store's
``/auth/v1.0``: ``--user PROJECT:USER`` and ``--key`` (or ``$ST_USER`` /
``$ST_KEY``, as the swift CLI); the default user is ``admin:admin``, whose
key `stratus up` keeps in ``<data>/identity/admin.key``. ``--json`` prints
the API's own JSON objects; ``attach`` prints the os-brick connection info
an initiator needs. Backup and restore show a progress bar until done.
Volumes, snapshots, backups and types are named by ID or by (unique) name.
A volume a server holds is detached with `stratus server remove-volume`;
``detach --force`` (an admin's os-force_detach) ends it anyway, and the
compute service takes the disk out of the server.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, TaskProgressColumn, TextColumn, TimeElapsedColumn
from rich.progress import Progress as RichProgress

from stratus import config, private, runner
from stratus.cli import resolve
from stratus.cli.image_cmd import Login, add_login_args, run_logged_in
from stratus.cli.main import CommandError
from stratus.cli.output import emit_json, pairs, show, table
from stratus.logs import setup_logging

Handler = Callable[[argparse.Namespace, Any], Awaitable[int]]


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("volume", help="volumes, snapshots, attachments and backups")
    act = p.add_subparsers(dest="volume_command", metavar="ACTION", required=True)
    serve = act.add_parser("serve", help="run the volume service and its iSCSI target")
    serve.add_argument("--config", metavar="FILE", default=argparse.SUPPRESS)
    serve.set_defaults(func=_serve)
    backend = act.add_parser(
        "backend", help="run one volume backend (storage directory and iSCSI target) process"
    )
    backend.add_argument("--config", metavar="FILE", default=argparse.SUPPRESS)
    backend.add_argument("--name", help="the backend's name (default: volume.backend_name)")
    backend.set_defaults(func=_backend)

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
    detach.add_argument(
        "--force",
        action="store_true",
        help="admin: end it even if a server holds it (the server is told and lets it go)",
    )


def _action(act: Any, name: str, text: str, handler: Handler) -> argparse.ArgumentParser:
    p = act.add_parser(name, help=text)
    add_login_args(p, "volume")
    p.set_defaults(func=lambda args: _run(args, handler))
    return p


# -- plumbing ---------------------------------------------------------------------------


def _run(args: argparse.Namespace, handler: Handler) -> int:
    """Log in as every command does (stratus.cli.image_cmd), then talk to the volume API."""
    from blockstore.client import VolumeApiError, VolumeClient

    async def action(login: Login) -> int:
        args.login = login
        url = args.url or login.url("volume")
        return await handler(args, VolumeClient(url, login.token, login.project,
                                                session=login.session))  # fmt: skip

    return run_logged_in(args, action, (VolumeApiError,), "volume")


def _user(args: argparse.Namespace) -> str:
    return args.login.user


async def _vol(args: argparse.Namespace, c: Any, ref: str) -> dict[str, Any]:
    return await resolve.volume(c, ref, _user(args))


def _label(item: dict[str, Any]) -> str:
    """A resource as people name it: ``name (id)``, or the ID alone when it has no name."""
    return f"{item['name']} ({item['id']})" if item.get("name") else str(item["id"])


async def _server_names(args: argparse.Namespace, ids: set[str]) -> dict[str, str]:
    """Names of these servers from the compute API, as far as it answers (best effort)."""
    if not ids:
        return {}
    from compute_glue.servers.client import ComputeClient

    login = args.login
    c = ComputeClient(login.url("compute"), login.token, session=login.session)
    try:
        servers = await asyncio.wait_for(c.list_servers(), 10)
    except Exception:  # no compute service here: the IDs will do
        return {}
    return {s["id"]: s["name"] for s in servers if s["id"] in ids and s.get("name")}


async def _attached_to(args: argparse.Namespace, c: Any, vols: list[dict[str, Any]]) -> list[str]:
    """Per volume, what holds it: server names (else IDs), or the initiator's host."""
    servers = {a["server_id"] for v in vols for a in v.get("attachments", []) if a.get("server_id")}
    names = await _server_names(args, servers)
    out = []
    for v in vols:
        holders = []
        for a in v.get("attachments", []):
            if a.get("server_id"):
                holders.append(names.get(a["server_id"], a["server_id"]))
                continue
            host = a.get("host_name")
            if not host:
                with contextlib.suppress(Exception):
                    connector = (await c.get_attachment(a["attachment_id"])).get("connector")
                    host = (connector or {}).get("host") or (connector or {}).get("initiator")
            holders.append(host or a["attachment_id"])
        out.append(", ".join(holders))
    return out


async def _volume_rows(args: argparse.Namespace, c: Any, vols: list[dict[str, Any]]) -> str:
    held = await _attached_to(args, c, vols)
    rows = [
        (v["id"], v.get("name") or "", v["status"], v["size"], v.get("volume_type") or "", h)
        for v, h in zip(vols, held, strict=True)
    ]
    return table(("ID", "NAME", "STATUS", "SIZE", "TYPE", "ATTACHED TO"), rows)


def _print(args: argparse.Namespace, value: Any, text: str | None = None) -> int:
    return show(args, value, text)


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
    user = _user(args)
    snapshot = (await resolve.snapshot(c, args.snapshot, user))["id"] if args.snapshot else None
    source = (await _vol(args, c, args.source))["id"] if args.source else None
    backup = (await resolve.backup(c, args.backup, user))["id"] if args.backup else None
    vtype = (await resolve.volume_type(c, args.volume_type, user))["name"] if args.volume_type \
        else None  # fmt: skip
    vol = await c.create_volume(
        args.size,
        name=args.name,
        description=args.description,
        volume_type=vtype,
        snapshot_id=snapshot,
        source_volid=source,
        imageRef=args.image,
        backup_id=backup,
        multiattach=args.multiattach,
    )
    if not args.no_wait:
        vol = await c.wait_volume(vol["id"])
    return _print(args, vol, None if args.json else await _volume_rows(args, c, [vol]))


async def _list(args: argparse.Namespace, c: Any) -> int:
    vols = await c.list_volumes(status=args.status)
    return _print(args, vols, None if args.json else await _volume_rows(args, c, vols))


async def _show(args: argparse.Namespace, c: Any) -> int:
    return _print(args, await _vol(args, c, args.volume))


async def _delete(args: argparse.Namespace, c: Any) -> int:
    from blockstore.client import VolumeApiError

    vol = await _vol(args, c, args.volume)
    try:
        await c.delete_volume(vol["id"], cascade=args.cascade)
    except VolumeApiError as exc:
        if exc.status == 400 and vol.get("attachments"):
            raise await _in_use(args, c, vol, exc) from None
        raise
    await c.wait_volume_gone(vol["id"])
    return _print(args, {"deleted": vol["id"]}, f"deleted volume {_label(vol)}")


async def _in_use(args: argparse.Namespace, c: Any, vol: dict[str, Any], exc: Any) -> CommandError:
    """Why an attached volume cannot go, and the command that frees it."""
    ref = args.volume
    servers = [a["server_id"] for a in vol.get("attachments", []) if a.get("server_id")]
    if servers and "remove-volume" in exc.message:
        names = await _server_names(args, set(servers))
        server = names.get(servers[0], servers[0])
        return CommandError(
            f"volume {ref!r} is attached to server {server}: detach it with "
            f"`stratus server remove-volume {server} {ref}` first (as {_user(args)})"
        )
    (held,) = await _attached_to(args, c, [vol])
    return CommandError(
        f"volume {ref!r} is attached to {held}: detach it with `stratus volume detach {ref}` "
        f"first (as {_user(args)})"
    )


async def _extend(args: argparse.Namespace, c: Any) -> int:
    vol = await _vol(args, c, args.volume)
    await c.extend_volume(vol["id"], args.size)
    vol = await c.wait_volume(vol["id"], ("available", "in-use"))
    return _print(args, vol, None if args.json else await _volume_rows(args, c, [vol]))


async def _snapshot(args: argparse.Namespace, c: Any) -> int:
    vol = await _vol(args, c, args.volume)
    snap = await c.create_snapshot(vol["id"], force=args.force, name=args.name)
    snap = await c.wait_snapshot(snap["id"])
    return _print(args, snap)


async def _snapshots(args: argparse.Namespace, c: Any) -> int:
    snaps = await c.list_snapshots()
    rows = [(s["id"], s["name"], s["status"], s["size"], s["volume_id"]) for s in snaps]
    return _print(args, snaps, table(("ID", "NAME", "STATUS", "SIZE", "VOLUME"), rows))


async def _snapshot_delete(args: argparse.Namespace, c: Any) -> int:
    snap = await resolve.snapshot(c, args.snapshot, _user(args))
    await c.delete_snapshot(snap["id"])
    return _print(args, {"deleted": snap["id"]}, f"deleting snapshot {_label(snap)}")


async def _backup(args: argparse.Namespace, c: Any) -> int:
    vol = await _vol(args, c, args.volume)
    bk = await c.create_backup(
        vol["id"], incremental=args.incremental, force=args.force, name=args.name
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
    bk = await resolve.backup(c, args.backup, _user(args))
    target = (await _vol(args, c, args.volume))["id"] if args.volume else None
    got = await c.restore_backup(bk["id"], volume_id=target, name=args.name)
    if not args.no_wait:
        bar = Progress("restore", args.json)
        try:
            await c.wait_backup(bk["id"], on_poll=bar)
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
    bk = await resolve.backup(c, args.backup, _user(args))
    await c.delete_backup(bk["id"])
    return _print(args, {"deleted": bk["id"]}, f"deleting backup {_label(bk)}")


async def _backup_verify(args: argparse.Namespace, c: Any) -> int:
    bk = await resolve.backup(c, args.backup, _user(args))
    await c.verify_backup(bk["id"])
    bk = await c.wait_backup(bk["id"])
    result = bk.get("verify_result") or {}
    text = None
    if not args.json:
        text = pairs(
            [("backup", _label(bk)), ("verified", bk.get("updated_at")), *sorted(result.items())]
        )
    _print(args, result, text)
    return 0 if result.get("ok") else 1


async def _attach(args: argparse.Namespace, c: Any) -> int:
    vol = await _vol(args, c, args.volume)
    att = await c.attach(vol["id"], args.initiator, instance_uuid=args.instance, mode=args.mode)
    info = att["connection_info"]
    if args.json:
        emit_json(info)
        return 0
    d = info["data"]
    keys = ("target_portal", "target_iqn", "target_lun", "auth_method", "auth_username",
            "auth_password", "access_mode")  # fmt: skip
    url = (
        f"iscsi://{d.get('auth_username')}%{d.get('auth_password')}@{d['target_portal']}/"
        f"{d['target_iqn']}/{d['target_lun']}"
    )
    print(pairs([("attachment", att["id"]), *((k, d.get(k)) for k in keys), ("url", url)]))
    return 0


async def _detach(args: argparse.Namespace, c: Any) -> int:
    from blockstore.client import VolumeApiError

    vol = await _vol(args, c, args.volume)
    atts = await c.list_attachments(volume_id=vol["id"])
    if args.attachment:
        atts = [a for a in atts if a["id"] == args.attachment]
    elif args.initiator:
        atts = [a for a in atts if (a.get("connector") or {}).get("initiator") == args.initiator]
    if len(atts) != 1:
        raise CommandError(
            f"{len(atts)} matching attachments of volume {args.volume!r} (as {_user(args)}): "
            "name one with --attachment"
        )
    att = atts[0]
    if args.force:
        await c.force_detach(vol["id"], att["id"])
        server = att.get("instance")
        note = f" (server {server} was told and let it go)" if server else ""
        return _print(
            args, {"detached": att["id"], "forced": True}, f"force-detached {att['id']}{note}"
        )
    try:
        await c.delete_attachment(att["id"])
    except VolumeApiError as exc:
        if exc.status == 409 and att.get("instance"):
            names = await _server_names(args, {att["instance"]})
            server = names.get(att["instance"], att["instance"])
            raise CommandError(
                f"volume {args.volume!r} is attached to server {server} through the compute "
                f"service: detach it with `stratus server remove-volume {server} {args.volume}` "
                f"(an admin may force it with --force) (as {_user(args)})"
            ) from None
        raise
    return _print(args, {"detached": att["id"]}, f"detached {att['id']}")


# -- the service --------------------------------------------------------------------------


def _serve(args: argparse.Namespace) -> int:
    from blockstore.service import serve, volume_dir

    cfg = config.load(args.config)
    cfg.data.dir = str(cfg.data_dir.resolve())
    private.service_start(cfg.data_dir, volume_dir(cfg))
    setup_logging()
    try:
        runner.run(lambda stop: serve(cfg, stop))
    except OSError as exc:
        raise CommandError(f"cannot serve volumes: {exc}") from None
    return 0


def _backend(args: argparse.Namespace) -> int:
    """One backend process behind the volume API (``volume.backends`` there)."""
    from blockstore.pool.server import serve

    cfg = config.load(args.config)
    cfg.data.dir = str(cfg.data_dir.resolve())
    name = args.name or cfg.volume.backend_name
    cfg.volume.backend_name = name
    try:
        cfg.validate()
    except config.ConfigError as exc:
        raise CommandError(str(exc)) from None
    root = Path(cfg.volume.dir) if cfg.volume.dir else cfg.data_dir / "volumes"
    private.service_start(cfg.data_dir, root)
    setup_logging()
    try:
        runner.run(lambda stop: serve(cfg, name, stop))
    except OSError as exc:
        raise CommandError(f"cannot serve volume backend {name}: {exc}") from None
    return 0
