"""The OpenStack API calls Stratus serves, generated from the services' own route tables.

``python -m stratus.cli.openstack_compat > docs/openstack-compat.md`` writes
the page. Each service's aiohttp application is built the way the service
builds it (with no state behind it: building only registers routes) and its
router is walked, so the page lists exactly what the code routes; a unit test
regenerates it and compares, so the page cannot drift.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from aiohttp import web

# Methods aiohttp adds on its own (HEAD beside every GET), and probes that are not API calls.
_SKIP_PATHS = {"/healthcheck", "/metrics"}  # probes and Prometheus: no OpenStack calls
# What the apps below are built over: they are only walked for their routes, never
# served, so no store or manager stands behind them.
UNSERVED: Any = None


@dataclass(frozen=True)
class Call:
    """One routed call: its method, its path template and what it does."""

    method: str
    path: str
    what: str


@dataclass(frozen=True)
class ServiceDoc:
    """One catalog service: its type, where it listens and how its app is built."""

    title: str
    catalog_type: str
    endpoint: str
    intro: str
    calls: Callable[[], list[Call]]


def _what(handler: Any) -> str:
    """``handle_list_networks`` -> "list networks"."""
    name = getattr(handler, "__name__", "")
    name = re.sub(r"^(handle_|_)", "", name)
    return name.replace("_", " ").strip()


def walk(app: web.Application) -> Iterator[Call]:
    """Every route of ``app`` and its sub-applications (their paths carry the prefix)."""
    for resource in app.router.resources():
        sub = getattr(resource, "_app", None)
        if isinstance(sub, web.Application):
            yield from walk(sub)
            continue
        for route in resource:
            yield Call(route.method, resource.canonical, _what(route.handler))


def tidy(calls: Iterator[Call] | list[Call]) -> list[Call]:
    """Without health probes and /metrics, automatic HEADs, trailing-slash twins and duplicates."""
    calls = list(calls)
    seen = {(c.method, c.path) for c in calls}
    out: list[Call] = []
    done: set[tuple[str, str]] = set()
    for c in calls:
        if c.path in _SKIP_PATHS:
            continue
        if c.method == "HEAD" and ("GET", c.path) in seen:
            continue
        if c.path.endswith("/") and len(c.path) > 1 and (c.method, c.path[:-1]) in seen:
            continue
        if (c.method, c.path) in done:
            continue
        done.add((c.method, c.path))
        out.append(c)
    return out


def identity_calls() -> list[Call]:
    from stratus.identity.keystone.app import make_app

    return tidy(walk(make_app(UNSERVED, UNSERVED, token_lifetime=3600)))


# The Swift handlers serve several methods each; what each method of each level means.
_SWIFT_WHAT = {
    ("account", "GET"): "list containers",
    ("account", "HEAD"): "account metadata and usage",
    ("account", "POST"): "set account metadata",
    ("container", "PUT"): "create container",
    ("container", "GET"): "list objects",
    ("container", "HEAD"): "container metadata and usage",
    ("container", "POST"): "set container metadata and ACLs",
    ("container", "DELETE"): "delete container",
    ("object", "PUT"): "upload object",
    ("object", "GET"): "download object",
    ("object", "HEAD"): "object metadata",
    ("object", "POST"): "set object metadata",
    ("object", "COPY"): "copy object",
    ("object", "DELETE"): "delete object",
}


def object_store_calls() -> list[Call]:
    """The proxy's routes; its catch-all ``/{tail}`` is the Swift API's three method tables."""
    from objectstore.proxy.swift import account, container, obj
    from objectstore.proxy.swift.app import make_app
    from stratus.config import Config

    calls = tidy(c for c in walk(make_app(UNSERVED, UNSERVED, Config())) if c.path != "/{tail}")
    for path, table in (
        ("/v1/{account}", account.HANDLERS),
        ("/v1/{account}/{container}", container.HANDLERS),
        ("/v1/{account}/{container}/{object}", obj.HANDLERS),
    ):
        level = path.rsplit("{", 1)[1].rstrip("}")
        for method, handler in sorted(table.items()):
            what = _SWIFT_WHAT.get((level, method), f"{level}: {_what(handler)}")
            calls.append(Call(method, path, what))  # HEAD included: it is a call of its own
        calls.append(Call("OPTIONS", path, "allowed methods, CORS preflight"))  # swift/cors.py
    return calls


def block_storage_calls() -> list[Call]:
    from blockstore.api.app import make_app

    return tidy(walk(make_app(UNSERVED, UNSERVED)))


def compute_calls() -> list[Call]:
    from compute_glue.service import make_app

    app = make_app(UNSERVED, UNSERVED, UNSERVED)
    return tidy(c for c in walk(app) if not c.path.startswith("/v2.0"))  # /v2.0: the network API


def image_calls() -> list[Call]:
    from compute_glue.images.api import make_app

    return tidy(walk(make_app(UNSERVED, UNSERVED, UNSERVED, UNSERVED)))


def network_calls() -> list[Call]:
    from compute_glue.networks.endpoint import make_app

    return tidy(walk(make_app(UNSERVED, UNSERVED)))


def action_notes() -> dict[tuple[str, str], str]:
    """What an ``.../action`` call accepts, from the action tables where the code has one."""
    from blockstore.api.volumes import ACTIONS
    from compute_glue.servers.api import NOVA_ONLY

    return {
        ("POST", "/v3/{project_id}/volumes/{volume_id}/action"): "volume action: "
        + ", ".join(f"`{name}`" for name in ACTIONS),
        ("POST", "/v3/{project_id}/backups/{backup_id}/action"): "backup action: "
        "`os-verify`, `os-reset_status`",
        ("GET", "/v3/{project_id}/os-iscsi-sessions"): "live iSCSI sessions per volume "
        "(a Stratus extension; cloud admin only)",
        ("POST", "/v2.1/servers/{server_id}/action"): "server action: `os-stop`, `os-start`, "
        "`reboot`, `os-getConsoleOutput`; answered 501: "
        + ", ".join(f"`{name}`" for name in sorted(NOVA_ONLY)),
    }


SERVICES = (
    ServiceDoc(
        "Identity (Keystone v3)",
        "identity",
        "`identity.port` (5000), `/v3`",
        "Password and token authentication with project scope, the catalog, projects, users, "
        "roles and role assignments (in the store `stratus user` manages), and EC2 "
        "credentials for the S3 API.",
        identity_calls,
    ),
    ServiceDoc(
        "Object storage (Swift)",
        "object-store",
        "`proxy.port` (8080), `/v1/AUTH_<project>`",
        "The Swift API; Keystone tokens and TempAuth (`/auth/v1.0`) tokens both work.",
        object_store_calls,
    ),
    ServiceDoc(
        "Block storage (Cinder v3)",
        "block-storage, volumev3",
        "`volume.port` (8776), `/v3/<project>`",
        "Volumes (served over the built-in iSCSI target; blank, or from a snapshot, a "
        "volume, a backup or a raw/qcow2 image of the image API), snapshots, backups (into "
        "the object store), attachments, types, limits and quotas.",
        block_storage_calls,
    ),
    ServiceDoc(
        "Compute (Nova v2.1)",
        "compute",
        "`compute.port` (8774), `/v2.1`",
        "Servers (QEMU) with images, flavors, networks, user data and volumes; console "
        "output; power actions; limits and quota sets (unlimited, read-only). Key pairs are "
        "refused.",
        compute_calls,
    ),
    ServiceDoc(
        "Image (Glance v2)",
        "image",
        "`image.port` (9292), `/v2`",
        "Images stored in the object store; upload, download, properties, tags, visibility.",
        image_calls,
    ),
    ServiceDoc(
        "Network (Neutron v2.0)",
        "network",
        "`network.port` (9696), `/v2.0`",
        "Networks (a bridge each), subnets with DHCP and the metadata service, ports, and the "
        "default security group; quotas (unlimited, read-only, with real usage).",
        network_calls,
    ),
)

_HEADER = """# OpenStack compatibility

`stratus up` writes `<data>/clouds.yaml`; with
`export OS_CLOUD=stratus OS_CLIENT_CONFIG_FILE=<data>/clouds.yaml` the
unmodified `openstack` CLI and openstacksdk log in on the identity API and
find every service below in the catalog. The tables list every call each
service routes (generated from the services' route tables by
`python -m stratus.cli.openstack_compat`; do not edit by hand). A call not
listed answers 404 (or 405 for a known path with another method); calls of
the listed paths that Stratus does not implement answer the service's own
error (for example 501 for Nova actions it has no equivalent for).
`tests/e2e/stratus/cli/test_openstack_tour.py` runs the everyday tour with
both clients.
"""


def versions() -> dict[str, str]:
    """The API versions each versioned service announces, from its own constants."""
    from blockstore.api.app import MAX_VERSION, MIN_VERSION
    from compute_glue.images.api import MAX_MINOR
    from compute_glue.servers import microversion

    def dotted(v: tuple[int, int]) -> str:
        return f"{v[0]}.{v[1]}"

    return {
        "block-storage, volumev3": f"Microversions {dotted(MIN_VERSION)} to "
        f"{dotted(MAX_VERSION)} (`OpenStack-API-Version: volume X.Y`).",
        "compute": f"Microversions {dotted(microversion.MIN)} to {dotted(microversion.MAX)}.",
        "image": f"API versions 2.0 to 2.{MAX_MINOR}.",
    }


def render() -> str:
    """The whole Markdown page."""
    notes = action_notes()
    announced = versions()
    parts = [_HEADER]
    for svc in SERVICES:
        parts.append(f"\n## {svc.title}\n")
        intro = " ".join(x for x in (svc.intro, announced.get(svc.catalog_type, "")) if x)
        parts.append(f"\nCatalog type `{svc.catalog_type}`; {svc.endpoint}. {intro}\n")
        parts.append("\n| Method | Path | Call |\n|---|---|---|\n")
        for c in svc.calls():
            method = "any" if c.method == "*" else c.method
            what = notes.get((c.method, c.path), c.what)
            parts.append(f"| {method} | `{c.path}` | {what} |\n")
    return "".join(parts)


def main() -> None:
    print(render(), end="")


if __name__ == "__main__":
    main()
