"""The service catalog: where each Stratus service answers, per project.

Built once from the configuration (the real ports of every service), then
filled in with the token's project. Every service gets public, internal and
admin endpoints with the same URL, in one region.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from stratus.config import Config

_WILDCARDS = {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}
INTERFACES = ("public", "internal", "admin")


def _base(host: str, port: int, catalog_host: str = "") -> str:
    host = catalog_host or _WILDCARDS.get(host, host)
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"
    return f"http://{host}:{port}"


def identity_base(cfg: Config) -> str:
    """Where clients reach the identity API, without ``/v3``."""
    ident = cfg.identity
    return ident.public_url.rstrip("/") or _base(ident.host, ident.port, ident.catalog_host)


@dataclass(frozen=True)
class Catalog:
    """Base URLs of the services; ``entries(project)`` is a token's ``catalog``."""

    identity: str
    object_store: str
    volume: str
    image: str
    compute: str
    network: str
    region: str = "RegionOne"

    @classmethod
    def from_config(cls, cfg: Config) -> Catalog:
        h = cfg.identity.catalog_host
        return cls(
            identity=identity_base(cfg),
            object_store=cfg.identity.storage_url_base.rstrip("/")
            or _base(cfg.proxy.host, cfg.proxy.port, h),
            volume=_base(cfg.volume.host, cfg.volume.port, h),
            image=_base(cfg.image.host, cfg.image.port, h),
            compute=_base(cfg.compute.host, cfg.compute.port, h),
            network=cfg.identity.network_url.rstrip("/")
            or _base(cfg.network.host, cfg.network.port, h),
            region=cfg.identity.region,
        )

    def services(self, project: str) -> list[tuple[str, str, str]]:
        """(type, name, url) of every service, as ``project`` sees it."""
        return [
            ("identity", "keystone", f"{self.identity}/v3/"),
            ("object-store", "swift", f"{self.object_store}/v1/AUTH_{project}"),
            ("volumev3", "cinderv3", f"{self.volume}/v3/{project}"),
            ("block-storage", "cinder", f"{self.volume}/v3/{project}"),
            ("image", "glance", self.image),
            ("compute", "nova", f"{self.compute}/v2.1"),
            ("network", "neutron", self.network),
        ]

    def entries(self, project: str) -> list[dict[str, Any]]:
        """Keystone's ``catalog`` list for a token scoped to ``project``."""
        return [
            {
                "id": _hex("service", stype),
                "type": stype,
                "name": name,
                "endpoints": [
                    {
                        "id": _hex("endpoint", stype, iface),
                        "interface": iface,
                        "region": self.region,
                        "region_id": self.region,
                        "url": url,
                    }
                    for iface in INTERFACES
                ],
            }
            for stype, name, url in self.services(project)
        ]


def _hex(*parts: str) -> str:
    """A stable 32-hex-digit id for a catalog entry (Keystone's look like uuids)."""
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()[:32]
