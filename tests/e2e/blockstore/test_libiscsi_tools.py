"""libiscsi's command-line tools against the built-in target: discovery, INQUIRY, capacity, CHAP.

The target runs in-process on a free loopback port; the tools are the real
``iscsi-ls``, ``iscsi-inq`` and ``iscsi-readcapacity16`` of libiscsi-bin.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import pytest

from blockstore.iscsi import TargetServer
from blockstore.scsi import LogicalUnit
from tests.helpers.tools import need_tool

IQN = "iqn.2024-01.org.stratus.e2e:vol0"
INITIATOR = "iqn.2024-01.org.stratus.e2e:host1"
SIZE = 64 * 1024 * 1024
USER, SECRET = "e2e-user", "e2e-secret-0123"


async def run(*argv: str, timeout: float = 30) -> tuple[int, str]:
    proc = await asyncio.create_subprocess_exec(
        *argv, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
    )
    try:
        async with asyncio.timeout(timeout):
            out, _ = await proc.communicate()
    except TimeoutError:
        proc.kill()
        await proc.wait()
        raise
    return proc.returncode or 0, out.decode(errors="replace")


@pytest.fixture
async def served(tmp_path: Path):
    for tool in ("iscsi-ls", "iscsi-inq", "iscsi-readcapacity16"):
        need_tool(tool, "libiscsi-bin")
    backing = tmp_path / "vol0.img"
    with open(backing, "wb") as f:
        f.truncate(SIZE)
    unit = LogicalUnit(backing, serial="e2e-vol0")
    await unit.open()
    server = TargetServer("127.0.0.1", 0, nop_interval=0)
    await server.start()
    target = server.add_target(IQN, alias="e2e volume")
    target.add_lun(0, unit)
    target.allow_any_initiator = True
    yield server, target
    await server.stop()
    await unit.close()


def url(server: TargetServer, lun: int | None = 0, auth: str = "") -> str:
    base = f"iscsi://{auth}127.0.0.1:{server.port}"
    return base if lun is None else f"{base}/{IQN}/{lun}"


async def test_iscsi_ls_discovers_the_target_and_its_lun(served) -> None:
    server, _ = served
    code, out = await run("iscsi-ls", "-s", "-i", INITIATOR, url(server, None))
    assert code == 0, out
    assert f"Target:{IQN} Portal:127.0.0.1:{server.port},1" in out
    assert "Lun:0" in out and "DIRECT_ACCESS" in out


async def test_iscsi_inq_standard_and_vpd(served) -> None:
    server, _ = served
    code, out = await run("iscsi-inq", "-i", INITIATOR, url(server))
    assert code == 0, out
    assert "Vendor:STRATUS" in out and "Peripheral Device Type:DIRECT_ACCESS" in out
    code, out = await run("iscsi-inq", "-i", INITIATOR, "-e", "1", "-c", "128", url(server))
    assert code == 0 and "e2e-vol0" in out, out


async def test_iscsi_readcapacity16(served) -> None:
    server, _ = served
    code, out = await run("iscsi-readcapacity16", "-i", INITIATOR, url(server))
    assert code == 0, out
    assert f"Total size:{SIZE}" in out and "LOGICAL BLOCK LENGTH IN BYTES:512" in out


async def test_chap_right_secret_works_and_wrong_secret_is_refused(served) -> None:
    server, target = served
    target.allow_any_initiator = False
    target.set_acl(INITIATOR, chap_user=USER, chap_secret=SECRET)
    good = url(server, auth=f"{USER}%{SECRET}@")
    code, out = await run("iscsi-readcapacity16", "-i", INITIATOR, good)
    assert code == 0 and f"Total size:{SIZE}" in out, out
    code, out = await run("iscsi-ls", "-s", "-i", INITIATOR, url(server, None, f"{USER}%{SECRET}@"))
    assert code == 0 and "Lun:0" in out, out
    bad = url(server, auth=f"{USER}%wrong-secret-99@")
    code, out = await run("iscsi-inq", "-i", INITIATOR, bad)
    assert code != 0 and "Vendor:" not in out
    code, out = await run("iscsi-inq", "-i", INITIATOR, url(server))  # no CHAP at all
    assert code != 0 and "Vendor:" not in out


async def test_discovery_without_chap_does_not_list_a_chap_protected_target(served) -> None:
    """Attack: claim a victim's initiator name in an unauthenticated discovery session."""
    server, target = served
    target.allow_any_initiator = False
    target.set_acl(INITIATOR, chap_user=USER, chap_secret=SECRET)
    code, out = await run("iscsi-ls", "-i", INITIATOR, url(server, None))
    assert IQN not in out, out
    code, out = await run(
        "iscsi-ls", "-i", INITIATOR, url(server, None, f"{USER}%wrong-secret-99@")
    )
    assert IQN not in out, out
    code, out = await run("iscsi-ls", "-i", INITIATOR, url(server, None, f"{USER}%{SECRET}@"))
    assert code == 0 and f"Target:{IQN}" in out, out


async def test_initiator_name_decides_access(served) -> None:
    server, target = served
    target.allow_any_initiator = False
    target.set_acl(INITIATOR)
    code, out = await run("iscsi-inq", "-i", INITIATOR, url(server))
    assert code == 0, out
    code, out = await run("iscsi-inq", "-i", "iqn.2024-01.org.stratus.e2e:stranger", url(server))
    assert code != 0 and "Vendor:" not in out
    code, out = await run(
        "iscsi-ls", "-i", "iqn.2024-01.org.stratus.e2e:stranger", url(server, None)
    )
    assert IQN not in out  # discovery does not list what the initiator may not use


async def test_header_digest_crc32c(served, caplog: pytest.LogCaptureFixture) -> None:
    """libiscsi offers "None,CRC32C"; a target that insists on CRC32C gets it."""
    server, _ = served
    server.limits.header_digests = ("CRC32C",)
    caplog.set_level(logging.INFO, logger="blockstore.iscsi")
    code, out = await run("iscsi-readcapacity16", "-i", INITIATOR, url(server))
    assert code == 0 and f"Total size:{SIZE}" in out, out
    assert any("digests header=CRC32C" in r.getMessage() for r in caplog.records)
    code, out = await run("iscsi-inq", "-i", INITIATOR, url(server))
    assert code == 0 and "Vendor:STRATUS" in out, out
