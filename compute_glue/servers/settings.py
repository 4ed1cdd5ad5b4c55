"""The compute host's settings, as the service reads them from ``[compute]`` and ``[image]``."""

from __future__ import annotations

import socket
from dataclasses import dataclass, field


@dataclass
class ComputeSettings:
    image_url: str = "http://127.0.0.1:9292"
    volume_url: str = "http://127.0.0.1:8776"
    qemu: str = "qemu-system-x86_64"
    qemu_img: str = "qemu-img"
    accel: str = "tcg"
    machine: str = "pc"
    shutdown_timeout: float = 10.0
    detach_timeout: float = 60.0
    qmp_timeout: float = 30.0
    initiator_prefix: str = "iqn.2026-11.io.stratus.compute"
    image_container: str = "stratus-images"
    max_virtual_size: int = 1024**4  # image.max_virtual_size_gb
    host: str = field(default_factory=socket.gethostname)

    def initiator(self, server_id: str) -> str:
        """The iSCSI initiator name a server's volumes are exported to."""
        return f"{self.initiator_prefix}:{server_id}"
