"""A device of the ring: one disk (directory) of one storage node, in its failure domains."""

from __future__ import annotations

import ipaddress
import math
import re
from dataclasses import asdict, dataclass
from typing import Any

from ring.errors import RingBuilderError

# Device ids index a 16-bit table; 0xFFFF marks an empty slot in the builder.
MAX_DEVICE_ID = 0xFFFE
_DEVICE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
_HOSTNAME = re.compile(
    r"^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$"
)
_IPV4 = re.compile(r"^(?:(?:0|[1-9][0-9]{0,2})\.){3}(?:0|[1-9][0-9]{0,2})$")
MAX_META = 1024


@dataclass(frozen=True)
class Device:
    """Where a replica can live. region > zone > node (ip) > device is the failure-domain path."""

    id: int
    region: int
    zone: int
    ip: str
    port: int
    device: str
    weight: float
    meta: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, raw: Any) -> Device:
        """Build and validate a device read from a file (raises RingBuilderError)."""
        if not isinstance(raw, dict):
            raise RingBuilderError(f"device entry must be an object, got {type(raw).__name__}")
        try:
            dev = cls(
                id=raw["id"],
                region=raw["region"],
                zone=raw["zone"],
                ip=raw["ip"],
                port=raw["port"],
                device=raw["device"],
                weight=raw["weight"],
                meta=raw.get("meta", ""),
            )
        except KeyError as exc:
            raise RingBuilderError(f"device entry lacks {exc.args[0]!r}") from None
        return validate_device(dev)

    @property
    def label(self) -> str:
        """A short human name: r1z2-10.0.0.1:6200/sdb."""
        host = f"[{self.ip}]" if ":" in self.ip else self.ip
        return f"r{self.region}z{self.zone}-{host}:{self.port}/{self.device}"


def _int(name: str, value: Any, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise RingBuilderError(
            f"device {name} must be an integer in [{low}, {high}], not {value!r}"
        )
    return value


def validate_ip(ip: Any) -> str:
    """An IPv4/IPv6 address or a DNS name; anything else could not be dialled."""
    if not isinstance(ip, str) or not ip:
        raise RingBuilderError(f"device ip must be a non-empty string, not {ip!r}")
    if _IPV4.match(ip) and all(int(octet) < 256 for octet in ip.split(".")):
        return ip  # canonical dotted quad: the common case, kept cheap for ring loads
    try:
        return str(ipaddress.ip_address(ip))
    except ValueError:
        pass
    if _HOSTNAME.match(ip) and not ip.rsplit(".", 1)[-1].isdigit():
        return ip.lower()  # a numeric last label would be a mistyped address
    raise RingBuilderError(f"device ip {ip!r} is neither an IP address nor a host name")


def validate_device(dev: Device) -> Device:
    """Check every field; returns the device with normalised ip and float weight."""
    _int("id", dev.id, 0, MAX_DEVICE_ID)
    _int("region", dev.region, 0, 2**31 - 1)
    _int("zone", dev.zone, 0, 2**31 - 1)
    _int("port", dev.port, 1, 65535)
    ip = validate_ip(dev.ip)
    if not isinstance(dev.device, str) or not _DEVICE_NAME.match(dev.device):
        raise RingBuilderError(
            f"device name {dev.device!r} must be 1-64 characters of A-Z a-z 0-9 . _ - "
            "and start with a letter or digit"
        )
    weight = dev.weight
    if isinstance(weight, bool) or not isinstance(weight, int | float) or not math.isfinite(weight):
        raise RingBuilderError(f"device weight must be a finite number, not {weight!r}")
    if weight < 0:
        raise RingBuilderError(f"device weight must be >= 0, not {weight!r}")
    if not isinstance(dev.meta, str) or len(dev.meta) > MAX_META:
        raise RingBuilderError(f"device meta must be a string of at most {MAX_META} characters")
    return Device(dev.id, dev.region, dev.zone, ip, dev.port, dev.device, float(weight), dev.meta)
