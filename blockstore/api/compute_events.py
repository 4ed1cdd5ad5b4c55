"""Telling the compute service that a server's volume was force-detached here.

Nova learns of volume changes made on Cinder's side through its server
external events API (``POST /v2.1/os-server-external-events``); Cinder sends
``volume-extended`` that way. A force-detach is the same kind of news, sent
as a ``volume-detached`` event (a Stratus event name) whose tag is the volume
ID, with the token of the admin who forced it: the compute service unplugs the
disk from QEMU and drops the volume from the server's list.
"""

from __future__ import annotations

import logging

import aiohttp

log = logging.getLogger("blockstore.api")
TIMEOUT = aiohttp.ClientTimeout(total=120, sock_connect=5)
EVENT = "volume-detached"


async def volume_detached(compute_url: str, token: str, server_id: str, volume_id: str) -> bool:
    """Send the event; True if the compute service applied it (failures are logged only)."""
    body = {"events": [{"name": EVENT, "server_uuid": server_id, "tag": volume_id}]}
    url = f"{compute_url.rstrip('/')}/v2.1/os-server-external-events"
    try:
        async with (
            aiohttp.ClientSession(timeout=TIMEOUT) as session,
            session.post(url, json=body, headers={"X-Auth-Token": token}) as resp,
        ):
            answer = await resp.json(content_type=None) if resp.status == 200 else None
            if answer is None:
                log.warning(
                    "compute at %s refused the %s event of server %s (HTTP %d)",
                    compute_url, EVENT, server_id, resp.status,
                )  # fmt: skip
                return False
    except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
        log.warning("compute at %s not told that server %s lost volume %s: %s",
                    compute_url, server_id, volume_id, exc)  # fmt: skip
        return False
    events = answer.get("events") if isinstance(answer, dict) else None
    ok = bool(events) and all(e.get("code") == 200 for e in events if isinstance(e, dict))
    if not ok:
        log.warning("compute did not apply the %s event of server %s: %s", EVENT, server_id,
                    events)  # fmt: skip
    return ok
