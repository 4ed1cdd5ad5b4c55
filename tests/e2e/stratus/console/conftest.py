"""One `stratus up` for the console's tests, with a reader in the admin's project."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator

import pytest

from tests.e2e.cloud import ADMIN_KEY, ROOT, STRATUS, Cloud

READER = "admin:viewer"
READER_KEY = "console-reader-key-0123456789"


@pytest.fixture(scope="package")
def cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cloud]:
    up = Cloud(tmp_path_factory.mktemp("console"))
    up.env["STRATUS_COMPUTE_SHUTDOWN_TIMEOUT"] = "2"  # the test guest ignores ACPI power-off
    up.start()
    try:
        up.cli("user", "create", READER, "--role", "reader", "--key", READER_KEY)
        yield up
    finally:
        up.stop()


def stratus(cloud: Cloud, *args: str) -> str:
    """Run `stratus ARGS` as the admin (for commands without --json); its output."""
    out = subprocess.run(
        [STRATUS, *args], cwd=ROOT, env=cloud.env, capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0, f"stratus {' '.join(args)}: {out.stderr}"
    return out.stdout


@pytest.fixture(scope="package")
def console_url(cloud: Cloud) -> str:
    return f"http://127.0.0.1:{cloud.env['STRATUS_CONSOLE_PORT']}"


__all__ = ["ADMIN_KEY", "READER", "READER_KEY"]
