"""Server records, flavors, and the Nova views of both.

Status follows Nova: BUILD (being made), ACTIVE (QEMU runs), SHUTOFF (no
QEMU), ERROR (could not be made; ``fault`` says why). ``task`` is the
action in progress (Nova's ``OS-EXT-STS:task_state``); while one runs,
another action is refused with 409.

An attachment is recorded before the volume is hot-plugged (``attaching``)
and before it is unplugged (``detaching``), so a restart finds every
half-done step and finishes or undoes it.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from typing import Any

from compute_glue.errors import BadRequest

STATUSES = ("BUILD", "ACTIVE", "SHUTOFF", "ERROR")
VM_STATE = {"BUILD": "building", "ACTIVE": "active", "SHUTOFF": "stopped", "ERROR": "error"}
POWER_STATE = {"ACTIVE": 1, "SHUTOFF": 4}  # Nova: 1 running, 4 shutdown, 0 no state
AVAILABILITY_ZONE = "nova"  # one compute host, in Nova's default zone


@dataclass(frozen=True)
class Flavor:
    id: str
    name: str
    vcpus: int
    ram: int  # MiB
    disk: int  # GiB

    def view(self, version: tuple[int, int] = (2, 1)) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": self.id,
            "name": self.name,
            "vcpus": self.vcpus,
            "ram": self.ram,
            "disk": self.disk,
            "swap": "",
            "OS-FLV-EXT-DATA:ephemeral": 0,
            "OS-FLV-DISABLED:disabled": False,
            "rxtx_factor": 1.0,
            "os-flavor-access:is_public": True,
            "links": [{"rel": "self", "href": f"/v2.1/flavors/{self.id}"}],
        }
        if version >= (2, 55):
            out["description"] = None
        if version >= (2, 61):
            out["extra_specs"] = {}
        return out


FLAVORS = (
    Flavor("1", "m1.tiny", 1, 256, 1),
    Flavor("2", "m1.small", 1, 512, 5),
    Flavor("3", "m1.medium", 2, 1024, 10),
    Flavor("4", "m1.large", 2, 2048, 20),
)


def find_flavor(ref: Any) -> Flavor:
    for flavor in FLAVORS:
        if ref in (flavor.id, flavor.name):
            return flavor
    raise BadRequest(f"Flavor {str(ref)[:64]} could not be found.", kind="badRequest")


def iso(ts: float | None) -> str | None:
    return None if ts is None else time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts))


@dataclass
class Attachment:
    """A volume of a server: its volume-service attachment and its QEMU names."""

    volume_id: str
    attachment_id: str
    state: str = "attaching"  # attaching, attached, detaching
    boot_index: int | None = None
    delete_on_termination: bool = False
    device: str = ""  # what the guest is told (/dev/vdX); the guest may name it otherwise
    generation: int = 0  # one more for each live migration (the block node is a new one)

    @property
    def key(self) -> str:
        return self.volume_id.replace("-", "")[:20]

    @property
    def node(self) -> str:
        return f"v{self.key}" + (f"g{self.generation}" if self.generation else "")

    @property
    def device_id(self) -> str:
        return f"d{self.key}"

    @property
    def secret_id(self) -> str:
        return f"s{self.key}" + (f"g{self.generation}" if self.generation else "")

    def view(self, server_id: str) -> dict[str, Any]:
        return {
            "id": self.volume_id,
            "volumeId": self.volume_id,
            "serverId": server_id,
            "device": self.device,
            "tag": None,
            "delete_on_termination": self.delete_on_termination,
            "attachment_id": self.attachment_id,
        }


@dataclass
class Server:
    id: str
    project: str
    user: str
    name: str
    flavor: dict[str, Any]
    image_id: str | None = None
    status: str = "BUILD"
    task: str | None = "scheduling"
    user_data: str | None = None
    metadata: dict[str, str] = field(default_factory=dict)
    ports: list[dict[str, Any]] = field(default_factory=list)  # {port_id, created}
    block_devices: list[dict[str, Any]] = field(default_factory=list)  # asked for at create
    boot: dict[str, Any] = field(default_factory=dict)  # kernel, initrd, cmdline, disk
    attachments: list[dict[str, Any]] = field(default_factory=list)
    pid: int | None = None
    pid_ticks: int | None = None
    qmp: str = ""
    fault: dict[str, Any] | None = None
    created_at: float = 0.0
    updated_at: float = 0.0
    launched_at: float | None = None
    # How the last stop ended: "acpi" (the guest powered off) or "forced" (it ignored ACPI
    # for compute.shutdown_timeout seconds, and QEMU was ended).
    power_off: str | None = None

    def to_record(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_record(cls, rec: dict[str, Any]) -> Server:
        known = set(cls.__dataclass_fields__)
        return cls(**{k: v for k, v in rec.items() if k in known})

    def volumes(self) -> list[Attachment]:
        return [Attachment(**a) for a in self.attachments]

    def find_volume(self, volume_id: str) -> Attachment | None:
        return next((a for a in self.volumes() if a.volume_id == volume_id), None)

    def put_volume(self, att: Attachment) -> None:
        self.attachments = [a for a in self.attachments if a["volume_id"] != att.volume_id]
        self.attachments.append(asdict(att))

    def drop_volume(self, volume_id: str) -> None:
        self.attachments = [a for a in self.attachments if a["volume_id"] != volume_id]

    def flavor_view(self, version: tuple[int, int]) -> dict[str, Any]:
        """Before 2.47 a reference to the flavor; from 2.47 a copy of what it was at create."""
        if version < (2, 47):
            fid = self.flavor.get("id", "")
            return {"id": fid, "links": [{"rel": "bookmark", "href": f"/flavors/{fid}"}]}
        return {
            "original_name": self.flavor["name"],
            "vcpus": self.flavor["vcpus"],
            "ram": self.flavor["ram"],
            "disk": self.flavor["disk"],
            "ephemeral": 0,
            "swap": 0,
            "extra_specs": {},
        }

    def view(
        self,
        addresses: dict[str, list[dict[str, Any]]],
        admin: bool,
        version: tuple[int, int] = (2, 1),
    ) -> dict[str, Any]:
        """Nova's server, with the fields the request's microversion adds."""
        out: dict[str, Any] = {
            "id": self.id,
            "name": self.name,
            "status": self.status,
            "tenant_id": self.project,
            "user_id": self.user,
            "image": {"id": self.image_id} if self.image_id else "",
            "flavor": self.flavor_view(version),
            "addresses": addresses,
            "hostId": "",
            "accessIPv4": "",
            "accessIPv6": "",
            "progress": 100 if self.status == "ACTIVE" else 0,
            "OS-DCF:diskConfig": "MANUAL",
            "OS-EXT-AZ:availability_zone": AVAILABILITY_ZONE,
            "OS-SRV-USG:terminated_at": None,
            **({"security_groups": [{"name": "default"}]} if self.ports else {}),
            "metadata": dict(self.metadata),
            "created": iso(self.created_at),
            "updated": iso(self.updated_at),
            "OS-EXT-STS:vm_state": VM_STATE.get(self.status, "error"),
            "OS-EXT-STS:task_state": self.task,
            "OS-EXT-STS:power_state": POWER_STATE.get(self.status, 0),
            "OS-SRV-USG:launched_at": iso(self.launched_at),
            "os-extended-volumes:volumes_attached": [
                {"id": a.volume_id, "delete_on_termination": a.delete_on_termination}
                for a in self.volumes()
                if a.state == "attached"
            ],
            "stratus:power_off": self.power_off,
            "key_name": None,
            "config_drive": "",
            "links": [{"rel": "self", "href": f"/v2.1/servers/{self.id}"}],
        }
        if version >= (2, 9):
            out["locked"] = False
        if version >= (2, 19):
            out["description"] = None
        if version >= (2, 26):
            out["tags"] = []
        if version >= (2, 63):
            out["trusted_image_certificates"] = None
        if version >= (2, 73):
            out["locked_reason"] = None
        if self.fault is not None and self.status == "ERROR":
            fault = dict(self.fault)
            if isinstance(fault.get("created"), int | float):
                fault["created"] = iso(fault["created"])
            out["fault"] = fault
        if admin:
            out["OS-EXT-SRV-ATTR:instance_name"] = f"stratus-{self.id}"
            out["stratus:pid"] = self.pid
        return out
