"""`stratus server` and `stratus volume` as a user runs them, on a real server (issue 22).

Found by using it: the volume side detached a server's disk under its guest;
`server add-volume vm1 data` did not know the volume named ``data``; errors
read differently per service; labels ran into values; the console showed the
guest's escape sequences; `server stop` waited in silence. Each command runs
as a subprocess against the real stack (object store, image, volume and
compute services, a QEMU guest).
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

import pytest

from stratus.config import render_toml
from tests.functional.compute_glue.servers.conftest import (  # noqa: F401 (fixtures)
    PROJECT,
    Stack,
    console_line,
    guest,
    stack,
)

pytestmark = pytest.mark.slow
HOST = "iqn.2024-01.org.stratus.test:bare-host"

# Colours its first line, then reports the disk coming and going.
GUEST = r"""printf '\033[1;31mT:RED\033[0m \033]0;title\007done\n'
echo "T:UP"
n=0
while true; do
  while [ ! -b /dev/vda ]; do sleep 0.2; done
  echo "T:DISK$n"
  while [ -b /dev/vda ]; do sleep 0.2; done
  echo "T:GONE$n"
  n=$((n+1))
done
"""


class Cli:
    """Runs `stratus GROUP ACTION ...` with the stack's configuration, as one user."""

    def __init__(self, rig: Stack, tmp: Path) -> None:
        self.stack = rig
        self.config = tmp / "stratus.toml"
        self.config.write_text(render_toml(rig.cfg))

    async def __call__(
        self, *argv: str, user: str = f"{PROJECT}:user", key: str | None = None
    ) -> tuple[int, str, str]:
        project, name = user.split(":")
        self.stack.token(project, name, "admin" if name == "boss" else "member")
        login = ["--config", str(self.config), "--user", user]
        login += ["--auth-url", f"{self.stack.cluster.url}/auth/v1.0"]
        login += ["--key", key or self.stack.cluster.key(project, name)]
        proc = await asyncio.create_subprocess_exec(
            str(Path(sys.executable).parent / "stratus"), *argv[:2], *login, *argv[2:],
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        out, err = await asyncio.wait_for(proc.communicate(), 240)
        assert "Traceback" not in err.decode(), err.decode()
        return proc.returncode or 0, out.decode(), err.decode()


async def boot_with_volume(rig: Stack, stratus: Cli, attach: bool = True) -> tuple[dict, dict]:
    """Server vm1 running GUEST, volume ``data`` (attached through the API if ``attach``)."""
    made = await rig.nova.create_server("vm1", rig.image_id, "m1.tiny", script=GUEST,
                                          networks="none")  # fmt: skip
    server = await rig.nova.wait_server(made["id"], "ACTIVE", timeout=120)
    await console_line(rig.nova, server["id"], "T:UP")
    vol = await rig.volumes.create_volume(1, name="data")
    vol = await rig.volumes.wait_volume(vol["id"])
    if attach:
        await rig.nova.attach_volume(server["id"], vol["id"])
        await console_line(rig.nova, server["id"], "T:DISK0")
    return server, vol


async def cleanup(rig: Stack, server: dict) -> None:
    await rig.nova.delete_server(server["id"])
    await rig.nova.wait_gone(server["id"])


async def test_volume_side_detach_points_to_the_server_and_admins_may_force(
    stack: Stack,  # noqa: F811
    tmp_path: Path,
) -> None:
    stratus = Cli(stack, tmp_path)
    server, vol = await boot_with_volume(stack, stratus)
    code, _, err = await stratus("volume", "detach", vol["id"])
    assert code == 1
    assert err.strip() == (
        f"stratus: error: volume {vol['id']!r} is attached to server vm1 through the compute "
        f"service: detach it with `stratus server remove-volume vm1 {vol['id']}` (an admin may "
        "force it with --force) (as alpha:user)"
    )
    code, _, err = await stratus("volume", "delete", vol["id"])
    assert code == 1 and f"`stratus server remove-volume vm1 {vol['id']}`" in err, err
    assert (await stack.volumes.get_volume(vol["id"]))["status"] == "in-use"
    held = await stack.nova.list_volume_attachments(server["id"])
    assert [a["volumeId"] for a in held] == [vol["id"]]
    # A member may not force; an admin may, and the server lets the disk go.
    code, _, err = await stratus("volume", "detach", vol["id"], "--force")
    assert code == 1 and "(as alpha:user, HTTP 403)" in err, err
    code, _, err = await stratus("volume", "detach", vol["id"], "--force", user="alpha:boss")
    assert code == 0, err
    await console_line(stack.nova, server["id"], "T:GONE0")
    assert await stack.nova.list_volume_attachments(server["id"]) == []
    assert (await stack.volumes.get_volume(vol["id"]))["status"] == "available"
    # A volume attached to a bare initiator is detached from the volume side.
    code, _, err = await stratus("volume", "attach", vol["id"], "--initiator", HOST)
    assert code == 0, err
    code, _, err = await stratus("volume", "delete", vol["id"])
    assert code == 1 and f"`stratus volume detach {vol['id']}`" in err, err
    code, _, err = await stratus("volume", "detach", vol["id"])
    assert code == 0, err
    await cleanup(stack, server)


async def test_names_wherever_ids_are_accepted(
    stack: Stack,  # noqa: F811
    tmp_path: Path,
) -> None:
    stratus = Cli(stack, tmp_path)
    server, vol = await boot_with_volume(stack, stratus, attach=False)
    code, out, err = await stratus("server", "add-volume", "vm1", "data")
    assert code == 0, err
    assert out.strip() == f"volume data ({vol['id']}) attached to vm1 ({server['id']}) as /dev/vda"
    await console_line(stack.nova, server["id"], "T:DISK0")
    code, out, err = await stratus("volume", "snapshot", "data", "--force", "--name", "snap")
    assert code == 0, err
    code, out, err = await stratus("volume", "create", "--snapshot", "snap", "--name", "copy")
    assert code == 0, err
    code, out, err = await stratus("volume", "snapshot-delete", "snap")
    assert code == 0, err
    code, out, err = await stratus("server", "remove-volume", "vm1", "data")
    assert code == 0, err
    assert out.strip() == f"volume data ({vol['id']}) detached from vm1 ({server['id']})"
    await console_line(stack.nova, server["id"], "T:GONE0")
    # An ambiguous name is refused, with the IDs it could mean.
    twin = (await stack.volumes.create_volume(1, name="data"))["id"]
    code, out, err = await stratus("volume", "extend", "data", "2")
    assert code == 1
    assert "2 volumes are named 'data' in project alpha (as alpha:user)" in err, err
    assert vol["id"] in err and twin in err
    code, out, err = await stratus("volume", "delete", "copy")
    assert code == 0, err
    await cleanup(stack, server)


async def test_errors_name_the_user_and_the_resource(
    stack: Stack,  # noqa: F811
    tmp_path: Path,
) -> None:
    stratus = Cli(stack, tmp_path)
    for group in ("server", "volume", "image", "network"):
        code, _, err = await stratus(group, "show", "vm9")
        assert (code, err.strip()) == (
            1, f"stratus: error: {group} 'vm9' not found in project alpha (as alpha:user)"
        )  # fmt: skip
        code, _, err = await stratus(group, "list", key="wrong-key-0123456789")
        assert (code, err.strip()) == (
            1, "stratus: error: login as alpha:user refused: wrong key (HTTP 401)"
        ), group  # fmt: skip
    code, _, err = await stratus("server", "add-volume", "vm9", "data")
    assert err.strip() == "stratus: error: server 'vm9' not found in project alpha (as alpha:user)"


async def test_output_for_people(
    stack: Stack,  # noqa: F811
    tmp_path: Path,
) -> None:
    stratus = Cli(stack, tmp_path)
    server, vol = await boot_with_volume(stack, stratus)
    # ATTACHED TO: the server's name; the initiator's host for a bare initiator.
    code, out, err = await stratus("volume", "create", "1", "--name", "bare")
    assert code == 0, err
    bare = (await stack.volumes.list_volumes(name="bare"))[0]["id"]
    code, out, err = await stratus("volume", "attach", bare, "--initiator", HOST)
    assert code == 0, err
    labels = dict(line.split(None, 1) for line in out.splitlines())
    assert labels["target_portal"] == f"127.0.0.1:{stack.cfg.iscsi.port}", out
    assert labels["access_mode"] == "rw" and labels["url"].startswith("iscsi://"), out
    code, out, err = await stratus("volume", "list")
    assert code == 0, err
    rows = {line.split()[1]: line.split()[-1] for line in out.splitlines()[2:]}
    assert rows == {"data": "vm1", "bare": HOST}, out
    # Fields read as text: no links, no Python reprs, times in ISO 8601.
    code, out, err = await stratus("volume", "show", vol["id"])
    assert code == 0, err
    shown = dict(line.split(None, 1) for line in out.splitlines()[2:] if " " in line.strip())
    assert "links" not in shown and "{'" not in out and "None" not in out, out
    assert shown["attachments"].startswith('[{"attached_at": "'), out  # JSON, not a repr
    code, out, err = await stratus("volume", "show", vol["id"], "--json")
    assert json.loads(out)["links"]  # --json stays exactly the API's object
    # The console without the guest's escape sequences, unless asked for raw.
    code, out, err = await stratus("server", "console", "vm1")
    assert code == 0 and "\x1b" not in out and "\x07" not in out
    assert "T:RED done" in out
    code, out, err = await stratus("server", "console", "vm1", "--raw")
    assert "\x1b[1;31mT:RED" in out
    code, out, err = await stratus("volume", "detach", bare)
    assert code == 0, err
    await cleanup(stack, server)


async def test_stop_says_what_it_waits_for_and_what_it_did(
    stack: Stack,  # noqa: F811
    tmp_path: Path,
) -> None:
    stratus = Cli(stack, tmp_path)
    server, _vol = await boot_with_volume(stack, stratus, attach=False)
    code, out, err = await stratus("server", "stop", "vm1")
    assert code == 0, err
    # The test guest ignores ACPI; the stack gives it compute.shutdown_timeout = 1 s.
    assert "waiting up to 1 s for vm1 to shut down (ACPI)..." in err
    assert out.strip() == (
        f"server vm1 ({server['id']}) stopped: the guest did not shut down within 1 s "
        "(ACPI ignored), so it was powered off by force"
    )
    code, out, err = await stratus("server", "stop", "vm1", "--json")
    assert code == 1 and "not ACTIVE" in err, err  # already stopped
    await cleanup(stack, server)
