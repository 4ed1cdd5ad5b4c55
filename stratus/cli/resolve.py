"""What a user typed (an ID or a name) to the resource it names: one resolver for the CLI.

Every command that takes a volume, snapshot, backup, volume type, server,
image or network accepts its ID or its name. An ID is looked up directly; a
name must name exactly one resource the user can see, else the command
stops naming what it found (``errors.not_found`` / ``errors.ambiguous``
with the matching IDs).
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from stratus.cli import errors

Json = dict[str, Any]


def is_uuid(text: str) -> bool:
    try:
        uuid.UUID(text)
    except ValueError:
        return False
    return True


async def resolve(
    kind: str,
    ref: str,
    user: str,
    *,
    listing: Callable[[], Awaitable[list[Json]]],
    get: Callable[[str], Awaitable[Json]] | None = None,
) -> Json:
    """The one ``kind`` whose ID or name is ``ref``, as ``user`` sees it."""
    if get is not None and is_uuid(ref):
        try:
            return await get(ref)
        except Exception as exc:
            if getattr(exc, "status", None) != 404:
                raise
    items = await listing()
    by_id = [i for i in items if i.get("id") == ref]
    if by_id:
        return by_id[0]
    named = [i for i in items if i.get("name") == ref]
    if not named:
        raise errors.not_found(kind, ref, user)
    if len(named) > 1:
        raise errors.ambiguous(kind, ref, [str(i.get("id")) for i in named], user)
    return named[0] if get is None else await get(str(named[0]["id"]))


# -- one finder per resource, for the clients the commands use --------------------------


async def volume(c: Any, ref: str, user: str) -> Json:
    return await resolve("volume", ref, user, get=c.get_volume,
                         listing=lambda: c.list_volumes(name=ref))  # fmt: skip


async def snapshot(c: Any, ref: str, user: str) -> Json:
    return await resolve("snapshot", ref, user, get=c.get_snapshot,
                         listing=lambda: c.list_snapshots(name=ref))  # fmt: skip


async def backup(c: Any, ref: str, user: str) -> Json:
    return await resolve("backup", ref, user, get=c.get_backup,
                         listing=lambda: c.list_backups(name=ref))  # fmt: skip


async def volume_type(c: Any, ref: str, user: str) -> Json:
    return await resolve("volume type", ref, user, listing=c.list_types)


async def server(c: Any, ref: str, user: str) -> Json:
    return await resolve("server", ref, user, get=c.get_server,
                         listing=lambda: c.list_servers(name=ref))  # fmt: skip


async def image(c: Any, ref: str, user: str) -> Json:
    return await resolve("image", ref, user, get=c.get, listing=lambda: c.list(name=ref))


async def network(c: Any, ref: str, user: str) -> Json:
    return await resolve("network", ref, user, get=c.get_network,
                         listing=lambda: c.list_networks(name=ref))  # fmt: skip
