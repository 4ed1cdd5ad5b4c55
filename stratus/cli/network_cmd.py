"""`stratus network`: private networks for servers, through the compute endpoint's network API.

``create NAME --cidr 10.20.0.0/24`` makes a network with one subnet (its
bridge on this host holds the gateway address); ``delete`` removes its
subnets and the network once no port uses it. Login as for `stratus image`.
"""

from __future__ import annotations

import argparse
from typing import Any

from stratus.cli import resolve
from stratus.cli.image_cmd import Login, add_login_args, run_logged_in, show
from stratus.cli.main import CommandError
from stratus.cli.output import table


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("network", help="private networks (bridges) for servers")
    act = p.add_subparsers(dest="network_command", metavar="ACTION", required=True)
    create = _action(act, "create", "create a network with one subnet", _create)
    create.add_argument("name")
    create.add_argument("--cidr", required=True, help="e.g. 10.20.0.0/24")
    create.add_argument("--gateway", help="gateway address (default: the first; 'none': none)")
    create.add_argument("--pool", action="append", metavar="START-END", help="allocation pool")
    _action(act, "list", "list networks", _list)
    _action(act, "show", "show a network and its subnets", _show).add_argument("network")
    _action(act, "delete", "delete a network and its subnets", _delete).add_argument("network")
    ports = _action(act, "ports", "list ports (addresses of servers)", _ports)
    ports.add_argument("--network", help="only this network's ports")


def _action(act: Any, name: str, text: str, handler: Any) -> argparse.ArgumentParser:
    p = act.add_parser(name, help=text)
    add_login_args(p, "compute")
    p.set_defaults(func=lambda args: _run(args, handler))
    return p


def _run(args: argparse.Namespace, handler: Any) -> int:
    from compute_glue.networks.client import ApiClientError, NetworkClient

    async def action(login: Login) -> int:
        args.login = login
        url = args.url or login.url("compute")
        return await handler(args, NetworkClient(url, login.token, session=login.session))

    return run_logged_in(args, action, (ApiClientError,), "compute")


async def find_network(c: Any, ref: str, user: str = "") -> dict[str, Any]:
    """A network by ID or by (unique) name."""
    return await resolve.network(c, ref, user)


def _pools(items: list[str] | None) -> list[dict[str, str]] | None:
    if not items:
        return None
    out = []
    for item in items:
        start, sep, end = item.partition("-")
        if not sep:
            raise CommandError(f"--pool wants START-END, not {item!r}")
        out.append({"start": start, "end": end})
    return out


async def _create(args: argparse.Namespace, c: Any) -> int:
    gateway: str | None = "" if args.gateway is None else args.gateway
    if args.gateway == "none":
        gateway = None
    net = await c.create_network(args.name)
    try:
        sub = await c.create_subnet(net["id"], args.cidr, gateway_ip=gateway,
                                    allocation_pools=_pools(args.pool), name=args.name)  # fmt: skip
    except BaseException:
        await c.delete_network(net["id"])
        raise
    net = await c.get_network(net["id"])
    return show(args, {"network": net, "subnet": sub},
                f"network {net['id']} ({args.name}): {sub['cidr']}, gateway "
                f"{sub['gateway_ip']}, bridge {net['stratus:bridge']}")  # fmt: skip


async def _list(args: argparse.Namespace, c: Any) -> int:
    nets = await c.list_networks()
    subs = {s["id"]: s for s in await c.list_subnets()}
    rows = [
        (n["id"], n["name"], ",".join(subs[s]["cidr"] for s in n["subnets"] if s in subs),
         n["stratus:bridge"])
        for n in nets
    ]  # fmt: skip
    return show(args, nets, table(("ID", "NAME", "SUBNETS", "BRIDGE"), rows))


async def _show(args: argparse.Namespace, c: Any) -> int:
    net = await find_network(c, args.network, args.login.user)
    net["subnets"] = [await c.get_subnet(s) for s in net["subnets"]]
    return show(args, net)


async def _delete(args: argparse.Namespace, c: Any) -> int:
    net = await find_network(c, args.network, args.login.user)
    for sub in net["subnets"]:
        await c.delete_subnet(sub)
    await c.delete_network(net["id"])
    return show(args, {"id": net["id"], "deleted": True}, f"deleted network {net['id']}")


async def _ports(args: argparse.Namespace, c: Any) -> int:
    filters = {}
    if args.network:
        filters["network_id"] = (await find_network(c, args.network, args.login.user))["id"]
    ports = await c.list_ports(**filters)
    rows = [
        (p["id"], p["network_id"][:8], p["mac_address"],
         ",".join(f["ip_address"] for f in p["fixed_ips"]), p["device_id"], p["status"])
        for p in ports
    ]  # fmt: skip
    return show(args, ports, table(("ID", "NETWORK", "MAC", "IP", "SERVER", "STATUS"), rows))
