"""os-iscsi-sessions: the live iSCSI sessions per volume, for cloud admins (a Stratus extension).

Cinder has no such call; the console's cluster page shows these. Each entry is
one session read from the running target: the volume, its target, the initiator's
name, the portal it came in through (``portal``, the connection's local end), the
initiator's address (``peer``), ISID and TSIH (``session_id`` is both), and the
login time. No CHAP credentials. The LIO driver lists none.
"""

from __future__ import annotations

from aiohttp import web

from blockstore.api import views
from blockstore.api.context import ctx, ok


async def handle_iscsi_sessions(request: web.Request) -> web.Response:
    """Cloud admins only (admin of project ``admin``), else 403 in Cinder's shape."""
    c = ctx(request)
    found = await c.attachments.iscsi_sessions(c.caller)
    return ok({"sessions": [{**s, "connected_at": views.iso(s["connected_at"])} for s in found]})


def add_routes(router: web.UrlDispatcher, prefix: str) -> None:
    router.add_get(f"{prefix}/os-iscsi-sessions", handle_iscsi_sessions)
