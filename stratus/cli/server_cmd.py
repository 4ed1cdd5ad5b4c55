"""`stratus server`: VMs from the command line (and `server serve`, the compute service).

Servers boot from images (``--image``, by ID or name) on private networks
(``--network NAME[=FIXED_IP]``), with a guest script (``--script FILE``,
sent as user_data; the test guest runs it), and get volumes while they run
(``add-volume``/``remove-volume``). Login as for `stratus image`.
"""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path
from typing import Any

from stratus import config
from stratus.cli.image_cmd import (
    Login,
    add_login_args,
    find_image,
    is_uuid,
    run_logged_in,
    serve_until_signalled,
    setup_logging,
    show,
)
from stratus.cli.main import CommandError
from stratus.cli.network_cmd import find_network
from stratus.cli.output import table


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("server", help="servers (QEMU VMs) and their volumes")
    act = p.add_subparsers(dest="server_command", metavar="ACTION", required=True)
    serve = act.add_parser("serve", help="run the compute service (servers and networks)")
    serve.add_argument("--config", metavar="FILE", default=argparse.SUPPRESS)
    serve.set_defaults(func=_serve)

    create = _action(act, "create", "boot a server", _create)
    create.add_argument("name")
    create.add_argument("--image", help="image ID or name")
    create.add_argument("--flavor", default="m1.tiny", help="flavor name or ID (default m1.tiny)")
    create.add_argument(
        "--network",
        action="append",
        metavar="NET[=FIXED_IP]",
        help="network name or ID, with an optional fixed address",
    )
    create.add_argument("--script", type=Path, help="guest script (the test guest runs it)")
    create.add_argument("--boot-volume", metavar="VOLUME", help="boot from this volume")
    create.add_argument("--no-wait", action="store_true", help="do not wait for ACTIVE")
    _action(act, "list", "list servers", _list)
    _action(act, "show", "show a server", _show).add_argument("server")
    for name, text in (
        ("delete", "delete a server (its QEMU, ports, attachments)"),
        ("stop", "power a server off"),
        ("start", "power a server on"),
    ):
        a = _action(act, name, text, _simple)
        a.add_argument("server")
        a.add_argument("--no-wait", action="store_true")
    reboot = _action(act, "reboot", "reset a running server", _reboot)
    reboot.add_argument("server")
    reboot.add_argument("--hard", action="store_true")
    console = _action(act, "console", "print the serial console", _console)
    console.add_argument("server")
    console.add_argument("--length", type=int, help="only the last N lines")
    add = _action(act, "add-volume", "attach a volume to a running server", _add_volume)
    add.add_argument("server")
    add.add_argument("volume", help="volume ID")
    rm = _action(act, "remove-volume", "detach a volume from a server", _remove_volume)
    rm.add_argument("server")
    rm.add_argument("volume", help="volume ID")


def _action(act: Any, name: str, text: str, handler: Any) -> argparse.ArgumentParser:
    p = act.add_parser(name, help=text)
    add_login_args(p, "compute")
    p.add_argument("--image-url", help="image API (default: from the configuration)")
    p.set_defaults(func=lambda args: _run(args, handler))
    return p


def _run(args: argparse.Namespace, handler: Any) -> int:
    from compute_glue.images.client import ImageApiError
    from compute_glue.servers.client import ApiClientError, ComputeClient, ServerStateError

    async def action(login: Login) -> int:
        args.login = login
        url = args.url or login.url("compute")
        return await handler(args, ComputeClient(url, login.token, session=login.session))

    try:
        return run_logged_in(args, action, (ApiClientError, ImageApiError))
    except ServerStateError as exc:
        raise CommandError(str(exc)) from None


def _serve(args: argparse.Namespace) -> int:
    from compute_glue.service import serve

    cfg = config.load(args.config)
    setup_logging()
    # The stdlib loop, not uvloop: pyroute2's asyncio netlink sockets (AF_NETLINK datagram
    # endpoints) are refused by uvloop. No data path runs here: QEMU moves the bytes.
    asyncio.run(serve_until_signalled(lambda stop: serve(cfg, stop)))
    return 0


async def find_server(c: Any, ref: str) -> dict[str, Any]:
    if is_uuid(ref):
        return await c.get_server(ref)
    found = await c.list_servers(name=ref)
    if len(found) != 1:
        raise CommandError(f"{len(found)} servers are named {ref!r}: use the ID")
    return found[0]


def _images(args: argparse.Namespace) -> Any:
    from compute_glue.images.client import ImageClient

    login = args.login
    return ImageClient(args.image_url or login.url("image"), login.token, session=login.session)


def _networks(args: argparse.Namespace, c: Any) -> Any:
    from compute_glue.networks.client import NetworkClient

    return NetworkClient(c.endpoint, c.token, session=args.login.session)


def _addresses(server: dict[str, Any]) -> str:
    return ",".join(
        f"{net}={a['addr']}" for net, addrs in server.get("addresses", {}).items() for a in addrs
    )


async def _create(args: argparse.Namespace, c: Any) -> int:
    if args.image is None and args.boot_volume is None:
        raise CommandError("give --image or --boot-volume")
    image_id = (await find_image(_images(args), args.image))["id"] if args.image else None
    networks: list[dict[str, Any]] | str = "none"
    if args.network:
        networks = []
        for item in args.network:
            ref, _, fixed = item.partition("=")
            entry = {"uuid": (await find_network(_networks(args, c), ref))["id"]}
            if fixed:
                entry["fixed_ip"] = fixed
            networks.append(entry)
    bdms = None
    if args.boot_volume:
        bdms = [
            {
                "source_type": "volume",
                "destination_type": "volume",
                "uuid": args.boot_volume,
                "boot_index": 0,
            }
        ]
    script = args.script.read_text() if args.script else None
    made = await c.create_server(
        args.name, image_id, args.flavor, networks=networks, script=script, block_devices=bdms
    )
    server = made if args.no_wait else await c.wait_server(made["id"], "ACTIVE", timeout=300)
    if args.no_wait:
        server = await c.get_server(made["id"])
    return show(
        args,
        server,
        f"server {server['id']} ({args.name}) {server['status']} {_addresses(server)}".rstrip(),
    )


async def _list(args: argparse.Namespace, c: Any) -> int:
    servers = await c.list_servers()
    rows = [
        (s["id"], s["name"], s["status"], s.get("OS-EXT-STS:task_state") or "", _addresses(s))
        for s in servers
    ]
    return show(args, servers, table(("ID", "NAME", "STATUS", "TASK", "ADDRESSES"), rows))


async def _show(args: argparse.Namespace, c: Any) -> int:
    return show(args, await find_server(c, args.server))


async def _simple(args: argparse.Namespace, c: Any) -> int:
    server = await find_server(c, args.server)
    verb = args.server_command
    if verb == "delete":
        await c.delete_server(server["id"])
        if not args.no_wait:
            await c.wait_gone(server["id"], timeout=300)
        return show(args, {"id": server["id"], "deleted": True}, f"deleted server {server['id']}")
    await (c.stop if verb == "stop" else c.start)(server["id"])
    if not args.no_wait:
        server = await c.wait_server(
            server["id"], "SHUTOFF" if verb == "stop" else "ACTIVE", timeout=300
        )
    return show(args, server, f"server {server['id']} {verb}{'ped' if verb == 'stop' else 'ed'}")


async def _reboot(args: argparse.Namespace, c: Any) -> int:
    server = await find_server(c, args.server)
    await c.reboot(server["id"], hard=args.hard)
    return show(args, {"id": server["id"], "rebooted": True}, f"rebooted server {server['id']}")


async def _console(args: argparse.Namespace, c: Any) -> int:
    server = await find_server(c, args.server)
    text = await c.console(server["id"], args.length)
    if args.json:
        return show(args, {"output": text})
    print(text, end="" if text.endswith("\n") or not text else "\n")
    return 0


async def _add_volume(args: argparse.Namespace, c: Any) -> int:
    server = await find_server(c, args.server)
    att = await c.attach_volume(server["id"], args.volume)
    return show(args, att, f"volume {args.volume} attached to {server['id']} as {att['device']}")


async def _remove_volume(args: argparse.Namespace, c: Any) -> int:
    server = await find_server(c, args.server)
    await c.detach_volume(server["id"], args.volume)
    return show(
        args,
        {"server": server["id"], "volume": args.volume, "detached": True},
        f"volume {args.volume} detached from {server['id']}",
    )
