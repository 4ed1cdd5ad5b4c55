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

    def __init__(self, stack: Stack, tmp: Path) -> None:
        self.stack = stack
        self.config = tmp / "stratus.toml"
        self.config.write_text(render_toml(stack.cfg))

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


async def test_a_user_session_with_a_server_and_its_volume(
    stack: Stack,  # noqa: F811
    tmp_path: Path,
) -> None:
    stratus = Cli(stack, tmp_path)
    made = await stack.nova.create_server("vm1", stack.image_id, "m1.tiny", script=GUEST,
                                          networks="none")  # fmt: skip
    server = await stack.nova.wait_server(made["id"], "ACTIVE", timeout=120)
    await console_line(stack.nova, server["id"], "T:UP")
    code, out, err = await stratus("volume", "create", "1", "--name", "data")
    assert code == 0, err
    vol = (await stack.volumes.list_volumes(name="data"))[0]

    # Names wherever IDs are accepted: the server and the volume by name.
    code, out, err = await stratus("server", "add-volume", "vm1", "data")
    assert code == 0, err
    assert out.strip() == f"volume data ({vol['id']}) attached to vm1 ({server['id']}) as /dev/vda"
    await console_line(stack.nova, server["id"], "T:DISK0")

    # The volume side refuses to detach it, and says which command does.
    code, out, err = await stratus("volume", "detach", "data")
    assert code == 1
    assert err.strip() == (
        "stratus: error: volume 'data' is attached to server vm1 through the compute service: "
        "detach it with `stratus server remove-volume vm1 data` (an admin may force it with "
        "--force) (as alpha:user)"
    )
    code, out, err = await stratus("volume", "delete", "data")
    assert code == 1 and "`stratus server remove-volume vm1 data`" in err, err
    assert (await stack.volumes.get_volume(vol["id"]))["status"] == "in-use"
    held = await stack.nova.list_volume_attachments(server["id"])
    assert [a["volumeId"] for a in held] == [vol["id"]]

    # Output for people: the server's name in ATTACHED TO, no links, no Python reprs.
    code, out, err = await stratus("volume", "list")
    assert code == 0, err
    (row,) = [line for line in out.splitlines() if vol["id"] in line]
    assert row.split()[-1] == "vm1"
    code, out, err = await stratus("volume", "show", "data")
    assert code == 0, err
    shown = dict(line.split(None, 1) for line in out.splitlines()[2:] if " " in line.strip())
    assert "links" not in shown and "{'" not in out and "None" not in out, out
    assert shown["attachments"].startswith('[{"attached_at": "'), out  # JSON, not a repr
    assert shown["created_at"].startswith("20"), out
    code, out, err = await stratus("volume", "show", "data", "--json")
    assert json.loads(out)["links"]  # --json stays exactly the API's object
    # The console without the guest's escape sequences, unless asked for raw.
    code, out, err = await stratus("server", "console", "vm1")
    assert code == 0 and "\x1b" not in out and "\x07" not in out
    assert "T:RED done" in out
    code, out, err = await stratus("server", "console", "vm1", "--raw")
    assert "\x1b[1;31mT:RED" in out

    # One wording for errors: who asked, what was not found, a refused login.
    code, out, err = await stratus("server", "show", "vm9")
    assert (code, err.strip()) == (
        1, "stratus: error: server 'vm9' not found in project alpha (as alpha:user)"
    )  # fmt: skip
    code, out, err = await stratus("volume", "show", "nothing")
    assert (code, err.strip()) == (
        1, "stratus: error: volume 'nothing' not found in project alpha (as alpha:user)"
    )  # fmt: skip
    for group in ("volume", "server", "image", "network"):
        code, out, err = await stratus(group, "list", key="wrong-key-0123456789")
        assert (code, err.strip()) == (
            1, "stratus: error: login as alpha:user refused: wrong key (HTTP 401)"
        ), group  # fmt: skip
    twins = [(await stack.volumes.create_volume(1, name="twin"))["id"] for _ in range(2)]
    code, out, err = await stratus("volume", "show", "twin")
    assert code == 1 and "2 volumes are named 'twin' in project alpha (as alpha:user)" in err
    assert all(t in err for t in twins)

    # A member may not force; an admin may, and the server lets the disk go.
    code, out, err = await stratus("volume", "detach", "data", "--force")
    assert code == 1 and "(as alpha:user, HTTP 403)" in err, err
    code, out, err = await stratus("volume", "detach", "data", "--force", user=f"{PROJECT}:boss")
    assert code == 0, err
    await console_line(stack.nova, server["id"], "T:GONE0")
    assert await stack.nova.list_volume_attachments(server["id"]) == []
    assert (await stack.volumes.get_volume(vol["id"]))["status"] == "available"

    # Through the server, by names, both ways.
    code, out, err = await stratus("server", "add-volume", "vm1", "data")
    assert code == 0, err
    await console_line(stack.nova, server["id"], "T:DISK1")
    code, out, err = await stratus("server", "remove-volume", "vm1", "data")
    assert code == 0, err
    assert out.strip() == f"volume data ({vol['id']}) detached from vm1 ({server['id']})"

    # `server stop` says what it waits for, then what it did (the guest ignores ACPI).
    code, out, err = await stratus("server", "stop", "vm1")
    assert code == 0, err
    assert "waiting up to 1 s for vm1 to shut down (ACPI)..." in err
    assert out.strip() == (
        f"server vm1 ({server['id']}) stopped: the guest did not shut down within 1 s "
        "(ACPI ignored), so it was powered off by force"
    )
    code, out, err = await stratus("server", "delete", "vm1")
    assert code == 0, err
    code, out, err = await stratus("volume", "delete", "data")
    assert code == 0, err
