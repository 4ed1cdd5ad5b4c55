"""Identity and endpoints with the real clients: the parts the tour does not walk.

On the e2e tests' shared `stratus up` (this file's projects and names start ``idn``):
an unscoped token (keystoneauth) rescoped by the `openstack` CLI (the token method),
validated (keystoneclient: GET, and HEAD through keystoneauth's session) and revoked
(`openstack token revoke`, DELETE) so that no service takes it; role assignments
written by the cloud admin and refused to a project member; every interface of the
catalog (public, internal, admin) serving every service; Nova's microversion headers,
old and new, as keystoneauth sends them; containers and objects shown and deleted;
volumes made from an image of the image API (`openstack volume create --image`).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from keystoneauth1 import exceptions as ks_exceptions
from keystoneauth1 import session as ks_session
from keystoneauth1.identity import v3
from keystoneclient.v3 import client as ks_client

from tests.e2e.cloud import ADMIN_KEY, ROOT, Cloud, openstack, os_env, osj

# About 40 CLI runs (each a fresh Python with keystoneauth's discovery).
pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]
SERVICES = ("identity", "object-store", "volumev3", "block-storage", "image", "compute",
            "network")  # fmt: skip


@pytest.fixture
def cloud(shared_cloud: Cloud) -> Cloud:
    return shared_cloud


def auth_url(cloud: Cloud) -> str:
    return f"http://127.0.0.1:{cloud.env['STRATUS_IDENTITY_PORT']}/v3"


def token_env(cloud: Cloud, token: str, project: str) -> dict[str, str]:
    """The CLI on ``token`` (keystoneauth's v3token plugin: it rescopes to ``project``)."""
    env = {k: v for k, v in os_env(cloud).items() if not k.startswith("OS_")}
    env.update(
        OS_AUTH_TYPE="v3token",
        OS_AUTH_URL=auth_url(cloud),
        OS_TOKEN=token,
        OS_PROJECT_NAME=project,
        OS_PROJECT_DOMAIN_NAME="Default",
        OS_IDENTITY_API_VERSION="3",
    )
    return env


def password(cloud: Cloud, user: str, secret: str, project: str | None) -> v3.Password:
    """keystoneauth's password plugin for ``user``: project-scoped, or unscoped when None."""
    if project is None:
        return v3.Password(auth_url=auth_url(cloud), username=user, password=secret,
                           user_domain_name="Default", unscoped=True)  # fmt: skip
    return v3.Password(auth_url=auth_url(cloud), username=user, password=secret,
                       user_domain_name="Default", project_name=project,
                       project_domain_name="Default")  # fmt: skip


def session(cloud: Cloud, user: str, secret: str, project: str | None) -> ks_session.Session:
    return ks_session.Session(auth=password(cloud, user, secret, project))


def member(cloud: Cloud, project: str, user: str, role: str = "member") -> dict[str, str]:
    openstack(cloud, "project", "create", project)
    openstack(cloud, "user", "create", "--project", project, "--password", f"{user}-pw", user)
    openstack(cloud, "role", "add", "--project", project, "--user", user, role)
    return os_env(cloud, user, project)


def test_tokens_are_rescoped_validated_and_revoked(cloud: Cloud) -> None:
    member(cloud, "idn-a", "idn-ivy")
    plugin = password(cloud, "idn-ivy", "idn-ivy-pw", None)
    access = plugin.get_access(ks_session.Session(auth=plugin))
    unscoped = access.auth_token
    assert unscoped and access.project_id is None and not access.has_service_catalog()
    # The CLI rescopes the unscoped token to the project (the token method) and uses it.
    issued = osj(cloud, "token", "issue", env=token_env(cloud, unscoped, "idn-a"))
    assert issued["project_id"] == "idn-a" and issued["id"] != unscoped
    rescoped = issued["id"]
    assert osj(cloud, "volume", "list", env=token_env(cloud, rescoped, "idn-a")) == []

    # The cloud admin validates it (keystoneclient: GET /v3/auth/tokens, and HEAD).
    admin = session(cloud, "admin", ADMIN_KEY, "admin")
    keystone = ks_client.Client(session=admin, interface="public")
    info = keystone.tokens.validate(rescoped)
    assert (info.project_id, info.username) == ("idn-a", "idn-ivy")
    assert "member" in info.role_names and "admin" not in info.role_names
    assert info.expires.timestamp() > time.time() + 60
    assert set(info.service_catalog.get_endpoints()) >= set(SERVICES)
    identity = {"service_type": "identity", "interface": "public"}
    head = admin.head("/auth/tokens", endpoint_filter=identity,
                      headers={"X-Subject-Token": rescoped})  # fmt: skip
    assert head.status_code == 200
    # Someone else's token is not the member's to look at.
    theirs = ks_client.Client(session=session(cloud, "idn-ivy", "idn-ivy-pw", "idn-a"))
    with pytest.raises(ks_exceptions.Forbidden):
        theirs.tokens.validate(admin.get_token())

    # Revoked with the CLI (DELETE /v3/auth/tokens): no service takes it any more.
    openstack(cloud, "token", "revoke", rescoped)
    out = openstack(cloud, "volume", "list", check=False, env=token_env(cloud, rescoped, "idn-a"))
    assert out.returncode != 0 and "401" in out.stderr, out.stderr
    with pytest.raises(ks_exceptions.NotFound):
        keystone.tokens.validate(rescoped)
    head = admin.head("/auth/tokens", endpoint_filter=identity, raise_exc=False,
                      headers={"X-Subject-Token": rescoped})  # fmt: skip
    assert head.status_code == 404


def test_role_assignments_are_written_by_the_cloud_admin(cloud: Cloud) -> None:
    ike = member(cloud, "idn-b", "idn-ike")
    openstack(cloud, "user", "create", "--project", "idn-b", "--password", "pw", "idn-ida")
    openstack(cloud, "role", "add", "--project", "idn-b", "--user", "idn-ida", "reader")

    def roles() -> list[tuple[str, str]]:
        rows = osj(cloud, "role", "assignment", "list", "--project", "idn-b", "--names")
        return sorted((r["User"], r["Role"]) for r in rows)

    assert roles() == [("idn-ida@Default", "reader"), ("idn-ike@Default", "member")]
    # A member may not grant, not even in its own project: keystoneclient sees the 403. (The
    # CLI's `role add` exits 0 all the same: openstacksdk drops the answer of the PUT.)
    ida_id = osj(cloud, "user", "show", "idn-ida")["id"]
    as_ike = ks_client.Client(session=session(cloud, "idn-ike", "idn-ike-pw", "idn-b"))
    with pytest.raises(ks_exceptions.Forbidden):
        as_ike.roles.grant("admin", user=ida_id, project="idn-b")
    openstack(cloud, "role", "add", "--project", "idn-b", "--user", ida_id, "admin",
              check=False, env=ike)  # fmt: skip
    assert roles() == [("idn-ida@Default", "reader"), ("idn-ike@Default", "member")]
    rows = osj(cloud, "role", "assignment", "list", "--names", env=ike)
    assert [(r["User"], r["Role"]) for r in rows] == [("idn-ike@Default", "member")]
    # The cloud admin's grant replaces the user's one role (a Stratus user holds one).
    openstack(cloud, "role", "add", "--project", "idn-b", "--user", "idn-ida", "member")
    assert roles() == [("idn-ida@Default", "member"), ("idn-ike@Default", "member")]
    assert osj(cloud, "volume", "list", env=os_env(cloud, "idn-ida", "idn-b", "pw")) == []


@pytest.mark.parametrize("interface", ["internal", "admin"])
def test_every_interface_of_the_catalog_serves(cloud: Cloud, interface: str) -> None:
    catalog = {c["Type"]: c["Endpoints"] for c in osj(cloud, "catalog", "list")}
    for stype in SERVICES:
        urls = {e["interface"]: e["url"] for e in catalog[stype]}
        assert set(urls) == {"public", "internal", "admin"}, stype
        assert len(set(urls.values())) == 1, urls
    env = {**os_env(cloud), "OS_INTERFACE": interface}
    for command in (["volume", "list"], ["image", "list"], ["server", "list"],
                    ["network", "list"], ["container", "list"], ["project", "list"]):  # fmt: skip
        out = openstack(cloud, *command, "-f", "json", env=env)
        assert isinstance(json.loads(out.stdout), list)


def test_nova_microversions_as_keystoneauth_sends_them(cloud: Cloud) -> None:
    admin = session(cloud, "admin", ADMIN_KEY, "admin")
    compute = {"service_type": "compute", "interface": "public"}
    data = admin.get_endpoint_data(service_type="compute", interface="public")
    assert data is not None
    assert (data.min_microversion, data.max_microversion) == ((2, 1), (2, 79))
    resp = admin.get("/flavors", endpoint_filter=compute, microversion="2.60")
    assert resp.headers["OpenStack-API-Version"] == "compute 2.60"
    assert resp.headers["X-OpenStack-Nova-API-Version"] == "2.60"
    # The older header alone (python-novaclient's before 2.27).
    resp = admin.get("/flavors", endpoint_filter=compute,
                     headers={"X-OpenStack-Nova-API-Version": "2.25"})  # fmt: skip
    assert resp.headers["OpenStack-API-Version"] == "compute 2.25"
    resp = admin.get("/flavors", endpoint_filter=compute, raise_exc=False,
                     headers={"X-OpenStack-Nova-API-Version": "2.80"})  # fmt: skip
    assert resp.status_code == 406 and "maximum is 2.79" in resp.text
    out = openstack(cloud, "--os-compute-api-version", "2.79", "server", "list", "-f", "json")
    assert isinstance(json.loads(out.stdout), list)


def test_containers_and_objects_shown_and_deleted(cloud: Cloud, tmp_path: Path) -> None:
    openstack(cloud, "container", "create", "idn-box")
    shown = osj(cloud, "container", "show", "idn-box")
    assert (shown["container"], shown["object_count"]) == ("idn-box", "0")
    src = tmp_path / "note.txt"
    src.write_bytes(b"a note\n" * 100)
    openstack(cloud, "object", "create", "idn-box", str(src), "--name", "note.txt")
    shown = osj(cloud, "object", "show", "idn-box", "note.txt")
    assert (shown["object"], shown["content-length"]) == ("note.txt", "700")
    assert [o["Name"] for o in osj(cloud, "object", "list", "idn-box")] == ["note.txt"]
    assert osj(cloud, "container", "show", "idn-box")["object_count"] == "1"
    openstack(cloud, "object", "delete", "idn-box", "note.txt")
    openstack(cloud, "container", "delete", "idn-box")
    assert "idn-box" not in {c["Name"] for c in osj(cloud, "container", "list")}
    out = openstack(cloud, "container", "show", "idn-box", check=False)
    assert out.returncode != 0 and "404" in out.stderr, out.stderr


def wait_volume(cloud: Cloud, ident: str, env: dict[str, str] | None = None) -> Any:
    deadline = time.monotonic() + 120
    while True:
        shown = osj(cloud, "volume", "show", ident, env=env)
        if shown["status"] not in ("creating", "downloading"):
            return shown
        assert time.monotonic() < deadline, f"volume {ident} still {shown['status']}"
        time.sleep(0.5)


def test_volumes_from_images_of_the_image_api(cloud: Cloud, tmp_path: Path) -> None:
    disk = tmp_path / "disk.raw"
    disk.write_bytes(os.urandom(1 << 20) + bytes(1 << 20) + b"end")
    image = osj(cloud, "image", "create", "--file", str(disk), "--disk-format", "raw",
                "--container-format", "bare", "idn-disk")  # fmt: skip
    vol = osj(cloud, "volume", "create", "--image", "idn-disk", "--size", "1", "idn-from-image")
    shown = wait_volume(cloud, vol["id"])
    assert shown["status"] == "available" and shown["bootable"] in (True, "true")
    data = cloud.volume_file(vol["id"]).read_bytes()
    assert data[: disk.stat().st_size] == disk.read_bytes() and len(data) == 1 << 30

    # Not a disk: refused (the volume records why it failed).
    kernel = osj(cloud, "image", "create", "--file", str(disk), "--disk-format", "aki",
                 "--container-format", "aki", "idn-kernel")  # fmt: skip
    bad = osj(cloud, "volume", "create", "--image", "idn-kernel", "--size", "1", "idn-bad")
    assert wait_volume(cloud, bad["id"])["status"] == "error"

    # Another project's private image is not there for it (read as the volume's owner).
    them = member(cloud, "idn-c", "idn-ola")
    out = openstack(cloud, "volume", "create", "--image", image["id"], "--size", "1",
                    "idn-theirs", check=False, env=them)  # fmt: skip
    assert out.returncode != 0 and "No Image found" in out.stderr, out.stderr
    sdk_code = (
        "import openstack\n"
        f"conn = openstack.connect(auth_url={auth_url(cloud)!r}, username='idn-ola',"
        " password='idn-ola-pw', project_name='idn-c', user_domain_name='Default',"
        " project_domain_name='Default')\n"
        "bs = conn.block_storage\n"
        f"v = bs.create_volume(size=1, name='idn-stolen', image_id={image['id']!r})\n"
        "print(bs.wait_for_status(v, 'error', failures=['available'], wait=120).status)\n"
    )
    got = subprocess.run([sys.executable, "-c", sdk_code], cwd=ROOT, env=them,
                         capture_output=True, text=True, timeout=180)  # fmt: skip
    assert got.returncode == 0 and got.stdout.split()[-1] == "error", got.stderr
    # Public, it is theirs to use.
    openstack(cloud, "image", "set", "--public", "idn-disk")
    ok = osj(cloud, "volume", "create", "--image", image["id"], "--size", "1", "idn-public",
             env=them)  # fmt: skip
    assert wait_volume(cloud, ok["id"], env=them)["status"] == "available"
    assert cloud.volume_file(ok["id"]).read_bytes()[:16] == disk.read_bytes()[:16]

    openstack(cloud, "volume", "delete", vol["id"], bad["id"])
    out = openstack(cloud, "volume", "list", "-f", "json", env=them)
    for row in json.loads(out.stdout):
        openstack(cloud, "volume", "delete", row["ID"], env=them)
    openstack(cloud, "image", "delete", image["id"], kernel["id"])
