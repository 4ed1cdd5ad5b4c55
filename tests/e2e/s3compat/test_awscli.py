"""The aws CLI v2 (Debian 12's awscli package, 2.9) against `stratus up`.

Debian's binary is used by its path: a pip-installed aws-cli v1 earlier on
PATH (pyenv shims, for one) would otherwise stand in for it unnoticed.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import urllib.request
from pathlib import Path

import pytest

from tests.e2e.s3compat.conftest import S3Up
from tests.helpers.tools import missing_tool

MiB = 1024 * 1024
DEBIAN_AWS = Path("/usr/bin/aws")


@pytest.fixture
def aws(s3_up: S3Up, tmp_path: Path):
    if not DEBIAN_AWS.exists():
        missing_tool("/usr/bin/aws (Debian package awscli, aws-cli v2) is not installed")
    exe = str(DEBIAN_AWS)
    env = {**os.environ, **s3_up.env(), "HOME": str(tmp_path)}
    version = subprocess.run([exe, "--version"], env=env, capture_output=True, text=True)
    assert version.stdout.startswith("aws-cli/2."), version.stdout + version.stderr

    def run(*args: str, check: bool = True) -> str:
        proc = subprocess.run(
            [exe, "--endpoint-url", s3_up.endpoint, *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        if check and proc.returncode != 0:
            raise AssertionError(f"aws {' '.join(args)} failed:\n{proc.stdout}\n{proc.stderr}")
        return proc.stdout

    return run


def _sha(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(MiB):
            h.update(chunk)
    return h.hexdigest()


def test_cp_sync_ls_rm_presign(aws, s3_up: S3Up, tmp_path: Path) -> None:
    aws("s3", "mb", "s3://e2e-awscli")
    big = tmp_path / "big.bin"
    with big.open("wb") as f:
        for _ in range(100):
            f.write(os.urandom(MiB))
    aws("s3", "cp", str(big), "s3://e2e-awscli/big.bin")
    back = tmp_path / "back.bin"
    aws("s3", "cp", "s3://e2e-awscli/big.bin", str(back))
    assert _sha(back) == _sha(big)
    etag = s3_up.client().head_object(Bucket="e2e-awscli", Key="big.bin")["ETag"]
    assert etag.endswith('-13"')  # 100 MiB in the CLI's 8 MiB parts
    tree = tmp_path / "tree"
    for rel in ("a.txt", "sub/b.txt", "sub/deeper/c.txt"):
        (tree / rel).parent.mkdir(parents=True, exist_ok=True)
        (tree / rel).write_text(f"content of {rel}")
    aws("s3", "sync", str(tree), "s3://e2e-awscli/tree")
    listing = aws("s3", "ls", "--recursive", "s3://e2e-awscli/tree/")
    assert sorted(line.split()[-1] for line in listing.splitlines()) == [
        "tree/a.txt",
        "tree/sub/b.txt",
        "tree/sub/deeper/c.txt",
    ]
    # A second sync finds nothing to do: sizes and times agree.
    assert aws("s3", "sync", str(tree), "s3://e2e-awscli/tree", "--dryrun").strip() == ""
    url = aws("s3", "presign", "s3://e2e-awscli/tree/a.txt", "--expires-in", "60").strip()
    with urllib.request.urlopen(url, timeout=10) as resp:
        assert resp.read() == b"content of a.txt"
    aws("s3", "rm", "--recursive", "s3://e2e-awscli/")
    assert aws("s3", "ls", "s3://e2e-awscli/").strip() == ""
    aws("s3", "rb", "s3://e2e-awscli")
    assert "e2e-awscli" not in aws("s3", "ls")
