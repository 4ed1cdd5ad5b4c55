"""`stratus image`: the image service's API from the command line (and `image serve`).

Every action talks to the image API (``--url``, default
``http://image.host:image.port``) with a token from the object store's
``/auth/v1.0``: ``--user PROJECT:USER`` and ``--key`` (or ``$ST_USER`` /
``$ST_KEY``); the default user is ``admin:admin``, whose key `stratus up`
keeps in ``<data>/identity/admin.key``. ``build-test-guest`` assembles the
tiny busybox guest from this machine's Debian kernel and uploads it as a
kernel (aki), an initramfs (ari) and a bootable image that names both.

The login plumbing here is shared by `stratus server` and `stratus network`.
"""

from __future__ import annotations

import argparse
import asyncio
import os
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp

from stratus import config, private, runner
from stratus.cli import errors as cli_errors
from stratus.cli import output, resolve
from stratus.cli.main import CommandError
from stratus.cli.output import add_json_flag, table
from stratus.cli.resolve import is_uuid  # noqa: F401 (re-exported for the other commands)
from stratus.http.server import base_url
from stratus.logs import setup_logging


@dataclass
class Login:
    """Who the command acts as, and where the services are."""

    cfg: config.Config
    token: str
    project: str
    session: aiohttp.ClientSession
    user: str = ""  # PROJECT:USER, named in every error

    def url(self, section: str) -> str:
        sec = getattr(self.cfg, section)
        return base_url(sec.host, sec.port)


Handler = Callable[[argparse.Namespace, Any], Awaitable[int]]


def add_login_args(p: argparse.ArgumentParser, service: str) -> None:
    p.add_argument("--config", metavar="FILE", default=argparse.SUPPRESS)
    p.add_argument("--url", help=f"{service} API (default: from the configuration)")
    p.add_argument("--auth-url", help="auth endpoint (default: the proxy's /auth/v1.0)")
    p.add_argument("--user", help="PROJECT:USER (default: $ST_USER or admin:admin)")
    p.add_argument("--key", help="the user's key (default: $ST_KEY, or admin.key for admin)")
    add_json_flag(p)


def credentials(args: argparse.Namespace, cfg: config.Config) -> tuple[str, str]:
    user = args.user or os.environ.get("ST_USER") or "admin:admin"
    key = args.key or os.environ.get("ST_KEY")
    if key is None and user == "admin:admin":
        path = Path(cfg.data.dir) / "identity" / "admin.key"
        if path.exists():
            key = path.read_text().strip()
    if not key:
        raise CommandError(f"no key for {user}: give --key or set ST_KEY")
    return user, key


def run_logged_in(
    args: argparse.Namespace,
    action: Callable[[Login], Awaitable[int]],
    errors: tuple[type[Exception], ...] = (),
    service: str = "",
) -> int:
    """Log in, run ``action``; every failure is worded one way (stratus.cli.errors).

    ``service`` is the configuration section of the API the command talks to, named
    when it cannot be reached; any client's API error (``status`` and ``message``) and
    the ``errors`` given are worded the same way.
    """
    cfg = config.load(args.config)
    auth = args.auth_url or base_url(cfg.proxy.host, cfg.proxy.port) + "/auth/v1.0"
    user, key = credentials(args, cfg)
    reached = {"service": "identity", "url": auth}

    async def main() -> int:
        timeout = aiohttp.ClientTimeout(total=None, sock_connect=10, sock_read=300)
        async with aiohttp.ClientSession(timeout=timeout) as session:
            headers = {"X-Auth-User": user, "X-Auth-Key": key}
            async with session.get(auth, headers=headers) as resp:
                if resp.status != 200:
                    raise cli_errors.login_refused(user, resp.status)
                token = resp.headers["X-Auth-Token"]
            login = Login(cfg, token, user.split(":", 1)[0], session, user)
            if service:
                reached.update(
                    service=service, url=getattr(args, "url", None) or login.url(service)
                )
            return await action(login)

    try:
        return runner.loop_runner()(main())
    except CommandError:
        raise
    except Exception as exc:
        worded = cli_errors.translate(exc, user, reached["service"], reached["url"])
        if worded is None:
            raise
        raise worded from None


def show(args: argparse.Namespace, value: Any, text: str | None = None) -> int:
    return output.show(args, value, text)


def short(value: Any) -> str:
    return output.cell(value)


def parse_properties(items: list[str] | None) -> dict[str, str]:
    out = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise CommandError(f"--property wants KEY=VALUE, not {item!r}")
        out[key] = value
    return out


# -- `stratus image` ------------------------------------------------------------------------


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("image", help="images: kernels, ramdisks and disks for servers")
    act = p.add_subparsers(dest="image_command", metavar="ACTION", required=True)
    serve = act.add_parser("serve", help="run the image service")
    serve.add_argument("--config", metavar="FILE", default=argparse.SUPPRESS)
    serve.set_defaults(func=_serve)

    create = _action(act, "create", "create an image (and upload --file)", _create)
    create.add_argument("name")
    create.add_argument("--file", type=Path, help="upload these bytes")
    create.add_argument("--disk-format", default="raw", choices=("raw", "qcow2", "aki", "ari"))
    create.add_argument("--container-format", choices=("bare", "aki", "ari"))
    create.add_argument("--public", action="store_true", help="visible to every project (admin)")
    create.add_argument("--min-ram", type=int, default=0, help="MiB")
    create.add_argument("--property", action="append", metavar="KEY=VALUE")

    lst = _action(act, "list", "list images", _list)
    lst.add_argument("--name")
    lst.add_argument("--status")
    lst.add_argument("--property", action="append", metavar="KEY=VALUE", help="filter")
    _action(act, "show", "show an image", _show).add_argument("image", help="ID or name")
    dl = _action(act, "download", "download an image's bytes", _download)
    dl.add_argument("image", help="ID or name")
    dl.add_argument("output", type=Path)
    _action(act, "delete", "delete an image", _delete).add_argument("image", help="ID or name")

    guest = _action(act, "build-test-guest", "build the tiny test guest and upload it", _guest)
    guest.add_argument("--name", default="stratus-test-guest")
    guest.add_argument("--public", action="store_true")
    guest.add_argument("--cache-dir", type=Path, help="default: <data>/cache/guest")


def _action(act: Any, name: str, text: str, handler: Handler) -> argparse.ArgumentParser:
    p = act.add_parser(name, help=text)
    add_login_args(p, "image")
    p.set_defaults(func=lambda args: _run(args, handler))
    return p


def _run(args: argparse.Namespace, handler: Handler) -> int:
    from compute_glue.images.client import ImageApiError, ImageClient

    async def action(login: Login) -> int:
        client = ImageClient(args.url or login.url("image"), login.token, session=login.session)
        args.login = login
        return await handler(args, client)

    return run_logged_in(args, action, (ImageApiError,), "image")


def _serve(args: argparse.Namespace) -> int:
    from compute_glue.images.service import image_dir, serve

    cfg = config.load(args.config)
    private.service_start(cfg.data_dir, image_dir(cfg))
    setup_logging()
    runner.run(lambda stop: serve(cfg, stop))
    return 0


async def find_image(client: Any, ref: str, user: str = "") -> dict[str, Any]:
    """An image by ID or by (unique) name."""
    return await resolve.image(client, ref, user)


def _rows(images: list[dict[str, Any]]) -> str:
    rows = [
        (i["id"], i.get("name") or "", i["status"], i.get("disk_format") or "",
         i.get("size") if i.get("size") is not None else "", i["visibility"])
        for i in images
    ]  # fmt: skip
    return table(("ID", "NAME", "STATUS", "FORMAT", "SIZE", "VISIBILITY"), rows)


async def _create(args: argparse.Namespace, c: Any) -> int:
    fields: dict[str, Any] = {
        "name": args.name,
        "disk_format": args.disk_format,
        "container_format": args.container_format
        or (args.disk_format if args.disk_format in ("aki", "ari") else "bare"),
        "min_ram": args.min_ram,
        **parse_properties(args.property),
    }
    if args.public:
        fields["visibility"] = "public"
    img = await c.create(**fields)
    if args.file is not None:
        await c.upload(img["id"], args.file)
        img = await c.get(img["id"])
    return show(args, img)


async def _list(args: argparse.Namespace, c: Any) -> int:
    filters = {"name": args.name, "status": args.status, **parse_properties(args.property)}
    images = await c.list(**{k: v for k, v in filters.items() if v is not None})
    return show(args, images, _rows(images))


async def _show(args: argparse.Namespace, c: Any) -> int:
    return show(args, await find_image(c, args.image, args.login.user))


async def _download(args: argparse.Namespace, c: Any) -> int:
    img = await find_image(c, args.image, args.login.user)
    md5 = await c.download(img["id"], args.output)
    return show(args, {"id": img["id"], "path": str(args.output), "checksum": md5})


async def _delete(args: argparse.Namespace, c: Any) -> int:
    img = await find_image(c, args.image, args.login.user)
    await c.delete(img["id"])
    return show(args, {"id": img["id"], "deleted": True}, f"deleted image {img['id']}")


async def _guest(args: argparse.Namespace, c: Any) -> int:
    from compute_glue.guest_image import GuestImageError, build_test_guest
    from compute_glue.images.testguest import upload_test_guest

    cache = args.cache_dir or Path(args.login.cfg.data.dir) / "cache" / "guest"
    try:
        guest = await asyncio.to_thread(build_test_guest, cache)
    except GuestImageError as exc:
        raise CommandError(str(exc)) from None
    boot = await upload_test_guest(c, guest, args.name, public=args.public)
    out = {"image": boot, "kernel": boot["kernel_id"], "ramdisk": boot["ramdisk_id"]}
    text = f"test guest image {boot['id']} ({args.name}), kernel {guest.kernel_version}"
    return show(args, out, text)
