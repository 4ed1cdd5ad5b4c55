"""The compute API's request bodies, parsed at the edge into typed requests.

Each parser checks the JSON a Nova client sent, in the order the checks
have always run, and returns a frozen dataclass; the server manager and
its volume service take those, never raw JSON. Errors are Nova's
``badRequest`` with the messages clients have always seen.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any, Literal

from compute_glue.errors import BadRequest
from compute_glue.networks.bodies import PortRequest
from compute_glue.networks.model import default_group_id
from compute_glue.servers.model import AVAILABILITY_ZONE, Flavor, find_flavor

MAX_NAME = 255
MAX_VOLUMES = 16
MAX_NETWORKS = 8
MAX_USER_DATA = 65535  # Nova's limit on the base64 text
MAX_EVENTS = 64
TRUE_WORDS = ("true", "1", "on", "yes")
FALSE_WORDS = ("false", "0", "off", "no")
EVENTS = ("volume-detached",)  # a Stratus event: the volume service force-detached tag


def _bad(message: str) -> BadRequest:
    return BadRequest(message, kind="badRequest")


# -- create --------------------------------------------------------------------------------


@dataclass(frozen=True)
class BlockDevice:
    """One volume of Nova's block_device_mapping_v2: a volume, or one made from an image."""

    source_type: Literal["volume", "image"]
    uuid: str
    boot_index: int | None
    volume_size: int | None
    delete_on_termination: bool

    def record(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class ServerCreate:
    """``POST /servers``. ``networks`` None means Nova's "auto" (the project's only network)."""

    name: str
    flavor: Flavor
    image_id: str | None
    block_devices: tuple[BlockDevice, ...]
    metadata: dict[str, str]
    user_data: str | None
    networks: tuple[PortRequest, ...] | None


def server_create(spec: dict[str, Any], project: str) -> ServerCreate:
    """The ``server`` element of a create request, every part checked."""
    if not isinstance(spec, dict):
        raise _bad("Invalid input: 'server' must be an object.")
    name = spec.get("name")
    if not isinstance(name, str) or not 0 < len(name) <= MAX_NAME:
        raise _bad("Invalid input: name must be 1 to 255 characters.")
    flavor = find_flavor(spec.get("flavorRef"))
    image_id = spec.get("imageRef") or None
    if image_id is not None and not isinstance(image_id, str):
        raise _bad("Invalid input: imageRef must be an image id.")
    image_id, raw_bdms = image_boot(image_id, spec.get("block_device_mapping_v2"))
    bdms = block_devices(raw_bdms)
    _check_unsupported(spec, project)
    if image_id is None and not any(b.boot_index == 0 for b in bdms):
        raise _bad("Invalid input: give imageRef or a boot volume.")
    metadata = spec.get("metadata", {})
    if not isinstance(metadata, dict) or not all(
        isinstance(k, str) and isinstance(v, str) and len(k) <= 255 and len(v) <= 255
        for k, v in metadata.items()
    ):
        raise _bad("Invalid input: metadata must map strings to strings.")
    return ServerCreate(
        name=name,
        flavor=flavor,
        image_id=image_id,
        block_devices=bdms,
        metadata=dict(metadata),
        user_data=user_data(spec.get("user_data")),
        networks=networks(spec.get("networks", "auto")),
    )


def image_boot(image_id: str | None, value: Any) -> tuple[str | None, Any]:
    """Split off the mapping that says "boot the image on a local disk" (what imageRef means).

    The ``openstack`` CLI sends it with every ``--image`` boot; it names the
    same image as ``imageRef``, or stands in for it. The rest is returned as is.
    """
    if not isinstance(value, list):
        return image_id, value
    rest = []
    for bdm in value:
        if (
            isinstance(bdm, dict)
            and bdm.get("source_type") == "image"
            and bdm.get("destination_type") == "local"
        ):
            if _boot_index(bdm.get("boot_index")) != 0 or not isinstance(bdm.get("uuid"), str):
                raise _bad("An image on a local disk must be the boot device (boot_index 0).")
            if image_id is not None and bdm["uuid"] != image_id:
                raise _bad("The boot image mapping names another image than imageRef.")
            image_id = bdm["uuid"]
        else:
            rest.append(bdm)
    return image_id, rest


def boolean(raw: Any, name: str) -> bool:
    """Nova's boolean parameter: a JSON boolean or one of its words ("false" is False)."""
    if isinstance(raw, bool):
        return raw
    if isinstance(raw, str) and raw.lower() in TRUE_WORDS + FALSE_WORDS:
        return raw.lower() in TRUE_WORDS
    raise _bad(f"Invalid input: {name} must be a boolean.")


def _boot_index(raw: Any) -> int | None:
    """Nova's boot_index: an integer or its digits; negative (or none) means "not bootable"."""
    if raw is None:
        return None
    if isinstance(raw, str) and re.fullmatch(r"-?\d{1,3}", raw):
        raw = int(raw)
    if isinstance(raw, bool) or not isinstance(raw, int):
        raise _bad("boot_index must be an integer.")
    return raw if raw >= 0 else None


def block_devices(value: Any) -> tuple[BlockDevice, ...]:
    """Nova's block_device_mapping_v2, reduced to what this compute does: volumes."""
    if value is None:
        return ()
    if not isinstance(value, list) or len(value) > MAX_VOLUMES:
        raise _bad("block_device_mapping_v2 must be a list of at most 16.")
    out = []
    for bdm in value:
        if not isinstance(bdm, dict):
            raise _bad("Each block device mapping must be an object.")
        source = bdm.get("source_type")
        if source not in ("volume", "image") or bdm.get("destination_type", "volume") != "volume":
            raise _bad("Only volume destinations from a volume or an image are supported.")
        if not isinstance(bdm.get("uuid"), str):
            raise _bad("Each block device mapping needs a uuid.")
        boot_index = _boot_index(bdm.get("boot_index"))
        size = bdm.get("volume_size")
        if source == "image" and (not isinstance(size, int) or size <= 0):
            raise _bad("A volume made from an image needs volume_size.")
        delete = boolean(
            bdm.get("delete_on_termination", source == "image"), "delete_on_termination"
        )
        out.append(BlockDevice(source, bdm["uuid"], boot_index, size, delete))
    return tuple(out)


def user_data(value: Any) -> str | None:
    """Nova's user_data: base64 text of at most 65535 characters."""
    if value is None:
        return None
    if not isinstance(value, str) or len(value) > MAX_USER_DATA:
        raise _bad(f"user_data must be base64 text of at most {MAX_USER_DATA} characters.")
    try:
        base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise _bad("user_data is not valid base64.") from None
    return value


def networks(value: Any) -> tuple[PortRequest, ...] | None:
    """Nova's ``networks``: "auto" (None here), "none", or up to 8 ports or networks."""
    if value == "auto":
        return None
    if value in ("none", None):
        return ()
    if not isinstance(value, list) or len(value) > MAX_NETWORKS:
        raise _bad("Invalid input: networks must be a list of at most 8.")
    out = []
    for entry in value:
        if not isinstance(entry, dict) or not ({"uuid", "port"} & set(entry)):
            raise _bad("Each network needs 'uuid' or 'port'.")
        out.append(PortRequest.of(entry))
    return tuple(out)


def _check_unsupported(spec: dict[str, Any], project: str) -> None:
    """Refuse, by name, the parts of Nova's create this compute does not do (never ignore them)."""
    if spec.get("key_name") is not None:
        raise _bad(
            "Key pairs are not supported by this compute: put the public key in the user data."
        )
    groups = spec.get("security_groups") or []
    default = ("default", default_group_id(project))
    if not isinstance(groups, list) or not all(
        isinstance(g, dict) and g.get("name") in default for g in groups
    ):
        raise _bad(
            "Only the 'default' security group exists here (a network is open within itself)."
        )
    zone = spec.get("availability_zone")
    if zone is not None and zone != AVAILABILITY_ZONE:
        raise _bad(f"The requested availability zone is not available: only {AVAILABILITY_ZONE!r}.")
    for key in ("min_count", "max_count"):
        count = spec.get(key, 1)
        if count not in (1, "1") or isinstance(count, bool):
            raise _bad(f"Invalid input: {key} must be 1 here.")
    if spec.get("personality"):
        raise _bad("Personality files are not supported: use user_data.")


# -- actions -------------------------------------------------------------------------------


@dataclass(frozen=True)
class ServerAction:
    """``POST /servers/{id}/action``: the one action named, with its arguments."""

    name: str
    reboot_type: Literal["SOFT", "HARD"] = "SOFT"
    console_length: int | None = None  # os-getConsoleOutput: None is every line


def server_action(body: Any) -> ServerAction:
    """The action body; an action that is not this compute's keeps only its name."""
    if not isinstance(body, dict) or len(body) != 1:
        raise _bad("The action body must name exactly one action.")
    ((action, args),) = body.items()
    if action == "reboot":
        kind = str(args.get("type", "SOFT") if isinstance(args, dict) else None).upper()
        if kind not in ("SOFT", "HARD"):
            raise _bad("Invalid input: reboot type must be SOFT or HARD.")
        return ServerAction(action, reboot_type="HARD" if kind == "HARD" else "SOFT")
    if action == "os-getConsoleOutput":
        length = args.get("length") if isinstance(args, dict) else None
        if length is not None and (
            isinstance(length, bool) or not isinstance(length, int) or length < -1
        ):
            raise _bad("length must be an integer.")
        return ServerAction(action, console_length=None if length == -1 else length)
    return ServerAction(action)


# -- volumes -------------------------------------------------------------------------------


@dataclass(frozen=True)
class VolumeAttach:
    """``POST /servers/{id}/os-volume_attachments``."""

    volume_id: str
    delete_on_termination: bool = False


def volume_attach(spec: dict[str, Any], *, at_2_79: bool) -> VolumeAttach:
    """The ``volumeAttachment`` element; ``delete_on_termination`` needs microversion 2.79."""
    if "delete_on_termination" in spec and not at_2_79:
        raise _bad("delete_on_termination needs microversion 2.79 or later.")
    volume_id = spec.get("volumeId")
    if not isinstance(volume_id, str) or not 0 < len(volume_id) <= 64:
        raise _bad("Invalid input: volumeId must be a volume id.")
    delete = boolean(spec.get("delete_on_termination", False), "delete_on_termination")
    return VolumeAttach(volume_id, delete)


@dataclass(frozen=True)
class VolumeDetached:
    """One ``volume-detached`` server external event; ``body`` is echoed in the answer."""

    server_id: str
    volume_id: str
    body: Mapping[str, Any]


def external_events(body: Any) -> tuple[VolumeDetached, ...]:
    """``POST /os-server-external-events``: 1 to 64 events this compute knows."""
    events = body.get("events") if isinstance(body, dict) else None
    if not isinstance(events, list) or not events or len(events) > MAX_EVENTS:
        raise _bad("events must be a list of 1 to 64 events.")
    out = []
    for ev in events:
        if not isinstance(ev, dict) or ev.get("name") not in EVENTS:
            raise _bad(f"Supported events: {', '.join(EVENTS)}.")
        server_id, tag = ev.get("server_uuid"), ev.get("tag")
        if not isinstance(server_id, str) or not isinstance(tag, str):
            raise _bad("Each event needs server_uuid and tag.")
        out.append(VolumeDetached(server_id, tag, ev))
    return tuple(out)
