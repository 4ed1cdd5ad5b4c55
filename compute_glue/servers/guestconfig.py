"""What a server's guest is told at boot: its user data's fw_cfg name, its NICs' static addresses.

These names are a contract between the compute service and the guest's
boot code (the test guest's ``/init`` in :mod:`compute_glue.guest_image`
reads both), so they live here, in production code, and the test-guest
builder imports them; the compute service never imports the builder.
"""

from __future__ import annotations

import re

# The base64 user data as a QEMU fw_cfg file (``-fw_cfg name=...,file=...``): it stays off
# every command line (the host's ``ps`` and the guest's /proc/cmdline).
USER_DATA_FW_CFG = "opt/io.stratus/user_data"
# ``stratus.net<N>=<mac>,<address>/<prefix>[,<gateway>]``: static addresses for NICs.
NET_PARAM = "stratus.net"


class GuestConfigError(ValueError):
    """A value that cannot be handed to the guest as given."""


def net_param(index: int, mac: str, address: str, gateway: str | None = None) -> str:
    """The kernel parameter that gives the NIC with ``mac`` the ``address/prefix``."""
    if not re.fullmatch(r"[0-9a-f]{2}(:[0-9a-f]{2}){5}", mac):
        raise GuestConfigError(f"invalid MAC address {mac!r}")
    if not re.fullmatch(r"[0-9.]+/[0-9]{1,2}", address):
        raise GuestConfigError(f"invalid address {address!r}: want a.b.c.d/prefix")
    if gateway is not None and not re.fullmatch(r"[0-9.]+", gateway):
        raise GuestConfigError(f"invalid gateway {gateway!r}")
    value = f"{mac},{address}" + (f",{gateway}" if gateway else "")
    return f"{NET_PARAM}{index}={value}"
