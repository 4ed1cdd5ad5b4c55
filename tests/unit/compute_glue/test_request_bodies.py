"""The compute, network and image request bodies, parsed at the edge into typed requests."""

from __future__ import annotations

import pytest

from compute_glue.errors import BadRequest, Forbidden
from compute_glue.images.model import Image, apply, image_create, image_patch
from compute_glue.networks import bodies as net
from compute_glue.servers import bodies as nova
from compute_glue.servers.guestconfig import GuestConfigError, net_param
from stratus.identity import Principal

MEMBER = Principal("alpha", "user", ("member", "reader"))
READER = Principal("alpha", "reader", ("reader",))
IMAGE = "0b8a7e3c-6a5e-4c53-9d5c-2a3f0a2f4d11"


def test_a_server_create_becomes_typed_values() -> None:
    req = nova.server_create(
        {
            "name": "vm",
            "flavorRef": "m1.small",
            "imageRef": IMAGE,
            "metadata": {"k": "v"},
            "networks": [{"uuid": "n1", "fixed_ip": "10.0.0.5"}, {"port": "p1"}],
            "block_device_mapping_v2": [
                {"source_type": "image", "destination_type": "local", "uuid": IMAGE,
                 "boot_index": "0"},
                {"source_type": "volume", "uuid": "v1", "boot_index": 1,
                 "delete_on_termination": "false"},
            ],
        },
        "alpha",
    )  # fmt: skip
    assert req.flavor.name == "m1.small" and req.image_id == IMAGE and req.user_data is None
    (bdm,) = req.block_devices
    assert bdm.record() == {"source_type": "volume", "uuid": "v1", "boot_index": 1,
                            "volume_size": None, "delete_on_termination": False}  # fmt: skip
    assert req.networks == (
        net.PortRequest(network_id="n1", fixed_ip="10.0.0.5"),
        net.PortRequest(port_id="p1"),
    )
    assert (
        nova.server_create({"name": "a", "flavorRef": "1", "imageRef": IMAGE}, "p").networks is None
    )
    none = nova.server_create({"name": "a", "flavorRef": "1", "imageRef": IMAGE,
                               "networks": "none"}, "p")  # fmt: skip
    assert none.networks == ()


@pytest.mark.parametrize(
    "extra,message",
    [
        ({"key_name": "k"}, "Key pairs"),
        ({"min_count": 2}, "min_count"),
        ({"networks": [{}]}, "'uuid' or 'port'"),
        ({"user_data": "not base64!"}, "not valid base64"),
        ({"imageRef": None}, "give imageRef or a boot volume"),
    ],
)
def test_server_create_refusals_name_the_problem(extra: dict, message: str) -> None:
    with pytest.raises(BadRequest, match=message) as info:
        nova.server_create({"name": "a", "flavorRef": "1", "imageRef": IMAGE, **extra}, "p")
    assert info.value.kind == "badRequest"


def test_actions_attachments_and_events() -> None:
    assert nova.server_action({"reboot": {"type": "hard"}}).reboot_type == "HARD"
    assert nova.server_action({"os-getConsoleOutput": {"length": -1}}).console_length is None
    assert nova.server_action({"pause": None}).name == "pause"
    with pytest.raises(BadRequest, match="SOFT or HARD"):
        nova.server_action({"reboot": None})
    with pytest.raises(BadRequest, match=r"2\.79"):
        nova.volume_attach({"volumeId": "v", "delete_on_termination": True}, at_2_79=False)
    assert nova.volume_attach({"volumeId": "v", "delete_on_termination": "yes"}, at_2_79=True) == (
        nova.VolumeAttach("v", True)
    )
    (ev,) = nova.external_events(
        {"events": [{"name": "volume-detached", "server_uuid": "s", "tag": "v"}]}
    )
    assert (ev.server_id, ev.volume_id, ev.body["name"]) == ("s", "v", "volume-detached")


def test_network_bodies_check_attributes_then_the_writer_then_values() -> None:
    with pytest.raises(BadRequest, match="Unrecognized attribute"):
        net.network_create({"bogus": 1}, READER)
    with pytest.raises(Forbidden):
        net.network_create({"mtu": "x"}, READER)
    with pytest.raises(BadRequest, match="mtu"):
        net.network_create({"mtu": "x"}, MEMBER)
    assert net.network_create({"name": "n"}, MEMBER) == net.NetworkCreate("alpha", name="n")
    spec = net.shape({"name": "m"}, net.NETWORK_UPDATE, "network", MEMBER)
    assert net.network_update(spec) == net.NetworkUpdate(name="m")
    port = net.port_create({"network_id": "n", "fixed_ips": [{"subnet_id": 5}]}, MEMBER)
    assert port.fixed_ips == (net.FixedIp(subnet_id=""),)  # a non-string names no subnet
    sub = net.subnet_create({"network_id": "n", "cidr": "10.1.0.0/24"}, MEMBER)
    assert str(sub.gateway) == "10.1.0.1" and sub.allocation_pools[0]["start"] == "10.1.0.2"


def test_image_patch_operations_are_refused_in_order() -> None:
    img = image_create({"name": "n", "os_type": "linux"}, admin=False).image("alpha", "u", 1.0)
    assert isinstance(img, Image) and img.properties == {"os_type": "linux"}
    ops = image_patch([{"op": "remove", "path": "/nope"}, {"op": "bogus", "path": "/x"}])
    with pytest.raises(BadRequest, match="does not exist"):  # the first operation's refusal
        apply(img, ops, admin=False)
    ops = image_patch([{"op": "replace", "path": "/name", "value": "m"}, {"path": 1}])
    with pytest.raises(BadRequest, match="needs 'op' and a 'path'"):
        apply(img, ops, admin=False)


def test_guest_net_parameters() -> None:
    assert net_param(0, "fa:16:3e:00:00:01", "10.0.0.5/24", "10.0.0.1") == (
        "stratus.net0=fa:16:3e:00:00:01,10.0.0.5/24,10.0.0.1"
    )
    with pytest.raises(GuestConfigError):
        net_param(1, "FA:16", "10.0.0.5/24")
