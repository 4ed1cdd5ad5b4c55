"""What a new user copies after `make up`: the banner's `try:` lines and README's S3 snippets.

Each runs as a person would run it: through bash, from the repository root, in a
shell whose PATH does not have the virtualenv's bin directory (`make up` does not
activate it), with no aws configuration of this machine's own.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.e2e.cloud import ROOT, Cloud
from tests.helpers.tools import missing_tool

BIN = Path(sys.executable).parent


@pytest.fixture(scope="module")
def cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cloud]:
    up = Cloud(tmp_path_factory.mktemp("first-steps"))
    # A new user fixes no key: `stratus up` makes one and the CLI finds it in the data dir.
    del up.env["STRATUS_ADMIN_KEY"], up.env["ST_KEY"]
    up.start()
    try:
        yield up
    finally:
        up.stop()


def _banner(cloud: Cloud, timeout: float = 60) -> list[str]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        lines = cloud.log.read_text(errors="replace").splitlines()
        if any(line.startswith("stratus: up in ") for line in lines):
            return lines
        time.sleep(0.1)
    raise AssertionError(f"no banner:\n{cloud.log.read_text()[-4000:]}")


def _user_shell(cloud: Cloud) -> dict[str, str]:
    """The environment `stratus up` ran in, as the user's shell has it: no venv on PATH."""
    env = dict(cloud.env)
    env["PATH"] = os.pathsep.join(
        p for p in env.get("PATH", "").split(os.pathsep) if p and Path(p) != BIN
    )
    env.pop("VIRTUAL_ENV", None)
    env["AWS_CONFIG_FILE"] = env["AWS_SHARED_CREDENTIALS_FILE"] = os.devnull
    return env


def _bash(script: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", "-e", "-c", script],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )


def test_every_try_line_runs_as_printed(cloud: Cloud) -> None:
    hints = [m[1] for line in _banner(cloud) if (m := re.fullmatch(r"stratus: try: (.*)", line))]
    env = _user_shell(cloud)
    assert shutil.which("swift", path=env["PATH"]) != str(BIN / "swift")
    failed = []
    for hint in hints:
        out = _bash(hint, env)
        if out.returncode != 0:
            failed.append(f"{hint}\n  -> {out.returncode}: {out.stderr.strip()[-300:]}")
        elif hint.endswith(" stat"):
            assert "Account: AUTH_admin" in out.stdout
        elif hint.endswith(" status"):
            assert "nodes up 1/1" in out.stdout
    assert not failed, "\n".join(failed)
    # Each service has its line: Swift, S3 (with a command line client installed), the CLI.
    assert any(h.endswith(" stat") and "swift" in h for h in hints), hints
    assert any(" volume create " in h for h in hints), hints
    assert any(h.endswith(" status") for h in hints), hints
    if any(shutil.which(tool) for tool in ("aws", "s3cmd")):
        assert any(" s3 ls" in h or "s3cmd " in h for h in hints), hints
    else:
        missing_tool("no S3 command line client (Debian package awscli or s3cmd)")


def _readme_section(title: str) -> str:
    text = (ROOT / "README.md").read_text()
    m = re.search(rf"^## {re.escape(title)}.*?$(.*?)(?=^## )", text, re.S | re.M)
    assert m, f"README.md has no section '## {title}'"
    return m[1]


def test_readme_s3_snippets_run(cloud: Cloud, tmp_path: Path) -> None:
    """README's S3 section, with the keys and port this cloud printed, runs as written."""
    for tool, package in (("aws", "awscli"), ("s3cmd", "s3cmd")):
        if shutil.which(tool) is None:
            missing_tool(f"{tool} (Debian package {package}) is not installed")
    banner = "\n".join(_banner(cloud))
    access = re.search(r"S3 access key\s+(\S+)", banner)[1]  # type: ignore[index]
    secret = re.search(r"S3 secret key\s+(\S+)", banner)[1]  # type: ignore[index]
    port = cloud.env["STRATUS_S3_PORT"]
    blocks = re.findall(r"```(sh|python)\n(.*?)```", _readme_section("S3"), re.S)
    assert [lang for lang, _ in blocks] == ["sh", "sh", "python"], blocks

    def filled(code: str) -> str:
        code = code.replace("YOUR_ACCESS_KEY", access).replace("YOUR_SECRET_KEY", secret)
        return code.replace("127.0.0.1:9000", f"127.0.0.1:{port}")

    env = _user_shell(cloud)
    for lang, code in blocks:
        if lang == "sh":
            out = _bash(filled(code), env)
        else:
            script = tmp_path / "snippet.py"
            script.write_text(filled(code))
            out = subprocess.run(
                [sys.executable, str(script)],
                cwd=ROOT,
                env=env,
                capture_output=True,
                text=True,
                timeout=120,
            )
        assert out.returncode == 0, f"{code}\n{out.stdout}\n{out.stderr}"
    # What the snippets say they do happened: the aws CLI's upload, s3cmd's download,
    # boto3's object.
    assert "README.md" in out.stdout and "hello.txt" in out.stdout, out.stdout


def test_every_metrics_url_in_the_banner_answers(cloud: Cloud) -> None:
    """`stratus up` lists each service's /metrics; each answers, unauthenticated, with
    Prometheus text that counts its requests (a storage node: its own request family)."""
    listed = [
        (m[1], m[2])
        for line in _banner(cloud)
        if (m := re.fullmatch(r"stratus: (?:metrics)?\s+(http\S+/metrics)  \((.+)\)", line))
    ]
    whats = [what for _, what in listed]
    for service in ("proxy", "volume", "image", "compute", "network", "identity", "storage node"):
        assert any(w.startswith(service) for w in whats), whats
    for url, what in listed:
        with urllib.request.urlopen(url, timeout=10) as resp:
            assert resp.status == 200, url
            names = {f.name for f in text_string_to_metric_families(resp.read().decode())}
        want = (
            "stratus_node_requests" if what.startswith("storage node") else "stratus_http_requests"
        )
        assert want in names, (url, sorted(names))
