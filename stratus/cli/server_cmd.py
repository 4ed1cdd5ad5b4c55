"""`stratus server`: VMs from the command line (and `server serve`, the compute service).

Servers boot from images (``--image``, by ID or name) on private networks
(``--network NAME[=FIXED_IP]``), with a guest script (``--script FILE``,
sent as user_data; the test guest runs it), and get volumes while they run
(``add-volume``/``remove-volume``). Servers, images, networks and volumes
are named by ID or by (unique) name. Login as for `stratus image`.
"""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path
from typing import Any

from stratus import config, private, runner
from stratus.cli import resolve
from stratus.cli.image_cmd import (
    Login,
    add_login_args,
    find_image,
    run_logged_in,
    show,
)
from stratus.cli.main import CommandError
from stratus.cli.network_cmd import find_network
from stratus.cli.output import plain_text, table
from stratus.cli.waiting import Waiting
from stratus.logs import setup_logging


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
    create.add_argument(
        "--boot-volume", metavar="VOLUME", help="boot from this volume (ID or name)"
    )
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
    console.add_argument(
        "--raw", action="store_true", help="keep terminal escape and control sequences"
    )
    add = _action(act, "add-volume", "attach a volume to a running server", _add_volume)
    add.add_argument("server", help="ID or name")
    add.add_argument("volume", help="ID or name")
    rm = _action(act, "remove-volume", "detach a volume from a server", _remove_volume)
    rm.add_argument("server", help="ID or name")
    rm.add_argument("volume", help="ID or name")


def _action(act: Any, name: str, text: str, handler: Any) -> argparse.ArgumentParser:
    p = act.add_parser(name, help=text)
    add_login_args(p, "compute")
    p.add_argument("--image-url", help="image API (default: from the configuration)")
    p.add_argument("--volume-url", help="volume API (default: from the configuration)")
    p.set_defaults(func=lambda args: _run(args, handler))
    return p


def _run(args: argparse.Namespace, handler: Any) -> int:
    from compute_glue.images.client import ImageApiError
    from compute_glue.servers.client import ApiClientError, ComputeClient

    async def action(login: Login) -> int:
        args.login = login
        url = args.url or login.url("compute")
        return await handler(args, ComputeClient(url, login.token, session=login.session))

    return run_logged_in(args, action, (ApiClientError, ImageApiError), "compute")


def _serve(args: argparse.Namespace) -> int:
    from compute_glue.service import compute_dir, serve

    cfg = config.load(args.config)
    private.service_start(cfg.data_dir, compute_dir(cfg))
    setup_logging()
    # The stdlib loop, not uvloop: pyroute2's asyncio netlink sockets (AF_NETLINK datagram
    # endpoints) are refused by uvloop. No data path runs here: QEMU moves the bytes.
    runner.run(lambda stop: serve(cfg, stop), uvloop=False)
    return 0


async def find_server(c: Any, ref: str, user: str = "") -> dict[str, Any]:
    """A server by ID or by (unique) name."""
    return await resolve.server(c, ref, user)


async def _server(args: argparse.Namespace, c: Any) -> dict[str, Any]:
    return await find_server(c, args.server, args.login.user)


async def _volume(args: argparse.Namespace, ref: str) -> dict[str, Any]:
    """A volume by ID or name, looked up in the volume API as the same user."""
    from blockstore.client import VolumeClient

    login = args.login
    url = args.volume_url or login.url("volume")
    vc = VolumeClient(url, login.token, login.project, session=login.session)
    return await resolve.volume(vc, ref, login.user)


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
    image = await find_image(_images(args), args.image, args.login.user) if args.image else None
    networks: list[dict[str, Any]] | str = "none"
    if args.network:
        networks = []
        for item in args.network:
            ref, _, fixed = item.partition("=")
            net = await find_network(_networks(args, c), ref, args.login.user)
            entry = {"uuid": net["id"]}
            if fixed:
                entry["fixed_ip"] = fixed
            networks.append(entry)
    bdms = None
    if args.boot_volume:
        bdms = [
            {
                "source_type": "volume",
                "destination_type": "volume",
                "uuid": (await _volume(args, args.boot_volume))["id"],
                "boot_index": 0,
            }
        ]
    script = args.script.read_text() if args.script else None
    image_id = image["id"] if image else None
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
    return show(args, await _server(args, c))


async def _simple(args: argparse.Namespace, c: Any) -> int:
    server = await _server(args, c)
    verb = args.server_command
    if verb == "delete":
        await c.delete_server(server["id"])
        if not args.no_wait:
            await c.wait_gone(server["id"], timeout=300)
        return show(args, {"id": server["id"], "deleted": True}, f"deleted server {server['id']}")
    if verb == "stop":
        return await _stop(args, c, server)
    await c.start(server["id"])
    if not args.no_wait:
        server = await c.wait_server(server["id"], "ACTIVE", timeout=300)
    return show(args, server, f"server {_label(server)} started")


def _label(server: dict[str, Any]) -> str:
    return f"{server['name']} ({server['id']})" if server.get("name") else server["id"]


async def _stop(args: argparse.Namespace, c: Any, server: dict[str, Any]) -> int:
    """Stop, saying what it waits for (the guest's ACPI power-off) and then what happened."""
    await c.stop(server["id"])
    if args.no_wait:
        return show(args, server, f"stopping server {_label(server)}")
    limit = args.login.cfg.compute.shutdown_timeout
    name = server.get("name") or server["id"]
    text = f"waiting up to {limit:g} s for {name} to shut down (ACPI)"
    loop = asyncio.get_running_loop()
    deadline = loop.time() + limit + 120  # the forced power-off and the ports come after
    with Waiting(text, quiet=args.json) as waiting:
        while True:
            server = await c.get_server(server["id"])
            if server["status"] == "SHUTOFF" and server.get("OS-EXT-STS:task_state") is None:
                break
            if server["status"] == "ERROR":
                fault = (server.get("fault") or {}).get("message", "")
                raise CommandError(f"server {_label(server)} is ERROR: {fault}".rstrip(": "))
            if loop.time() > deadline:
                raise CommandError(
                    f"server {_label(server)} still {server['status']} after "
                    f"{waiting.elapsed:.0f} s (as {args.login.user})"
                )
            waiting.tick()
            await asyncio.sleep(0.5)
    how = server.get("stratus:power_off")
    if how == "forced":
        done = (
            f"server {_label(server)} stopped: the guest did not shut down within {limit:g} s "
            "(ACPI ignored), so it was powered off by force"
        )
    elif how == "acpi":
        done = f"server {_label(server)} stopped: the guest shut down after {waiting.elapsed:.0f} s"
    else:
        done = f"server {_label(server)} stopped"
    return show(args, server, done)


async def _reboot(args: argparse.Namespace, c: Any) -> int:
    server = await _server(args, c)
    await c.reboot(server["id"], hard=args.hard)
    return show(args, {"id": server["id"], "rebooted": True}, f"rebooted server {server['id']}")


async def _console(args: argparse.Namespace, c: Any) -> int:
    server = await _server(args, c)
    text = await c.console(server["id"], args.length)
    if args.json:
        return show(args, {"output": text})
    if not args.raw:
        text = plain_text(text)  # what the guest wrote may drive the reader's terminal
    print(text, end="" if text.endswith("\n") or not text else "\n")
    return 0


async def _add_volume(args: argparse.Namespace, c: Any) -> int:
    server = await _server(args, c)
    vol = await _volume(args, args.volume)
    att = await c.attach_volume(server["id"], vol["id"])
    return show(args, att, f"volume {_label(vol)} attached to {_label(server)} as {att['device']}")


async def _remove_volume(args: argparse.Namespace, c: Any) -> int:
    server = await _server(args, c)
    held = [v["id"] for v in server.get("os-extended-volumes:volumes_attached", [])]
    vol = {"id": args.volume} if args.volume in held else await _volume(args, args.volume)
    await c.detach_volume(server["id"], vol["id"])
    return show(
        args,
        {"server": server["id"], "volume": vol["id"], "detached": True},
        f"volume {_label(vol)} detached from {_label(server)}",
    )
