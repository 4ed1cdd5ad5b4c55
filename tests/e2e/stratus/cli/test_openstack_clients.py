"""The unmodified OpenStack clients against `stratus up`: `openstack` and openstacksdk.

They log in on the identity (Keystone v3) API with the clouds.yaml `stratus up`
writes, find every service in the catalog, and use the same token on them.
"""

from __future__ import annotations

import json
import re
import stat
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.cloud import ADMIN_KEY, ROOT, Cloud, openstack, os_env, osj


@pytest.fixture(scope="module")
def cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cloud]:
    up = Cloud(tmp_path_factory.mktemp("openstack"))
    up.start()
    try:
        yield up
    finally:
        up.stop()


def _banner(cloud: Cloud, timeout: float = 60) -> str:
    """`stratus up`'s output once its banner is complete (the services answer before)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        log = cloud.log.read_text(errors="replace")
        if "stratus: up in " in log:
            return log
        time.sleep(0.1)
    raise AssertionError(f"no banner:\n{cloud.log.read_text()[-4000:]}")


def test_up_writes_a_private_clouds_yaml_and_prints_the_exports(cloud: Cloud) -> None:
    path = cloud.data / "clouds.yaml"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    text = path.read_text()
    assert f'password: "{ADMIN_KEY}"' in text and "identity_api_version: 3" in text
    port = cloud.env["STRATUS_IDENTITY_PORT"]
    assert f'auth_url: "http://127.0.0.1:{port}/v3"' in text
    log = _banner(cloud)
    # The whole line, the path absolute and last (a shell pastes it as it is).
    export = rf"export OS_CLOUD=stratus OS_CLIENT_CONFIG_FILE={re.escape(str(path))}$"
    assert re.search(export, log, re.MULTILINE), log
    assert re.search(rf"identity API\s+http://127.0.0.1:{port}/v3/", log)


def test_token_catalog_projects_users_assignments(cloud: Cloud) -> None:
    token = osj(cloud, "token", "issue")
    assert token["project_id"] == "admin" and token["id"].startswith("AUTH_tk")
    catalog = osj(cloud, "catalog", "list")
    types = {c["Type"] for c in catalog}
    assert {"identity", "object-store", "volumev3", "block-storage", "image", "compute"} <= types
    swift = next(c for c in catalog if c["Type"] == "object-store")
    port = cloud.env["STRATUS_PROXY_PORT"]
    assert f"http://127.0.0.1:{port}/v1/AUTH_admin" in json.dumps(swift["Endpoints"])
    assert {p["Name"] for p in osj(cloud, "project", "list")} == {"admin"}
    assert {u["Name"] for u in osj(cloud, "user", "list")} == {"admin"}
    rows = osj(cloud, "role", "assignment", "list", "--names")
    assert [(r["Role"], r["User"], r["Project"]) for r in rows] == [
        ("admin", "admin@Default", "admin@Default")
    ]
    # Identity writes through the CLI land in the same store `stratus user` uses.
    openstack(cloud, "project", "create", "demo")
    openstack(cloud, "user", "create", "--project", "demo", "--password", "demo-pw", "dora")
    openstack(cloud, "role", "add", "--project", "demo", "--user", "dora", "member")
    users = {(u["project"], u["user"], u["role"]) for u in cloud.cli("user", "list")}
    assert ("demo", "dora", "member") in users


def test_objects_through_the_catalog(cloud: Cloud, tmp_path: Path) -> None:
    openstack(cloud, "container", "create", "osc")
    assert "osc" in {c["Name"] for c in osj(cloud, "container", "list")}
    src = tmp_path / "hello.txt"
    src.write_bytes(b"hello from openstack\n")
    openstack(cloud, "object", "create", "osc", str(src), "--name", "hello.txt")
    names = {o["Name"] for o in osj(cloud, "object", "list", "osc")}
    assert names == {"hello.txt"}
    dst = tmp_path / "back.txt"
    openstack(cloud, "object", "save", "osc", "hello.txt", "--file", str(dst))
    assert dst.read_bytes() == src.read_bytes()
    openstack(cloud, "object", "delete", "osc", "hello.txt")
    assert osj(cloud, "object", "list", "osc") == []


def test_one_token_works_on_every_service(cloud: Cloud) -> None:
    token = osj(cloud, "token", "issue")["id"]

    def status(url: str) -> int:
        req = urllib.request.Request(url, headers={"X-Auth-Token": token})
        with urllib.request.urlopen(req, timeout=30) as resp:
            return resp.status

    e = cloud.env
    assert status(f"http://127.0.0.1:{e['STRATUS_PROXY_PORT']}/v1/AUTH_admin") in (200, 204)
    assert status(f"http://127.0.0.1:{e['STRATUS_VOLUME_PORT']}/v3/admin/volumes") == 200
    assert status(f"http://127.0.0.1:{e['STRATUS_IMAGE_PORT']}/v2/images") == 200
    assert status(f"http://127.0.0.1:{e['STRATUS_COMPUTE_PORT']}/v2.1/servers") == 200


def test_wrong_password_fails_with_401(cloud: Cloud) -> None:
    env = os_env(cloud, "admin", "admin", password="not-the-key")
    out = openstack(cloud, "token", "issue", check=False, env=env)
    assert out.returncode != 0
    assert "401" in out.stderr, out.stderr


def test_openstacksdk_connects_with_the_cloud(cloud: Cloud) -> None:
    script = (
        "import openstack\n"
        "conn = openstack.connect(cloud='stratus')\n"
        "conn.object_store.create_container('sdk')\n"
        "print(sorted(c.name for c in conn.object_store.containers()))\n"
        "print(sorted(p.name for p in conn.identity.projects()))\n"
    )
    env = os_env(cloud)
    del env["OS_CLOUD"]
    out = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    containers, projects = out.stdout.splitlines()[-2:]
    assert "'sdk'" in containers
    assert "'admin'" in projects


def test_ec2_credentials_sign_s3_requests(cloud: Cloud) -> None:
    import boto3
    from botocore.config import Config

    cred = osj(cloud, "ec2", "credentials", "create")
    assert cred["project_id"] == "admin"
    listed = osj(cloud, "ec2", "credentials", "list")
    assert cred["access"] in {c["Access"] for c in listed}
    s3 = boto3.client(
        "s3",
        endpoint_url=f"http://127.0.0.1:{cloud.env['STRATUS_S3_PORT']}",
        aws_access_key_id=cred["access"],
        aws_secret_access_key=cred["secret"],
        region_name="us-east-1",
        config=Config(s3={"addressing_style": "path"}),
    )
    s3.create_bucket(Bucket="from-ec2")
    assert "from-ec2" in {b["Name"] for b in s3.list_buckets()["Buckets"]}
    openstack(cloud, "ec2", "credentials", "delete", cred["access"])
    assert cred["access"] not in {c["Access"] for c in osj(cloud, "ec2", "credentials", "list")}


def test_quota_show_says_compute_and_network_are_unlimited(cloud: Cloud) -> None:
    """`openstack quota show` asks compute, volume and network; none of them 404s."""
    limits = {row["Resource"]: row["Limit"] for row in osj(cloud, "quota", "show")}
    assert limits["instances"] == limits["cores"] == limits["networks"] == limits["ports"] == -1
    assert "volumes" in limits
    usage = {r["Resource"]: r for r in osj(cloud, "quota", "show", "--usage")}
    assert usage["instances"]["Limit"] == -1 and usage["instances"]["In Use"] == 0
    assert usage["security_groups"]["In Use"] == 1 and usage["networks"]["Limit"] == -1
    assert osj(cloud, "quota", "list", "--compute") == []
    refused = openstack(cloud, "quota", "set", "--instances", "5", "admin", check=False)
    assert refused.returncode != 0 and "not enforced" in refused.stderr, refused.stderr
