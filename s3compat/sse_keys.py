"""The cluster's SSE-S3 keys: one private file of numbered AES-256 keys, one of them active.

``<data>/sse-keys.toml`` (or ``s3.sse_key_file``), mode 0600, is created on
the first SSE-S3 write. Each object's data key is wrapped by the key that was
active when it was written and names that key's id, so rotation is adding a
key and making it active (`stratus sse-keys rotate`): new writes use the new
key, every older key stays for reading what it wrapped. A key is never
removed by Stratus. Every proxy of a cluster needs the same file (copy it,
as ``cluster.toml``); a proxy notices a rotated file by its modification
time, without a restart.

    version = 1
    active = "2"
    [keys]
    "1" = "<base64 of 32 bytes>"
    "2" = "<base64 of 32 bytes>"
"""

from __future__ import annotations

import base64
import binascii
import os
import threading
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from s3compat import sse_crypto
from stratus.config import Config, ConfigError
from stratus.private import write_private

FILE_NAME = "sse-keys.toml"
FORMAT = 1


def path_for(config: Config) -> Path:
    return Path(config.s3.sse_key_file) if config.s3.sse_key_file else config.data_dir / FILE_NAME


@dataclass
class Keys:
    active: str
    keys: dict[str, bytes] = field(default_factory=dict)


def _parse(path: Path, data: bytes) -> Keys:
    try:
        doc = tomllib.loads(data.decode())
        if doc.get("version") != FORMAT:
            raise ValueError(f"unknown version {doc.get('version')!r}")
        keys = {str(k): base64.b64decode(v, validate=True) for k, v in doc["keys"].items()}
        active = str(doc["active"])
    except (ValueError, KeyError, TypeError, AttributeError, binascii.Error) as exc:
        raise ConfigError(f"{path}: not a Stratus SSE key file ({exc})") from None
    if active not in keys or any(len(k) != sse_crypto.KEY_SIZE for k in keys.values()):
        raise ConfigError(f"{path}: the active key is missing or a key is not 32 bytes")
    return Keys(active, keys)


def _render(keys: Keys) -> str:
    lines = [
        "# Stratus SSE-S3 keys: they decrypt every SSE-S3 object. Keep this file private,",
        "# back it up apart from the data, and never remove a key (see docs/security.md).",
        f"version = {FORMAT}",
        f'active = "{keys.active}"',
        "[keys]",
    ]
    lines += [f'"{kid}" = "{base64.b64encode(k).decode()}"' for kid, k in keys.keys.items()]
    return "\n".join(lines) + "\n"


class KeyRing:
    """The key file of one cluster, read when it changes, created on first use."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._stamp: tuple[int, int] | None = None
        self._keys: Keys | None = None
        self._lock = threading.Lock()

    def _load(self) -> Keys | None:
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            return None
        stamp = (st.st_mtime_ns, st.st_size)
        if self._keys is None or stamp != self._stamp:
            if st.st_mode & 0o077:
                raise ConfigError(
                    f"{self.path} is open to other local users: chmod 600 {self.path}"
                )
            self._keys = _parse(self.path, self.path.read_bytes())
            self._stamp = stamp
        return self._keys

    def active(self) -> tuple[str, bytes]:
        """The id and key new objects are wrapped with (the file made on first use)."""
        with self._lock:
            keys = self._load()
            if keys is None:
                first = _render(Keys("1", {"1": sse_crypto.new_key()}))
                write_private(self.path, first.encode(), replace=False)
                keys = self._load()
            assert keys is not None
            return keys.active, keys.keys[keys.active]

    def get(self, key_id: str) -> bytes | None:
        with self._lock:
            keys = self._load()
        return None if keys is None else keys.keys.get(key_id)

    def describe(self) -> tuple[str | None, list[str]]:
        """The active key id and every key id (never a key)."""
        with self._lock:
            keys = self._load()
        return (None, []) if keys is None else (keys.active, list(keys.keys))

    def rotate(self) -> str:
        """Add a new key and make it active; every old key stays. Returns the new id."""
        with self._lock:
            keys = self._load()
            if keys is None:
                keys = Keys("0", {})
            new_id = str(max((int(k) for k in keys.keys if k.isdigit()), default=0) + 1)
            updated = Keys(new_id, {**keys.keys, new_id: sse_crypto.new_key()})
            write_private(self.path, _render(updated).encode())
            self._keys = None
            return new_id
