"""Attack: another local user reads Stratus's data files (CHAP secrets in the volume
records, inline object bodies in the nodes' LMDB, identity key hashes, volume bytes).

A real `stratus up` that stored a volume attachment and an object leaves nothing in its
data directory open to group or other; a data directory that is open refuses to start,
naming the path and the fix.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import urllib.request
from pathlib import Path

from tests.e2e.cloud import ADMIN_KEY, Cloud
from tests.functional.stratus.cli.test_up import ROOT, _up_env

INITIATOR = "iqn.2024-01.org.stratus.test:private-host"


def exposed(root: Path) -> list[str]:
    """Every directory or regular file under ``root`` with a group or other bit."""
    found = []
    for here, dirs, files in os.walk(root):
        for name in [*dirs, *files]:
            st = os.lstat(Path(here) / name)
            if stat.S_ISLNK(st.st_mode) or not (
                stat.S_ISDIR(st.st_mode) or stat.S_ISREG(st.st_mode)
            ):
                continue
            if st.st_mode & 0o077:
                found.append(f"{Path(here) / name} {stat.S_IMODE(st.st_mode):04o}")
    if os.stat(root).st_mode & 0o077:
        found.append(str(root))
    return found


def put_object(cloud: Cloud) -> None:
    """A small object as the admin over the Swift API (small bodies go inline in LMDB)."""
    base = f"http://127.0.0.1:{cloud.env['STRATUS_PROXY_PORT']}"
    auth = urllib.request.Request(
        f"{base}/auth/v1.0", headers={"X-Auth-User": "admin:admin", "X-Auth-Key": ADMIN_KEY}
    )
    with urllib.request.urlopen(auth, timeout=30) as r:
        token, url = r.headers["X-Auth-Token"], r.headers["X-Storage-Url"]
    for path, body in ((f"{url}/secret-box", None), (f"{url}/secret-box/note", b"top secret")):
        req = urllib.request.Request(path, data=body, method="PUT", headers={"X-Auth-Token": token})
        with urllib.request.urlopen(req, timeout=30) as r:
            assert r.status in (201, 202)


def test_stratus_up_keeps_every_data_file_private(tmp_path: Path) -> None:
    cloud = Cloud(tmp_path)
    cloud.start()
    try:
        vol = cloud.volume("create", "1", "--name", "private")
        vol = vol.get("volume", vol)
        att = cloud.volume("attach", vol["id"], "--initiator", INITIATOR)
        assert "auth_password" in json.dumps(att)  # a CHAP secret is now in the records
        put_object(cloud)
    finally:
        cloud.stop()
    assert cloud.data.is_dir() and (cloud.data / "volumes" / "records").is_dir()
    assert exposed(cloud.data) == []


def test_an_open_data_dir_refuses_to_start(tmp_path: Path) -> None:
    data = tmp_path / "data"
    (data / "identity").mkdir(parents=True, mode=0o700)
    data.chmod(0o755)  # as `mkdir` under a usual umask makes it
    out = subprocess.run(
        [sys.executable, "-m", "stratus.cli.main", "up", "--exit-after-start"],
        cwd=ROOT,
        env=_up_env(data),
        capture_output=True,
        text=True,
        timeout=90,
    )
    assert out.returncode == 1, out.stdout + out.stderr
    assert f"data directory {data} is open to other local users (mode 0755)" in out.stderr
    assert f"chmod -R go-rwx {data}" in out.stderr
    assert "Traceback" not in out.stderr
    assert not (data / "run").exists()  # refused before anything was made or started


def test_an_open_file_refuses_the_volume_service(tmp_path: Path) -> None:
    data = tmp_path / "data"
    records = data / "volumes" / "records"
    records.mkdir(parents=True)
    subprocess.run(["chmod", "-R", "go-rwx", str(data)], check=True)
    leaked = records / "data.mdb"
    leaked.write_bytes(b"")
    leaked.chmod(0o644)
    cfg = tmp_path / "stratus.toml"
    cfg.write_text(f'[data]\ndir = "{data}"\n')
    env = {k: v for k, v in os.environ.items() if not k.startswith("STRATUS_")}
    out = subprocess.run(
        [sys.executable, "-m", "stratus.cli.main", "--config", str(cfg), "volume", "serve"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 1, out.stdout + out.stderr
    assert f"data file {leaked} is open to other local users (mode 0644)" in out.stderr
    assert "chmod -R go-rwx" in out.stderr
