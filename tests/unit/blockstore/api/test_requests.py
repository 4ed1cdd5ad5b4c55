"""The volume API's request bodies parsed at the edge: shapes, aliases, microversions,
and the same refusals as before the typed objects."""

from __future__ import annotations

import pytest

from blockstore.api import requests
from blockstore.manager import BadRequest


def test_a_volume_body_keeps_cinders_aliases_and_zone() -> None:
    req = requests.parse_volume_create({"size": 1, "display_name": "n", "imageRef": "c/o"})
    assert isinstance(req, requests.VolumeCreate)
    assert (req.size, req.name, req.image_ref) == (1, "n", "c/o")
    named = requests.parse_volume_create({"name": None, "display_name": "n"})
    assert isinstance(named, requests.VolumeCreate) and named.name is None  # as dict.get
    with pytest.raises(BadRequest, match="Availability zone 'mars' is invalid"):
        requests.parse_volume_create({"availability_zone": "mars"})
    with pytest.raises(BadRequest, match="'volume' must be an object"):
        requests.parse_volume_create([1])


def test_a_volume_from_a_backup_is_its_own_request() -> None:
    req = requests.parse_volume_create({"backup_id": "b", "display_name": "ignored"})
    assert req == requests.VolumeFromBackup("b", None, None)


@pytest.mark.parametrize(
    ("body", "version", "force"),
    [
        ({"volume_id": "v"}, (3, 0), False),
        ({"volume_id": "v", "force": "true"}, (3, 0), "true"),
        ({"volume_id": "v"}, (3, 66), True),
        ({"volume_id": "v", "force": True}, (3, 66), True),
    ],
)
def test_snapshot_force_follows_the_microversion(body, version, force) -> None:
    assert requests.SnapshotCreate.parse(body, version).force == force


def test_force_false_is_refused_from_3_66() -> None:
    with pytest.raises(BadRequest, match="not allowed to be false"):
        requests.SnapshotCreate.parse({"volume_id": "v", "force": False}, (3, 66))


def test_actions_and_their_arguments() -> None:
    assert requests.one_action({"os-extend": {"new_size": 2}}) == ("os-extend", {"new_size": 2})
    assert requests.Extend.parse({"new_size": 2}).new_size == 2
    assert requests.Detach.parse(None).attachment_id is None
    assert requests.ResetStatus.parse_lenient("x").status is None
    with pytest.raises(BadRequest, match="exactly one key"):
        requests.one_action({"a": 1, "b": 2})
    with pytest.raises(BadRequest, match="arguments must be an object"):
        requests.Extend.parse([2])


def test_attachment_bodies() -> None:
    req = requests.AttachmentCreate.parse({"volume_uuid": "v", "connector": {}})
    assert req.connector is None  # an empty connector only reserves, as in Cinder
    with pytest.raises(BadRequest, match="needs a connector"):
        requests.AttachmentUpdate.parse({"mode": "rw"})


def test_list_queries() -> None:
    q = requests.ListQuery.parse(
        {"name": "a", "all_tenants": "1", "project_id": "p", "metadata": '{"k": "v"}'},
        ("name", "status"),
        metadata=True,
    )
    assert q.filters == {"name": "a", "status": None, "project": "p", "metadata": {"k": "v"}}
    assert q.all_projects
    with pytest.raises(BadRequest, match="metadata filter must be JSON"):
        requests.ListQuery.parse({"metadata": "{"}, ("name",), metadata=True)


def test_qos_specs_come_flat_or_nested() -> None:
    req = requests.QosCreate.parse({"name": "q", "read_iops_sec": "5", "specs": {"a": "1"}})
    assert (req.name, req.consumer, req.specs) == ("q", None, {"read_iops_sec": "5", "a": "1"})
