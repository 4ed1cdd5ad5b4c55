"""`openstack volume ...` and openstacksdk's block_storage, unmodified, against `stratus up`.

The e2e tests' shared `stratus up`: this file's names start ``osc-``, and it looks only
at those, at its own attachments and at its own project. The admin logs in once
(openstacksdk, in this process) and every `openstack` run reuses that token
(``--os-auth-type token``), so the identity service's password hashing is paid once per
user, not per command.
"""

from __future__ import annotations

import json
import re
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from typing import Any

import pytest

from tests.e2e.cloud import OPENSTACK, ROOT, Cloud

openstack = pytest.importorskip("openstack")
from openstack import config as os_config  # noqa: E402
from openstack import connection, exceptions  # noqa: E402

SERVER = "0b1f3b2e-5a3c-4c53-9c5b-1f2d3e4a5b6c"  # an instance id: Cinder does not check it
IQN = "iqn.1993-08.org.debian:01:osc-e2e"


@pytest.fixture(scope="module")
def cloud(shared_cloud: Cloud) -> Cloud:
    return shared_cloud


def mine(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The rows this file made (the cloud is shared)."""
    return [r for r in rows if r["Name"].startswith("osc-")]


def _connect(cloud: Cloud, **auth: str) -> connection.Connection:
    cfg = os_config.OpenStackConfig(config_files=[str(cloud.data / "clouds.yaml")])
    region = cfg.get_one("stratus", auth=auth) if auth else cfg.get_one("stratus")
    return connection.Connection(config=region)


@pytest.fixture(scope="module")
def admin(cloud: Cloud) -> connection.Connection:
    return _connect(cloud)


def _auth_url(cloud: Cloud) -> str:
    return f"http://127.0.0.1:{cloud.env['STRATUS_IDENTITY_PORT']}/v3"


def _token_env(cloud: Cloud, token: str, project: str) -> dict[str, str]:
    env = {k: v for k, v in cloud.env.items() if not k.startswith("OS_")}
    env.update(
        OS_AUTH_TYPE="token",
        OS_AUTH_URL=_auth_url(cloud),
        OS_TOKEN=token,
        OS_PROJECT_NAME=project,
        OS_PROJECT_DOMAIN_NAME="Default",
        OS_IDENTITY_API_VERSION="3",
        OS_INTERFACE="public",
        OS_REGION_NAME="RegionOne",
    )
    return env


Osc = Callable[..., subprocess.CompletedProcess[str]]


def _runner(env: dict[str, str]) -> Osc:
    def run(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        out = subprocess.run(
            [OPENSTACK, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
        )
        if check:
            assert out.returncode == 0, f"openstack {' '.join(args)}:\n{out.stdout}\n{out.stderr}"
        return out

    return run


@pytest.fixture(scope="module")
def osc(cloud: Cloud, admin: connection.Connection) -> Osc:
    """`openstack` as the cloud admin, on the admin's one token."""
    return _runner(_token_env(cloud, admin.auth_token, "admin"))


def js(run: Osc, *args: str) -> Any:
    return json.loads(run(*args, "-f", "json").stdout)


def wait_status(conn: connection.Connection, kind: str, ident: str, want: str) -> Any:
    get = {"volume": conn.block_storage.get_volume,
           "snapshot": conn.block_storage.get_snapshot,
           "backup": conn.block_storage.get_backup}[kind]  # fmt: skip
    deadline = time.monotonic() + 60
    while True:
        item = get(ident)
        if item.status == want:
            return item
        assert time.monotonic() < deadline, f"{kind} {ident} stuck in {item.status}"
        assert "error" not in item.status, f"{kind} {ident}: {item.status}"
        time.sleep(0.2)


def wait_gone(conn: connection.Connection, ident: str) -> None:
    deadline = time.monotonic() + 60
    while conn.block_storage.find_volume(ident, ignore_missing=True) is not None:
        assert time.monotonic() < deadline, f"volume {ident} not deleted"
        time.sleep(0.2)


# -- version documents and microversions ----------------------------------------------


def _get(url: str, headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], Any]:
    req = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            return resp.status, dict(resp.headers), json.loads(resp.read())
    except urllib.error.HTTPError as err:
        return err.code, dict(err.headers), json.loads(err.read())


def test_version_documents_and_microversion_negotiation(
    cloud: Cloud, admin: connection.Connection
) -> None:
    base = f"http://127.0.0.1:{cloud.env['STRATUS_VOLUME_PORT']}"
    status, _, doc = _get(base + "/")
    assert status == 300
    (v3,) = doc["versions"]
    assert (v3["id"], v3["status"], v3["min_version"], v3["version"]) == (
        "v3.0", "CURRENT", "3.0", "3.66",
    )  # fmt: skip
    assert v3["links"][0]["href"] == base + "/v3/"
    status, _, doc = _get(base + "/v3/")
    assert status == 200 and doc["versions"][0]["version"] == "3.66"
    # openstacksdk reads the range from the endpoint and settles on our maximum.
    data = admin.block_storage.get_endpoint_data()
    assert (str(data.min_microversion), str(data.max_microversion)) in {
        ("3.0", "3.66"), ("(3, 0)", "(3, 66)"),
    }  # fmt: skip
    token = {"X-Auth-Token": admin.auth_token}
    url = base + "/v3/admin/volumes"
    status, headers, _ = _get(url, {**token, "OpenStack-API-Version": "volume 3.27"})
    assert status == 200 and headers["OpenStack-API-Version"] == "volume 3.27"
    status, headers, _ = _get(url, {**token, "OpenStack-API-Version": "volume latest"})
    assert headers["OpenStack-API-Version"] == "volume 3.66"
    status, _, body = _get(url, {**token, "OpenStack-API-Version": "volume 3.67"})
    assert status == 406 and body["notAcceptable"]["code"] == 406


# -- the CLI, as the admin ----------------------------------------------------------------


@pytest.fixture(scope="module")
def fast_type(osc: Osc) -> dict[str, Any]:
    """The type the volume tests use, made by `openstack volume type create`."""
    return js(osc, "volume", "type", "create", "--description", "fast disks",
              "--property", "k1=v1", "osc-fast")  # fmt: skip


def test_types_and_qos(osc: Osc, fast_type: dict[str, Any]) -> None:
    assert fast_type["properties"] == {"k1": "v1"} and fast_type["is_public"] is True
    osc("volume", "type", "set", "--description", "d2", "--property", "k2=v2", "osc-fast")
    osc("volume", "type", "unset", "--property", "k1", "osc-fast")
    shown = js(osc, "volume", "type", "show", "osc-fast")
    assert (shown["description"], shown["properties"]) == ("d2", {"k2": "v2"})
    osc("volume", "type", "create", "osc-tmp")
    listed = js(osc, "volume", "type", "list", "--long")
    assert {"__DEFAULT__", "osc-fast", "osc-tmp"} <= {t["Name"] for t in listed}
    osc("volume", "type", "delete", "osc-tmp")
    assert "osc-tmp" not in {t["Name"] for t in js(osc, "volume", "type", "list")}

    qos = js(osc, "volume", "qos", "create", "--consumer", "back-end", "--property",
             "read_iops_sec=100", "--property", "write_iops_sec=50", "osc-q")  # fmt: skip
    assert qos["consumer"] == "back-end"
    osc("volume", "qos", "associate", "osc-q", "osc-fast")
    osc("volume", "qos", "set", "--property", "total_bytes_sec=1048576", "osc-q")
    osc("volume", "qos", "unset", "--property", "read_iops_sec", "osc-q")
    shown = js(osc, "volume", "qos", "show", "osc-q")
    assert shown["associations"] in ("osc-fast", ["osc-fast"])
    assert shown["properties"] == {"write_iops_sec": "50", "total_bytes_sec": "1048576"}
    rows = js(osc, "volume", "qos", "list")
    assert [r["Name"] for r in rows] == ["osc-q"]
    osc("volume", "qos", "disassociate", "--volume-type", "osc-fast", "osc-q")
    osc("volume", "qos", "delete", "osc-q")
    assert js(osc, "volume", "qos", "list") == []


def test_volume_lifecycle(
    osc: Osc, admin: connection.Connection, fast_type: dict[str, Any]
) -> None:
    vol = js(osc, "volume", "create", "--size", "1", "--type", "osc-fast",
             "--description", "first", "--property", "a=b", "osc-v1")  # fmt: skip
    assert (vol["size"], vol["type"], vol["properties"]) == (1, "osc-fast", {"a": "b"})
    wait_status(admin, "volume", vol["id"], "available")
    osc("volume", "set", "--name", "osc-v1b", "--description", "renamed", "--property", "c=d",
        "--size", "2", "--bootable", "--read-only", "osc-v1")  # fmt: skip
    wait_status(admin, "volume", vol["id"], "available")
    osc("volume", "unset", "--property", "a", "osc-v1b")
    shown = js(osc, "volume", "show", "osc-v1b")
    assert (shown["name"], shown["description"], shown["size"]) == ("osc-v1b", "renamed", 2)
    assert shown["bootable"] in ("true", True)
    assert shown["properties"] == {"c": "d", "readonly": "True"}
    osc("volume", "set", "--read-write", "--non-bootable", "osc-v1b")
    shown = admin.block_storage.get_volume(vol["id"])
    assert shown.metadata == {"c": "d"} and shown.is_bootable is False

    rows = js(osc, "volume", "list", "--long")
    row = next(r for r in rows if r["ID"] == vol["id"])
    assert (row["Type"], row["Size"], row["Status"]) == ("osc-fast", 2, "available")
    assert [r["ID"] for r in js(osc, "volume", "list", "--name", "osc-v1b")] == [vol["id"]]
    assert js(osc, "volume", "list", "--status", "error") == []

    # Snapshots, and volumes made from a snapshot and from a volume (same type as the source).
    snap = js(osc, "volume", "snapshot", "create", "--volume", "osc-v1b",
              "--description", "s", "--property", "x=y", "osc-s1")  # fmt: skip
    wait_status(admin, "snapshot", snap["id"], "available")
    osc("volume", "snapshot", "set", "--name", "osc-s1b", "--description", "s2",
        "--property", "z=w", "osc-s1")  # fmt: skip
    osc("volume", "snapshot", "unset", "--property", "x", "osc-s1b")
    shown = js(osc, "volume", "snapshot", "show", "osc-s1b")
    assert (shown["description"], shown["properties"]) == ("s2", {"z": "w"})
    rows = mine(js(osc, "volume", "snapshot", "list", "--long"))
    assert [(r["Name"], r["Volume"]) for r in rows] == [("osc-s1b", vol["id"])]
    from_snap = js(osc, "volume", "create", "--snapshot", "osc-s1b", "osc-v2")
    clone = js(osc, "volume", "create", "--source", "osc-v1b", "--size", "3", "osc-v3")
    for made in (from_snap, clone):
        done = wait_status(admin, "volume", made["id"], "available")
        assert done.volume_type == "osc-fast"
    assert clone["size"] == 3 and from_snap["size"] == 2
    osc("volume", "set", "--type", "__DEFAULT__", from_snap["id"])  # os-retype, in place
    assert admin.block_storage.get_volume(from_snap["id"]).volume_type == "__DEFAULT__"

    # Backups: create, list, show, restore (to a new and, with --force, an existing volume).
    bk = js(osc, "volume", "backup", "create", "--name", "osc-b1", "--description", "bd",
            "osc-v3")  # fmt: skip
    wait_status(admin, "backup", bk["id"], "available")
    rows = mine(js(osc, "volume", "backup", "list", "--long"))
    assert [(r["Name"], r["Status"], r["Volume"]) for r in rows] == [
        ("osc-b1", "available", clone["id"])  # JSON output shows the id (a table, the name)
    ]
    osc("volume", "backup", "set", "--name", "osc-b2", "--description", "bd2", "osc-b1")
    shown = js(osc, "volume", "backup", "show", "osc-b2")
    assert (shown["size"], shown["description"]) == (3, "bd2")
    restored = js(osc, "volume", "backup", "restore", "osc-b2", "osc-restored")
    assert restored["volume_name"] == "osc-restored"
    wait_status(admin, "volume", restored["volume_id"], "available")
    wait_status(admin, "backup", bk["id"], "available")
    refused = osc("volume", "backup", "restore", "osc-b2", "osc-restored", check=False)
    assert refused.returncode != 0 and "--force" in refused.stderr
    osc("volume", "backup", "delete", "osc-b2")

    # Delete: a volume with snapshots needs --cascade; --force (admin) takes a stuck one.
    refused = osc("volume", "delete", "osc-v1b", check=False)
    assert refused.returncode != 0 and "snapshot" in refused.stderr
    osc("volume", "delete", "--cascade", "osc-v1b")
    admin.block_storage.reset_volume_status(clone["id"], "attaching", None, None)
    refused = osc("volume", "delete", clone["id"], check=False)
    assert refused.returncode != 0 and "status must be" in refused.stderr
    osc("volume", "delete", "--force", clone["id"], from_snap["id"], restored["volume_id"])
    for ident in (vol["id"], clone["id"], from_snap["id"], restored["volume_id"]):
        wait_gone(admin, ident)


def test_attachments(osc: Osc, admin: connection.Connection) -> None:
    """The 3.27+ attachment API: reserve (openstacksdk: the CLI would look the server up in
    the compute service), then set (connect), complete, list, show and delete by the CLI."""
    bs = admin.block_storage
    vol = bs.create_volume(size=1, name="osc-att")
    wait_status(admin, "volume", vol.id, "available")
    att = bs.create_attachment(vol.id, connector={}, instance=SERVER)
    assert att.status == "reserved"
    v = ("--os-volume-api-version", "3.44")
    conn = js(osc, *v, "volume", "attachment", "set", "--initiator", IQN, "--ip", "127.0.0.1",
              "--host", "osc-host", att.id)  # fmt: skip
    assert conn["Properties"]["driver_volume_type"] == "iscsi"
    assert conn["Status"] == "attaching"
    osc(*v, "volume", "attachment", "complete", att.id)
    rows = [r for r in js(osc, *v, "volume", "attachment", "list") if r["Server ID"] == SERVER]
    assert [(r["ID"], r["Server ID"], r["Status"]) for r in rows] == [(att.id, SERVER, "attached")]
    shown = js(osc, *v, "volume", "attachment", "show", att.id)
    assert (shown["Volume ID"], shown["Attach Mode"]) == (vol.id, "rw")
    assert wait_status(admin, "volume", vol.id, "in-use").attachments[0]["server_id"] == SERVER
    # In use: deleting is refused even when forced; extending works (3.42+).
    refused = osc("volume", "delete", "--force", "osc-att", check=False)
    assert refused.returncode != 0 and "attached" in refused.stderr
    osc("volume", "set", "--size", "2", "osc-att")
    assert wait_status(admin, "volume", vol.id, "in-use").size == 2
    osc(*v, "volume", "attachment", "delete", att.id)
    wait_status(admin, "volume", vol.id, "available")
    rows = js(osc, *v, "volume", "attachment", "list")
    assert [r for r in rows if r["Server ID"] == SERVER] == []
    # A read-only volume's attachment made without a mode is read-only (3.54's "null").
    bs.set_volume_readonly(vol.id, True)
    ro = bs.create_attachment(vol.id, connector={}, instance=SERVER)
    assert ro.attach_mode == "ro"
    bs.delete_attachment(ro.id)
    bs.delete_volume(vol.id)


def test_zones_services_limits_quotas(osc: Osc, admin: connection.Connection) -> None:
    zones = js(osc, "availability", "zone", "list", "--volume")
    assert [(z["Zone Name"], z["Zone Status"]) for z in zones] == [("nova", "available")]
    services = js(osc, "volume", "service", "list")
    assert {(s["Binary"], s["Zone"], s["Status"], s["State"]) for s in services} == {
        ("cinder-scheduler", "nova", "enabled", "up"),
        ("cinder-volume", "nova", "enabled", "up"),
        ("cinder-backup", "nova", "enabled", "up"),
    }
    binaries = js(osc, "volume", "service", "list", "--service", "cinder-volume")
    assert [s["Binary"] for s in binaries] == ["cinder-volume"]
    limits = admin.block_storage.get_limits().absolute
    assert limits.max_total_volumes >= 1 and limits.total_volumes_used >= 0
    quota = {r["Resource"]: r for r in js(osc, "quota", "show", "--volume", "--usage", "admin")}
    assert quota["volumes"]["Limit"] >= 1 and "In Use" in quota["volumes"]


# -- other users: another project, a reader -------------------------------------------


@pytest.fixture(scope="module")
def others(cloud: Cloud, osc: Osc) -> dict[str, connection.Connection]:
    osc("project", "create", "osc-demo")
    for user, role in (("osc-dora", "member"), ("osc-rita", "reader")):
        osc("user", "create", "--project", "osc-demo", "--password", f"{user}-pw", user)
        osc("role", "add", "--project", "osc-demo", "--user", user, role)
    return {
        user: _connect(
            cloud,
            auth_url=_auth_url(cloud),
            username=user,
            password=f"{user}-pw",
            project_name="osc-demo",
            user_domain_name="Default",
            project_domain_name="Default",
        )
        for user in ("osc-dora", "osc-rita")
    }


def test_other_projects_readers_and_bad_input(
    cloud: Cloud, osc: Osc, admin: connection.Connection, others: dict[str, Any]
) -> None:
    dora, rita = others["osc-dora"], others["osc-rita"]
    mine = admin.block_storage.create_volume(size=1, name="osc-admins")
    wait_status(admin, "volume", mine.id, "available")
    as_dora = _runner(_token_env(cloud, dora.auth_token, "osc-demo"))
    out = as_dora("volume", "show", mine.id, check=False)
    assert out.returncode != 0
    assert re.search(rf"No [Vv]olume (found for |with a name or ID of '?){mine.id}", out.stderr)
    with pytest.raises(exceptions.NotFoundException):
        dora.block_storage.get_volume(mine.id)
    with pytest.raises(exceptions.NotFoundException):
        dora.block_storage.delete_volume(mine.id, ignore_missing=False)
    theirs = dora.block_storage.create_volume(size=1, name="osc-doras")
    wait_status(dora, "volume", theirs.id, "available")
    assert [v.id for v in dora.block_storage.volumes()] == [theirs.id]
    # The cloud admin sees every project's volumes with --all-projects, only its own without.
    everyone = {r["ID"] for r in js(osc, "volume", "list", "--all-projects")}
    assert {mine.id, theirs.id} <= everyone
    assert theirs.id not in {r["ID"] for r in js(osc, "volume", "list")}
    # A member may not set quotas; the admin may.
    with pytest.raises(exceptions.ForbiddenException):
        dora.block_storage.update_quota_set("osc-demo", volumes=50)
    osc("quota", "set", "--volumes", "7", "osc-demo")
    assert dora.block_storage.get_quota_set("osc-demo").volumes == 7
    # The reader reads, and is refused every write with 403.
    as_rita = _runner(_token_env(cloud, rita.auth_token, "osc-demo"))
    assert [r["ID"] for r in js(as_rita, "volume", "list")] == [theirs.id]
    out = as_rita("volume", "create", "--size", "1", "osc-readers", check=False)
    assert out.returncode != 0 and "403" in out.stderr, out.stderr
    # Bad input: Cinder's 400s.
    out = osc("volume", "create", "--size", "0", "osc-bad", check=False)
    assert out.returncode != 0 and "400" in out.stderr and "size" in out.stderr
    with pytest.raises(exceptions.BadRequestException):
        admin.block_storage.create_volume(size="lots", name="osc-bad")
    out = osc("volume", "create", "--size", "1", "--type", "osc-no-such", "osc-bad", check=False)
    assert out.returncode != 0 and "404" in out.stderr
    # Forced delete is for the cloud admin.
    with pytest.raises(exceptions.ForbiddenException):
        dora.block_storage.delete_volume(theirs.id, force=True)
    dora.block_storage.delete_volume(theirs.id)
    admin.block_storage.delete_volume(mine.id)
