"""`stratus up` as a subprocess, reached through its S3 API with real clients.

The admin's S3 credential is read from the start-up banner, which is also
how a person finds it.
"""

from __future__ import annotations

import contextlib
import re
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config as BotoConfig

from tests.e2e.objectstore.conftest import ADMIN_KEY, ADMIN_USER, StratusUp
from tests.helpers.tools import need_tool

_BANNER = re.compile(r"S3 (access|secret) key\s+(\S+)")
BASE_DOMAIN = "s3.e2e.test"


@dataclass
class S3Up:
    server: StratusUp
    endpoint: str
    access: str
    secret: str

    @property
    def port(self) -> int:
        return int(self.endpoint.rsplit(":", 1)[1])

    def client(
        self, style: str = "default", access: str | None = None, secret: str | None = None
    ) -> Any:
        """boto3 with default settings, or forced path-style, or virtual-hosted-style.

        Virtual-hosted requests name ``<bucket>.<BASE_DOMAIN>``; a proxy setting
        sends them to the loopback server with that Host.
        """
        config = None
        endpoint = self.endpoint
        if style == "path":
            config = BotoConfig(s3={"addressing_style": "path"})
        elif style == "virtual":
            endpoint = f"http://{BASE_DOMAIN}:{self.port}"
            config = BotoConfig(
                s3={"addressing_style": "virtual"},
                proxies={"http": f"http://127.0.0.1:{self.port}"},
            )
        return boto3.client(
            "s3",
            endpoint_url=endpoint,
            aws_access_key_id=access or self.access,
            aws_secret_access_key=secret or self.secret,
            region_name="us-east-1",
            config=config,
        )

    def env(self) -> dict[str, str]:
        """Environment for the aws CLI and friends."""
        return {
            "AWS_ACCESS_KEY_ID": self.access,
            "AWS_SECRET_ACCESS_KEY": self.secret,
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_CONFIG_FILE": "/dev/null",
            "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
        }

    @property
    def auth(self) -> tuple[str, str, str]:
        return self.server.auth_url, ADMIN_USER, ADMIN_KEY


def _credentials(server: StratusUp, timeout: float = 30.0) -> tuple[str, str]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = dict(_BANNER.findall(server.log_path.read_text(errors="replace")))
        if "access" in found and "secret" in found:
            return found["access"], found["secret"]
        time.sleep(0.1)
    raise RuntimeError(f"no S3 credential in the banner:\n{server.log()}")


# Package scope: stopped once its package is done, not idling through the rest of the suite.
@pytest.fixture(scope="package")
def s3_up(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Up]:
    server = StratusUp(tmp_path_factory.mktemp("stratus-up-s3") / "data")
    server.other_ports["STRATUS_S3_BASE_DOMAIN"] = BASE_DOMAIN  # merged into its environment
    server.start()
    try:
        access, secret = _credentials(server)
        port = server.other_ports["STRATUS_S3_PORT"]
        yield S3Up(server, f"http://127.0.0.1:{port}", access, secret)
    finally:
        server.stop()


@contextlib.contextmanager
def tls_stratus_up(factory: pytest.TempPathFactory, name: str) -> Iterator[tuple[S3Up, Path]]:
    """A `stratus up` whose S3 API serves HTTPS with a self-signed certificate made here
    (boto3's trailing checksums and SSE-C need TLS); yields it and the certificate."""
    openssl = need_tool("openssl", "openssl")
    certs = factory.mktemp(f"{name}-tls")
    cert, key = certs / "cert.pem", certs / "key.pem"
    subprocess.run(
        [
            openssl, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
            "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
            "-addext", "subjectAltName=IP:127.0.0.1",
            "-keyout", str(key), "-out", str(cert),
        ],
        check=True, capture_output=True, timeout=30,
    )  # fmt: skip
    server = StratusUp(factory.mktemp(f"stratus-up-{name}") / "data")
    server.other_ports["STRATUS_S3_TLS_CERT"] = str(cert)
    server.other_ports["STRATUS_S3_TLS_KEY"] = str(key)
    server.start()
    try:
        access, secret = _credentials(server)
        port = server.other_ports["STRATUS_S3_PORT"]
        yield S3Up(server, f"https://127.0.0.1:{port}", access, secret), cert
    finally:
        server.stop()
