"""The commands `stratus up` suggests, written so that a copy runs as printed.

`make up` does not put ``.venv/bin`` on PATH, so a command installed beside
this Python (``swift``, ``stratus``) is named by its path: relative to the
current directory when it lives below it (``.venv/bin/swift`` in a clone,
where `make up` runs), else absolute. Every credential a command needs is
spelled out on its line: the banner prints them anyway.
"""

from __future__ import annotations

import shlex
import shutil
import sys
from pathlib import Path
from urllib.parse import urlsplit


def installed(name: str) -> str | None:
    """How to run ``name`` from this Python's bin directory, or None when it is not there."""
    path = Path(sys.executable).parent / name
    if not path.exists():
        return None
    return shlex.quote(_shown(path))


def _shown(path: Path) -> str:
    try:
        rel = path.absolute().relative_to(Path.cwd())
    except ValueError:
        return str(path.absolute())
    return str(rel) if rel.parent != Path(".") else f"./{rel}"


def stratus(config_file: str | None) -> str:
    """The `stratus` command, with the ``--config`` the cloud was started with."""
    cmd = installed("stratus") or f"{shlex.quote(_shown(Path(sys.executable)))} -m stratus.cli.main"
    return f"{cmd} --config {shlex.quote(config_file)}" if config_file else cmd


def swift(auth_url: str, user: str, key: str | None) -> str | None:
    """`swift stat` as the admin (or curl on /auth/v1.0 without python-swiftclient)."""
    shown = shlex.quote(key) if key else '"$STRATUS_ADMIN_KEY"'
    cmd = installed("swift")
    if cmd is not None:
        return f"{cmd} -A {auth_url} -U {shlex.quote(user)} -K {shown} stat"
    if shutil.which("curl"):
        return (
            f"curl -fsSi -H {shlex.quote('X-Auth-User: ' + user)} -H X-Auth-Key:{shown} {auth_url}"
        )
    return None


def s3(url: str, access: str, secret: str, region: str) -> str | None:
    """A bucket listing with the aws CLI (else s3cmd), keys and region on the line."""
    if shutil.which("aws"):
        env = {
            "AWS_ACCESS_KEY_ID": access,
            "AWS_SECRET_ACCESS_KEY": secret,
            "AWS_DEFAULT_REGION": region,
        }
        assigns = " ".join(f"{k}={shlex.quote(v)}" for k, v in env.items())
        return f"{assigns} aws --endpoint-url {url} s3 ls"
    if shutil.which("s3cmd"):
        parts = urlsplit(url)
        host = shlex.quote(parts.netloc)
        tls = "" if parts.scheme == "https" else " --no-ssl"
        return (
            f"s3cmd --access_key={shlex.quote(access)} --secret_key={shlex.quote(secret)} "
            f"--region={shlex.quote(region)} --host={host} --host-bucket={host}{tls} ls"
        )
    return None


def os_cloud(clouds_yaml: str) -> str:
    """The variables that point openstack / openstacksdk at `stratus up`'s clouds.yaml."""
    path = shlex.quote(str(Path(clouds_yaml).absolute()))  # absolute: still right after a cd
    return f"OS_CLOUD=stratus OS_CLIENT_CONFIG_FILE={path}"


def openstack(clouds_yaml: str) -> str | None:
    """`openstack catalog list` as the admin, when python-openstackclient is installed."""
    cmd = installed("openstack")
    return f"{os_cloud(clouds_yaml)} {cmd} catalog list" if cmd else None
