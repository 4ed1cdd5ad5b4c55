"""The volume API's request bodies parsed at the edge: shapes, aliases, microversions,
and the same refusals as before the typed objects."""

from __future__ import annotations

import pytest

from blockstore.api import requests
from blockstore.manager import BadRequest, validate
from blockstore.manager.attachments import check_connector


def test_a_volume_body_keeps_cinders_aliases_and_zone() -> None:
    req = requests.parse_volume_create({"size": 1, "display_name": "n", "imageRef": "c/o"})
    assert isinstance(req, requests.VolumeCreate)
    assert (req.size, req.name, req.image_ref) == (1, "n", "c/o")
    named = requests.parse_volume_create({"size": 1, "name": None, "display_name": "n"})
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
        ({"volume_id": "v", "force": "true"}, (3, 0), True),
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


# -- typed values: parsed at the edge with the services' own checks ------------------------

INITIATOR = "iqn.2024-01.org.stratus.test:unit"


def test_a_volume_body_becomes_typed_values() -> None:
    req = requests.parse_volume_create(
        {
            "size": "3",
            "name": "n",
            "display_description": "d",
            "volume_type": "fast",
            "metadata": {"k": "v"},
            "multiattach": "yes",
        },
        max_gb=10,
    )
    assert req == requests.VolumeCreate(
        size=3,
        name="n",
        description="d",
        volume_type="fast",
        metadata={"k": "v"},
        multiattach=True,
    )
    assert isinstance(req.size, int) and isinstance(req.multiattach, bool)
    copy = requests.parse_volume_create({"snapshot_id": 12})
    assert copy == requests.VolumeCreate(snapshot_id="12")  # looked up as a string; size: its own


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({}, "size must be an integer"),
        ({"size": 11}, "size must be <= 10"),
        ({"size": True}, "size must be an integer"),
        ({"size": 1, "name": 5}, "name must be a string"),
        ({"size": 1, "description": "x" * 1025}, "longer than 1024"),
        ({"size": 1, "metadata": {"k": 1}}, "values must be strings"),
        ({"size": 1, "multiattach": "perhaps"}, "multiattach must be a boolean"),
        ({"size": 1, "volume_type": 7}, "volume_type must be a string"),
        ({"size": 1, "imageRef": 7}, "imageRef must be"),
        ({"snapshot_id": "s", "imageRef": "c/o"}, "at most one of"),
        # The services' order: the sources first, then the size, then the texts.
        ({"snapshot_id": "s", "source_volid": "v", "size": "x"}, "at most one of"),
        ({"size": "x", "name": 5}, "size must be an integer"),
    ],
)
def test_a_bad_volume_value_is_the_services_refusal(spec: dict, message: str) -> None:
    with pytest.raises(BadRequest, match=message):
        requests.parse_volume_create(spec, max_gb=10)


def test_the_image_check_is_the_image_sources() -> None:
    seen: list[object] = []

    def check(ref: object) -> str:
        seen.append(ref)
        raise BadRequest("Invalid input received: no object store")

    with pytest.raises(BadRequest, match="no object store"):
        requests.parse_volume_create({"size": 1, "imageRef": "c/o"}, check_image=check)
    assert seen == ["c/o"]


def test_actions_carry_typed_values() -> None:
    assert requests.Extend.parse({"new_size": "4"}, max_gb=10) == requests.Extend(4)
    with pytest.raises(BadRequest, match="new_size must be <= 10"):
        requests.Extend.parse({"new_size": 11}, max_gb=10)
    with pytest.raises(BadRequest, match="new_size must be an integer"):
        requests.Extend.parse({})
    assert requests.SetFlag.parse({"readonly": "off"}, "readonly") == requests.SetFlag(
        "readonly", False
    )
    with pytest.raises(BadRequest, match="bootable must be a boolean"):
        requests.SetFlag.parse({}, "bootable")


def test_snapshot_and_backup_bodies_are_typed() -> None:
    snap = requests.SnapshotCreate.parse(
        {"volume_id": "v", "display_name": "s", "metadata": {"a": "b"}, "force": "1"}, (3, 0)
    )
    assert snap == requests.SnapshotCreate("v", name="s", force=True, metadata={"a": "b"})
    with pytest.raises(BadRequest, match="a snapshot needs a volume_id"):
        requests.SnapshotCreate.parse({"volume_id": 5, "name": 7}, (3, 0))
    with pytest.raises(BadRequest, match="force must be a boolean"):
        requests.SnapshotCreate.parse({"volume_id": "v", "force": "x"}, (3, 0))
    bk = requests.BackupCreate.parse({"volume_id": "v", "incremental": "true"})
    assert bk == requests.BackupCreate("v", incremental=True)
    with pytest.raises(BadRequest, match="a backup needs a volume_id"):
        requests.BackupCreate.parse({"name": "b"})
    with pytest.raises(BadRequest, match="incremental must be a boolean"):
        requests.BackupCreate.parse({"volume_id": "v", "incremental": "x", "force": "y"})


def test_attachment_bodies_are_typed() -> None:
    req = requests.AttachmentCreate.parse(
        {"volume_uuid": "v", "mode": "ro", "connector": {"initiator": INITIATOR, "x": [1]}}
    )
    assert req == requests.AttachmentCreate(
        "v",
        mode="ro",
        connector={"initiator": INITIATOR},  # non-scalars dropped, as before
    )
    assert requests.AttachmentCreate.parse({"volume_uuid": "v", "mode": "null"}).mode is None
    with pytest.raises(BadRequest, match="an attachment needs a volume_uuid"):
        requests.AttachmentCreate.parse({"mode": "rw"})
    with pytest.raises(BadRequest, match="mode must be rw or ro"):
        requests.AttachmentCreate.parse({"volume_uuid": "v", "mode": "rx"})
    with pytest.raises(BadRequest, match="connector needs an 'initiator'"):
        requests.AttachmentUpdate.parse({"connector": {"initiator": "nope"}})


def test_the_checks_take_typed_values_unchanged() -> None:
    """The services check again for direct callers: a parsed value passes as it is."""
    req = requests.parse_volume_create(
        {"size": "2", "name": "n", "metadata": {"k": "v"}, "multiattach": "t"}, max_gb=5
    )
    assert isinstance(req, requests.VolumeCreate)
    assert validate.size_gb(req.size, maximum=5) == req.size
    assert validate.text(req.name, "name") == req.name
    assert validate.metadata(req.metadata) == req.metadata
    assert validate.boolean(req.multiattach, "multiattach") is req.multiattach
    att = requests.AttachmentCreate.parse(
        {"volume_uuid": "v", "connector": {"initiator": INITIATOR}}
    )
    assert check_connector(att.connector) == att.connector


def test_connect_and_retype_are_typed() -> None:
    connect = requests.Connect.parse({"connector": {"initiator": INITIATOR, "host": "h"}})
    assert connect.connector == {"initiator": INITIATOR, "host": "h"}
    with pytest.raises(BadRequest, match="connector must be an object"):
        requests.Connect.parse({})
    assert requests.Retype.parse({"new_type": "t"}) == requests.Retype("t", None)
    assert requests.Retype.parse({"new_type": "t", "migration_policy": "never"}).migration_policy
    with pytest.raises(BadRequest, match="migration_policy must be never or on-demand"):
        requests.Retype.parse({"migration_policy": "always"})
    with pytest.raises(BadRequest, match="needs a new_type"):
        requests.Retype.parse({"new_type": ""})
