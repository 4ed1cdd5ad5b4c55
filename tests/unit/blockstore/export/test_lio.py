"""The LIO driver: ExportSpec -> rtslib-fb objects, idempotence, removal.

Most tests drive a test double standing in for the kernel's LIO (see
fake_lio.py): this machine has no target_core_mod/configfs. The last test
uses the real kernel and skips, with the reason, where LIO is absent; that
skip is a missing kernel feature, not a missing tool, so CI keeps it a skip.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from blockstore.export.base import Acl, ExportDriver, ExportError, ExportSpec
from blockstore.export.lio import LioDriver, lio_unavailable_reason

from .fake_lio import make_fake_lio

TARGET = "iqn.2010-10.org.stratus:volume-vol1"
HOST_A = "iqn.1993-08.org.debian:01:host-a"
HOST_B = "iqn.1993-08.org.debian:01:host-b"


@pytest.fixture
def backing(tmp_path: Path) -> Path:
    path = tmp_path / "vol1.img"
    with open(path, "wb") as f:
        f.truncate(64 << 20)
    return path


@pytest.fixture
def lio(tmp_path: Path):
    api, state = make_fake_lio()
    driver = LioDriver(portal_ip="0.0.0.0", port=3260, advertise="192.0.2.10",
                       save_file=str(tmp_path / "etc" / "saveconfig.json"), api=api)  # fmt: skip
    return driver, state


def spec(backing: Path, *acls: Acl, read_only: bool = False, lun: int = 0) -> ExportSpec:
    return ExportSpec("vol1", str(backing), TARGET, lun=lun, read_only=read_only, acls=acls)


CHAP_A = Acl(HOST_A, "user-a", "secret-a-0123456")


def test_the_driver_satisfies_the_export_interface(lio) -> None:
    assert isinstance(lio[0], ExportDriver)


async def test_export_maps_the_spec_onto_lio_objects(lio, backing, tmp_path) -> None:
    driver, state = lio
    info = await driver.ensure_export(spec(backing, CHAP_A))
    so = state.storage["stratus-vol1"]
    # write_back: the LUN keeps a write cache (WCE=1, FUA and SYNCHRONIZE CACHE durable),
    # as the userspace target does by default.
    assert (so.kind, so.udev_path, so.size, so.write_back) == ("fileio", str(backing), 64 << 20,
                                                                True)  # fmt: skip
    target = state.targets[TARGET]
    (tpg,) = target.tpgs
    assert tpg.tag == 1 and tpg.enable
    assert tpg.attributes["authentication"] == "1"
    assert tpg.attributes["generate_node_acls"] == "0"
    assert tpg.portals == {("0.0.0.0", 3260)}
    (lun,) = tpg.luns
    assert lun.lun == 0 and lun.storage_object is so
    (acl,) = tpg.node_acls
    assert (acl.node_wwn, acl.chap_userid, acl.chap_password) == (HOST_A, "user-a",
                                                                  "secret-a-0123456")  # fmt: skip
    (mapped,) = acl.mapped_luns
    assert mapped.mapped_lun == 0 and mapped.tpg_lun is lun and not mapped.write_protect
    saved = json.loads((tmp_path / "etc" / "saveconfig.json").read_text())
    assert saved["targets"] == [TARGET] and saved["storage_objects"] == ["stratus-vol1"]
    assert info.to_dict() == {
        "driver_volume_type": "iscsi",
        "data": {
            "target_discovered": False,
            "target_portal": "192.0.2.10:3260",
            "target_iqn": TARGET,
            "target_lun": 0,
            "discard": True,
            "auth_method": "CHAP",
            "auth_username": "user-a",
            "auth_password": "secret-a-0123456",
        },
    }


async def test_ensure_export_is_idempotent(lio, backing) -> None:
    driver, state = lio
    await driver.ensure_export(spec(backing, CHAP_A))
    created = list(state.creations)
    await driver.ensure_export(spec(backing, CHAP_A))
    assert state.creations == created and state.deletions == []
    assert await driver.list_exports() == [TARGET]


async def test_ensure_export_converges_acls_and_read_only(lio, backing) -> None:
    driver, state = lio
    await driver.ensure_export(spec(backing, CHAP_A))
    chap_b = Acl(HOST_B, "user-b", "secret-b-0123456")
    await driver.ensure_export(spec(backing, chap_b, read_only=True))
    (tpg,) = state.targets[TARGET].tpgs
    (acl,) = tpg.node_acls
    assert acl.node_wwn == HOST_B and acl.chap_userid == "user-b"
    assert acl.mapped_luns[0].write_protect
    assert f"acl:{HOST_A}" in state.deletions


async def test_no_acls_means_demo_mode_without_chap(lio, backing) -> None:
    driver, state = lio
    info = await driver.ensure_export(spec(backing, read_only=True))
    (tpg,) = state.targets[TARGET].tpgs
    assert tpg.attributes["authentication"] == "0"
    assert tpg.attributes["generate_node_acls"] == "1"
    assert tpg.attributes["demo_mode_write_protect"] == "1"
    assert tpg.node_acls == [] and info.auth_method is None


async def test_a_half_made_export_is_completed(lio, backing) -> None:
    driver, state = lio
    api = driver.api
    api.Target(api.FabricModule("iscsi"), TARGET, mode="create")  # as if interrupted
    await driver.ensure_export(spec(backing, CHAP_A))
    (tpg,) = state.targets[TARGET].tpgs
    assert len(tpg.luns) == 1 and len(tpg.node_acls) == 1 and tpg.enable


async def test_a_moved_backing_file_rebuilds_the_backstore(lio, backing, tmp_path) -> None:
    driver, state = lio
    await driver.ensure_export(spec(backing, CHAP_A))
    moved = tmp_path / "moved.img"
    backing.rename(moved)
    await driver.ensure_export(spec(moved, CHAP_A))
    assert state.storage["stratus-vol1"].udev_path == str(moved)
    (tpg,) = state.targets[TARGET].tpgs
    assert tpg.luns[0].storage_object is state.storage["stratus-vol1"]
    assert len(tpg.node_acls[0].mapped_luns) == 1


async def test_remove_export_deletes_target_and_backstore(lio, backing) -> None:
    driver, state = lio
    await driver.ensure_export(spec(backing, CHAP_A))
    await driver.remove_export(TARGET)
    assert state.targets == {} and state.storage == {}
    await driver.remove_export(TARGET)  # absent: nothing to do, no error
    assert await driver.list_exports() == []
    assert backing.exists()  # the volume's bytes are never touched


@pytest.mark.parametrize(
    "bad",
    [
        ExportSpec("vol/1", "/x", TARGET),
        ExportSpec("vol1", "relative.img", TARGET),
        ExportSpec("vol1", "/x", "not-an-iqn"),
        ExportSpec("vol1", "/x", TARGET, lun=70000),
        ExportSpec("vol1", "/x", TARGET, acls=(Acl(HOST_A, "u", "short"),)),
        ExportSpec("vol1", "/x", TARGET, acls=(Acl(HOST_A, "u", None),)),
        ExportSpec("vol1", "/x", TARGET, acls=(CHAP_A, Acl(HOST_B))),
    ],
)
async def test_bad_specs_are_refused_before_touching_lio(lio, bad) -> None:
    driver, state = lio
    with pytest.raises(ExportError):
        await driver.ensure_export(bad)
    assert state.creations == []


async def test_a_missing_backing_file_is_refused(lio, tmp_path) -> None:
    driver, state = lio
    with pytest.raises(ExportError):
        await driver.ensure_export(spec(tmp_path / "absent.img"))
    assert state.creations == []


async def test_real_kernel_lio_round_trip(backing, tmp_path) -> None:
    reason = lio_unavailable_reason()
    if reason is not None:
        pytest.skip(f"kernel LIO unavailable: {reason}")
    driver = LioDriver(portal_ip="127.0.0.1", port=3260, save_file=str(tmp_path / "lio.json"))
    target = "iqn.2010-10.org.stratus:test-" + tmp_path.name.lower().replace("_", "-")
    export = ExportSpec("lio-test-vol", str(backing), target, acls=(CHAP_A,))
    try:
        info = await driver.ensure_export(export)
        assert info.target_iqn == target
        assert target in await driver.list_exports()
        await driver.ensure_export(export)
    finally:
        await driver.remove_export(target)
    assert target not in await driver.list_exports()


async def test_every_call_fits_the_real_rtslib_signatures(backing, tmp_path) -> None:
    """The stand-in records each constructor call; each must bind to rtslib-fb's own."""
    import inspect
    from types import SimpleNamespace

    import rtslib_fb

    api, _ = make_fake_lio()
    calls: list[tuple[str, tuple, dict]] = []

    def recording(name: str):
        def make(*args, **kwargs):
            calls.append((name, args, kwargs))
            return getattr(api, name)(*args, **kwargs)

        return make

    classes = [n for n in vars(api) if not n.startswith("RTSLib")]
    wrapped = SimpleNamespace(**vars(api))
    for name in classes:
        setattr(wrapped, name, recording(name))
    driver = LioDriver(save_file=str(tmp_path / "s.json"), api=wrapped)
    await driver.ensure_export(spec(backing, CHAP_A))
    await driver.ensure_export(spec(backing, Acl(HOST_B, "user-b", "secret-b-0123456")))
    await driver.remove_export(TARGET)
    assert {name for name, _, _ in calls} >= {"Target", "TPG", "LUN", "NodeACL", "MappedLUN"}
    for name, args, kwargs in calls:
        real = getattr(rtslib_fb, name)
        inspect.signature(real).bind(*args, **kwargs)  # raises TypeError on a mismatch


async def test_a_spec_without_write_cache_makes_a_write_through_backstore(lio, backing) -> None:
    driver, state = lio
    plain = spec(backing, CHAP_A)
    no_cache = ExportSpec(**{**plain.__dict__, "write_cache": False})
    await driver.ensure_export(no_cache)
    assert state.storage["stratus-vol1"].write_back is False


async def test_the_optional_features_are_documented_no_ops(lio, backing) -> None:
    """Every member of the interface exists; what LIO cannot do changes nothing."""
    driver, state = lio
    assert driver.portals == ("192.0.2.10:3260",)
    assert LioDriver(advertise="2001:db8::1", port=3261, api=object()).portals == (
        "[2001:db8::1]:3261",
    )
    await driver.ensure_export(spec(backing, CHAP_A))
    before = json.dumps(sorted(state.targets), default=str)
    async with driver.quiesce(TARGET):
        pass
    await driver.extend_export(TARGET)
    assert await driver.sessions() == []
    await driver.close()
    assert json.dumps(sorted(state.targets), default=str) == before
    assert await driver.list_exports() == [TARGET]
