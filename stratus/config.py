"""The one typed configuration object of Stratus.

Every option lives in a dataclass field with a ``doc`` in its metadata, so
the documentation (``docs/configuration.md``) is generated from this file
and cannot drift from it. Values come from, in rising priority: the
defaults here, one TOML file, and ``STRATUS_<SECTION>_<OPTION>`` environment
variables. Unknown sections or keys are errors, not warnings: a typo must
never silently fall back to a default.
"""

from __future__ import annotations

import dataclasses
import os
import re
import tomllib
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

TEST_HOOKS_ENV = "STRATUS_TEST_HOOKS"  # test-only options are refused unless it is "1"


class ConfigError(ValueError):
    """A configuration value is unknown, mistyped or out of range."""


def _opt(default: Any, doc: str, *, secret: bool = False) -> Any:
    """One option; a ``secret`` one is never printed by `stratus config show`."""
    meta = {"doc": doc, "secret": secret}
    if isinstance(default, list):
        return field(default_factory=lambda: list(default), metadata=meta)
    return field(default=default, metadata=meta)


@dataclass
class DataSection:
    """Where the cloud keeps its state on this machine."""

    dir: str = _opt(
        "./stratus-data",
        "Directory under which every service keeps its data (rings, devices, "
        "identity, volumes). `STRATUS_DATA` also sets it.",
    )


@dataclass
class ClusterSection:
    """Settings every node of one cluster must share."""

    hash_path_prefix: str = _opt(
        "",
        "Secret salt put before every path hashed for placement. Empty: a random "
        "value is generated once and stored in the data directory.",
        secret=True,
    )
    hash_path_suffix: str = _opt(
        "",
        "Secret salt put after every path hashed for placement. Empty: generated like the prefix.",
        secret=True,
    )
    part_power: int = _opt(10, "Rings built by `stratus up` have 2**part_power partitions.")
    replicas: int = _opt(3, "Replicas of every account, container and object.")
    min_part_hours: int = _opt(
        1, "Hours before a partition's replica may move again after a rebalance."
    )
    ring_source: str = _opt(
        "",
        "host:port of a storage node (e.g. the builder host's) whose rings every node "
        "fetches every `ring_fetch_interval` s, installing each newer one (signed like "
        "`stratus ring push`). Empty: rings arrive by `stratus ring push` only.",
    )
    ring_fetch_interval: float = _opt(
        30.0, "Seconds between two fetches of the rings from `ring_source`."
    )

    def ring_source_address(self) -> tuple[str, int] | None:
        """``ring_source`` as (host, port); ``[v6]:port`` for IPv6. None when unset."""
        if not self.ring_source:
            return None
        host, sep, port = self.ring_source.strip().rpartition(":")
        host = host.removeprefix("[").removesuffix("]")
        if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise ConfigError(f"cluster.ring_source must be host:port, not {self.ring_source!r}")
        return host, int(port)

    def validate(self) -> None:
        if self.ring_source:
            self.ring_source_address()
        if not 1.0 <= self.ring_fetch_interval <= 86400.0:
            raise ConfigError("cluster.ring_fetch_interval must be between 1 and 86400")
        if not 1 <= self.part_power <= 24:
            raise ConfigError("cluster.part_power must be between 1 and 24")
        if not 1 <= self.replicas <= 16:
            raise ConfigError("cluster.replicas must be between 1 and 16")
        if self.min_part_hours < 0:
            raise ConfigError("cluster.min_part_hours must be >= 0")


@dataclass
class StorageSection:
    """The storage nodes that `stratus up` runs on this machine."""

    nodes: int = _opt(3, "Storage node processes started by `stratus up`.")
    devices_per_node: int = _opt(1, "Devices (directories) per storage node.")
    host: str = _opt("127.0.0.1", "Address the storage nodes listen on.")
    base_port: int = _opt(6200, "Port of the first storage node; the others follow it.")
    inline_threshold: int = _opt(
        65536, "Object bodies up to this many bytes are kept inline in LMDB."
    )
    fsync: bool = _opt(True, "fsync data and metadata before a write is acknowledged.")
    reserve_bytes: int = _opt(
        0,
        "Bytes each device keeps free: a write that would leave less answers 507, as a full "
        "device does, and the proxy writes to a handoff instead (Swift's fallocate_reserve).",
    )

    def validate(self) -> None:
        if self.reserve_bytes < 0:
            raise ConfigError("storage.reserve_bytes must be >= 0")
        if not 1 <= self.nodes <= 64:
            raise ConfigError("storage.nodes must be between 1 and 64")
        if not 1 <= self.devices_per_node <= 64:
            raise ConfigError("storage.devices_per_node must be between 1 and 64")
        _check_port("storage.base_port", self.base_port)
        if not 0 <= self.inline_threshold <= 16 * 1024 * 1024:
            raise ConfigError("storage.inline_threshold must be between 0 and 16 MiB")


@dataclass
class ProxySection:
    """The proxy that serves the native (Swift) API."""

    host: str = _opt("127.0.0.1", "Address the proxy listens on.")
    port: int = _opt(8080, "Port of the native Swift API and of /auth/v1.0.")
    node_timeout: float = _opt(10.0, "Seconds to wait for a storage node before giving up.")
    conn_timeout: float = _opt(
        0.5,
        "Seconds to wait for a connection to a storage node (Swift's default): a host whose "
        "link is cut costs this much per request until the node is error-limited.",
    )
    error_limit: int = _opt(10, "Errors after which a storage node is skipped for a while.")
    error_suppression_interval: float = _opt(60.0, "Seconds an error-limited node is skipped.")
    cors_allow_origin: str = _opt(
        "",
        "Origins (comma-separated) allowed CORS access to every container, besides those a "
        "container's `X-Container-Meta-Access-Control-Allow-Origin` names (Swift's option).",
    )
    cors_expose_headers: str = _opt(
        "",
        "Headers (comma-separated) exposed to every CORS request besides Swift's defaults "
        "and the container's `X-Container-Meta-Access-Control-Expose-Headers`.",
    )
    strict_cors_mode: bool = _opt(
        True,
        "CORS headers on actual requests only for an allowed origin (Swift's option; off "
        "stamps them for any origin, only a preflight is then checked).",
    )
    test_clock_offset: float = _opt(
        0.0,
        "Tests only: seconds this proxy's clock runs ahead (negative: behind) for every "
        "timestamp it makes (X-Timestamp of writes and deletes, X-Delete-After, expiry of "
        "reads), as on a host with a skewed clock (docs/consistency.md, Clock skew). "
        f"Refused unless the environment sets {TEST_HOOKS_ENV}=1.",
    )

    def validate(self) -> None:
        _check_port("proxy.port", self.port)
        if self.node_timeout <= 0:
            raise ConfigError("proxy.node_timeout must be > 0")
        if not 0 < self.conn_timeout <= self.node_timeout:
            raise ConfigError("proxy.conn_timeout must be > 0 and at most proxy.node_timeout")
        if self.test_clock_offset and os.environ.get(TEST_HOOKS_ENV) != "1":
            raise ConfigError(f"proxy.test_clock_offset is for tests: set {TEST_HOOKS_ENV}=1")
        if abs(self.test_clock_offset) > 86400:
            raise ConfigError("proxy.test_clock_offset must be within a day")


@dataclass
class DurabilitySection:
    """The storage nodes' background work: replicators, auditor, expirer."""

    replicator_interval: float = _opt(
        30.0, "Seconds between replication passes (`stratus node replicate` runs one now)."
    )
    replicator_concurrency: int = _opt(4, "Partitions a node replicates at the same time.")
    replicator_bytes_per_second: float = _opt(
        50e6, "Object body bytes a node pushes to its peers per second at most (0: no limit)."
    )
    replicator_items_per_second: float = _opt(
        5000.0, "Entries (objects, tombstones, rows) a node pushes per second (0: no limit)."
    )
    reclaim_age: float = _opt(
        604800.0,
        "Seconds a tombstone (or a deleted container) is kept before it is removed; must be "
        "far longer than any replication pass, or a delete can come back.",
    )
    auditor_interval: float = _opt(300.0, "Seconds between auditor passes over every body.")
    auditor_bytes_per_second: float = _opt(
        10e6, "Body bytes the auditor reads and checks per second at most (0: no limit)."
    )
    auditor_files_per_second: float = _opt(
        200.0, "Objects the auditor checks per second at most (0: no limit)."
    )
    expirer_interval: float = _opt(10.0, "Seconds between expirer passes (X-Delete-At).")

    def validate(self) -> None:
        for name in ("replicator_interval", "auditor_interval", "expirer_interval"):
            if not 0.05 <= getattr(self, name) <= 86400:
                raise ConfigError(f"durability.{name} must be between 0.05 and 86400 seconds")
        if not 1 <= self.replicator_concurrency <= 256:
            raise ConfigError("durability.replicator_concurrency must be between 1 and 256")
        for name in (
            "replicator_bytes_per_second",
            "replicator_items_per_second",
            "auditor_bytes_per_second",
            "auditor_files_per_second",
        ):
            if getattr(self, name) < 0:
                raise ConfigError(f"durability.{name} must be >= 0 (0: no limit)")
        if self.reclaim_age < max(60.0, 10 * self.replicator_interval):
            raise ConfigError(
                "durability.reclaim_age must be at least 60 s and 10 replicator intervals"
            )


@dataclass
class IdentitySection:
    """Projects, users, tokens and S3 credentials."""

    token_lifetime: int = _opt(
        86400, "Seconds a token issued by /auth/v1.0 or the Keystone API stays valid."
    )
    host: str = _opt("127.0.0.1", "Address the identity (Keystone v3) API listens on.")
    port: int = _opt(5000, "Port of the identity (Keystone v3) API (`/v3/auth/tokens`).")
    public_url: str = _opt(
        "",
        "Base URL clients reach the identity API at, put in version documents, links and the "
        "catalog (e.g. `https://keystone.example.com`); empty: `http://host:port`.",
    )
    catalog_host: str = _opt(
        "",
        "Host name put in the service catalog's URLs of every service (object-store, volume, "
        "image, compute, network); empty: each service's listen address (a wildcard one: "
        "127.0.0.1).",
    )
    region: str = _opt("RegionOne", "Region of every endpoint in the service catalog.")
    network_url: str = _opt(
        "",
        "Base URL of the network (Neutron) endpoint in the catalog; empty: "
        "`network.host:network.port`.",
    )
    storage_url_base: str = _opt(
        "",
        "Scheme, host and optional path put before `/v1/AUTH_<project>` in the X-Storage-Url "
        "that /auth/v1.0 returns (e.g. `https://swift.example.com`); empty: the request's "
        "own scheme and Host header.",
    )
    failed_auth_burst: int = _opt(
        10,
        "Failed authentications (/auth/v1.0 keys, S3 signatures) one client address may make "
        "in a row before it is refused (Swift: 429, S3: 503 SlowDown) without a check; "
        "IPv6 addresses count per /64. 0: no limit.",
    )
    failed_auth_per_minute: float = _opt(
        6.0, "Failed authentications a client address earns back per minute, up to the burst."
    )
    failed_auth_max_clients: int = _opt(
        65536,
        "Client addresses whose failures are remembered at once (bounded memory); the least "
        "recently failing are forgotten first.",
    )

    def validate(self) -> None:
        if not 0 <= self.failed_auth_burst <= 100000:
            raise ConfigError("identity.failed_auth_burst must be between 0 and 100000")
        if not 0 < self.failed_auth_per_minute <= 1e6:
            raise ConfigError("identity.failed_auth_per_minute must be > 0")
        if not 1 <= self.failed_auth_max_clients <= 10_000_000:
            raise ConfigError("identity.failed_auth_max_clients must be between 1 and 10000000")
        if not 0 < self.token_lifetime <= 366 * 86400:
            raise ConfigError("identity.token_lifetime must be between 1 and 31622400 seconds")
        _check_port("identity.port", self.port)
        _check_url("identity.public_url", self.public_url)
        _check_url("identity.network_url", self.network_url)
        if not re.fullmatch(r"[A-Za-z0-9_.-]{1,64}", self.region):
            raise ConfigError("identity.region must be 1-64 characters of A-Z a-z 0-9 _ . -")
        if self.catalog_host and not re.fullmatch(r"[A-Za-z0-9.:\[\]-]{1,255}", self.catalog_host):
            raise ConfigError("identity.catalog_host must be a host name or address")
        base = self.storage_url_base
        if base:
            parts = urlsplit(base)
            if parts.scheme not in ("http", "https") or not parts.netloc or parts.query:
                raise ConfigError(
                    "identity.storage_url_base must be an http(s) URL without a query, "
                    f"not {base!r}"
                )


@dataclass
class HttpSection:
    """Limits every HTTP server (proxy, S3, nodes, volume, image, compute) puts on clients."""

    header_timeout: float = _opt(
        60.0,
        "Seconds a connection may take to send a request's headers (counted from the "
        "connection or the end of the previous response; also the idle keep-alive time).",
    )
    body_timeout: float = _opt(
        60.0,
        "Seconds a request body may go without a byte arriving while the server waits for it; "
        "the connection is then closed.",
    )
    max_connections: int = _opt(
        1024,
        "Open client connections per listening service; more are answered 503 and closed.",
    )

    def validate(self) -> None:
        for name in ("header_timeout", "body_timeout"):
            if not 0.05 <= getattr(self, name) <= 86400:
                raise ConfigError(f"http.{name} must be between 0.05 and 86400 seconds")
        if not 1 <= self.max_connections <= 1_000_000:
            raise ConfigError("http.max_connections must be between 1 and 1000000")


@dataclass
class S3Section:
    """The S3-compatible API."""

    host: str = _opt("127.0.0.1", "Address the S3 API listens on.")
    port: int = _opt(9000, "Port of the S3 API.")
    region: str = _opt("us-east-1", "Region name used in SigV4 scopes and bucket locations.")
    base_domain: str = _opt(
        "", "Domain for virtual-hosted-style buckets (`bucket.<base_domain>`); empty: path only."
    )
    tls_cert: str = _opt(
        "",
        "PEM certificate (chain) file; with `tls_key`, the S3 API serves HTTPS "
        "(clients such as boto3 send trailing checksums only over TLS). Empty: plain HTTP.",
    )
    tls_key: str = _opt("", "PEM private key file for `tls_cert`.")
    sse_key_file: str = _opt(
        "",
        "The cluster's SSE-S3 key file (made 0600 on first use; every proxy needs the same "
        "one). Empty: `<data.dir>/sse-keys.toml`. Rotation: `stratus sse-keys rotate`.",
    )
    sse_c_plain_http: bool = _opt(
        False,
        "Accept SSE-C (customer keys) over plain HTTP. AWS refuses them unless the request "
        "came over TLS; set this only behind a TLS-terminating proxy.",
    )
    default_checksum: bool = _opt(
        True,
        "Give an object uploaded without a checksum a full-object CRC64NVME one, as AWS "
        "does (returned with ChecksumMode=ENABLED and in listings). Off: such objects carry "
        "none.",
    )
    lifecycle_interval: float = _opt(
        3600.0,
        "Seconds between two lifecycle passes of the proxy (bucket lifecycle rules: "
        "expirations, noncurrent versions, incomplete uploads); 0: no background pass "
        "(`stratus s3 lifecycle run` still runs one).",
    )
    lifecycle_debug_day_seconds: int = _opt(
        0,
        'Debug only: a lifecycle rule\'s "day" lasts this many seconds, counted exactly '
        "(as Ceph's rgw_lc_debug_interval). 0: real days, rounded up to midnight UTC as AWS does.",
    )

    @property
    def scheme(self) -> str:
        return "https" if self.tls_cert else "http"

    def validate(self) -> None:
        _check_port("s3.port", self.port)
        if self.lifecycle_interval < 0 or self.lifecycle_debug_day_seconds < 0:
            raise ConfigError("s3.lifecycle_interval and s3.lifecycle_debug_day_seconds are >= 0")
        if bool(self.tls_cert) != bool(self.tls_key):
            raise ConfigError("s3.tls_cert and s3.tls_key are set together or not at all")
        for name in ("tls_cert", "tls_key"):
            path = getattr(self, name)
            if path and not Path(path).is_file():
                raise ConfigError(f"s3.{name}: no such file {path!r}")


@dataclass
class IscsiSection:
    """The built-in userspace iSCSI target."""

    host: str = _opt("127.0.0.1", "Address the iSCSI target listens on.")
    port: int = _opt(3260, "Port of the iSCSI target.")
    driver: str = _opt("userspace", "Target driver: `userspace` (built in) or `lio` (rtslib-fb).")
    iqn_prefix: str = _opt("iqn.2026-11.io.stratus", "Prefix of the IQNs given to volume targets.")
    extra_portals: list[str] = _opt(  # noqa: RUF009 - _opt gives a default_factory for lists
        [],
        "More `HOST:PORT` portals in the target's portal group (userspace driver). Attachments "
        "then name every portal (`target_portals`), so an initiator can use multipath.",
    )
    discovery_auth: str = _opt(
        "chap-if-protected",
        "SendTargets discovery (userspace driver): `chap-if-protected` lists a target that "
        "needs CHAP only to a discovery session that logged in with CHAP using that "
        "initiator's own credentials for it (the attachment's `auth_username` / "
        "`auth_password`); `chap` refuses discovery sessions without CHAP; `none` lists "
        "every target by the initiator name the client claims (not recommended).",
    )

    def validate(self) -> None:
        _check_port("iscsi.port", self.port)
        if self.discovery_auth not in ("chap-if-protected", "chap", "none"):
            raise ConfigError("iscsi.discovery_auth must be 'chap-if-protected', 'chap' or 'none'")
        for portal in self.extra_portals:
            try:
                parse_hostport(portal)
            except ConfigError as exc:
                raise ConfigError(f"iscsi.extra_portals: {exc}") from None
        if self.driver not in ("userspace", "lio"):
            raise ConfigError("iscsi.driver must be 'userspace' or 'lio'")


@dataclass
class VolumeSection:
    """The volume service (Cinder-style API, file backend, backups into the object store)."""

    host: str = _opt("127.0.0.1", "Address the volume API listens on.")
    port: int = _opt(8776, "Port of the volume API (`/v3/<project>/volumes`).")
    dir: str = _opt("", "Directory of volume records and files; empty: `<data.dir>/volumes`.")
    capacity_gb: int = _opt(
        0, "Backend capacity in GiB used for scheduling; 0: the size of the filesystem."
    )
    max_over_subscription_ratio: float = _opt(
        20.0, "Thin volumes may provision up to this many times the backend capacity."
    )
    reserved_percentage: int = _opt(
        0, "Percent of the backend capacity kept free (neither thin nor thick volumes use it)."
    )
    max_volume_gb: int = _opt(16384, "Largest volume size (GiB) a request may ask for.")
    quota_volumes: int = _opt(10, "Default volumes per project (-1: unlimited).")
    quota_gigabytes: int = _opt(
        1000, "Default GiB of volumes and snapshots per project (-1: unlimited)."
    )
    quota_snapshots: int = _opt(10, "Default snapshots per project (-1: unlimited).")
    quota_backups: int = _opt(10, "Default backups per project (-1: unlimited).")
    quota_backup_gigabytes: int = _opt(1000, "Default GiB of backups per project (-1: unlimited).")
    backup_url: str = _opt(
        "", "Base URL of the object store's native API for backups; empty: the proxy's address."
    )
    compute_url: str = _opt(
        "",
        "Base URL of the compute API, told when an admin force-detaches a server's volume; "
        "empty: `compute.host:compute.port`.",
    )
    image_url: str = _opt(
        "",
        "Base URL of the image API that volumes created from an image (`imageRef`) read it "
        "from, as the volume's owner; empty: `image.host:image.port`.",
    )
    backup_container: str = _opt("volume_backups", "Container that holds backup chunks.")
    backup_chunk_size: int = _opt(
        4 * 1024 * 1024, "Bytes per backup chunk (a power of two, 64 KiB to 64 MiB)."
    )
    backup_compression: str = _opt(
        "zstd", "Backup chunk compression: `zstd` (when installed), `zlib` or `none`."
    )
    backup_concurrency: int = _opt(8, "Chunks a backup or restore keeps in flight.")
    backend_name: str = _opt(
        "file",
        "Name of this process's volume backend (`volume_backend_name` in a volume type's extra "
        "specs selects it); `stratus volume backend --name` overrides it.",
    )
    backends: list[str] = _opt(  # noqa: RUF009 - _opt gives a default_factory for lists
        [],
        "Volume backend processes (`stratus volume backend`) behind this volume API, each "
        "`NAME=URL` of its internal API; empty: one backend in the API's own process. See "
        "volumes.md, Several backends.",
    )
    backend_port: int = _opt(
        8777,
        "Port of a backend process's internal API (`stratus volume backend`; address: "
        "`volume.host`).",
    )
    backend_secret: str = _opt(
        "",
        "Shared secret the volume API presents to its backend processes (at least 16 "
        "characters; required with `volume.backends` and by `stratus volume backend`).",
        secret=True,
    )
    backend_down_after: float = _opt(
        5.0, "Seconds without an answer from a backend process before its volumes are `error`."
    )

    def validate(self) -> None:
        _check_port("volume.port", self.port)
        _check_port("volume.backend_port", self.backend_port)
        if not re.fullmatch(r"[A-Za-z0-9_.-]{1,64}", self.backend_name):
            raise ConfigError("volume.backend_name must be 1-64 letters, digits, '_', '.', '-'")
        for entry in self.backends:
            name, _, url = entry.partition("=")
            if not re.fullmatch(r"[A-Za-z0-9_.-]{1,64}", name) or not url:
                raise ConfigError(f"volume.backends: expected NAME=URL, not {entry[:80]!r}")
            _check_url(f"volume.backends ({name})", url)
        if self.backends and len(self.backend_secret) < 16:
            raise ConfigError("volume.backends needs volume.backend_secret (16+ characters)")
        if not 0.5 <= self.backend_down_after <= 3600:
            raise ConfigError("volume.backend_down_after must be between 0.5 and 3600 seconds")
        if self.capacity_gb < 0:
            raise ConfigError("volume.capacity_gb must be >= 0")
        if not 1.0 <= self.max_over_subscription_ratio <= 1000.0:
            raise ConfigError("volume.max_over_subscription_ratio must be between 1 and 1000")
        if not 0 <= self.reserved_percentage < 100:
            raise ConfigError("volume.reserved_percentage must be between 0 and 99")
        if not 1 <= self.max_volume_gb <= 1 << 20:
            raise ConfigError("volume.max_volume_gb must be between 1 and 1048576")
        for name in ("volumes", "gigabytes", "snapshots", "backups", "backup_gigabytes"):
            if getattr(self, f"quota_{name}") < -1:
                raise ConfigError(f"volume.quota_{name} must be -1 (unlimited) or >= 0")
        size = self.backup_chunk_size
        if size & (size - 1) or not 65536 <= size <= 64 * 1024 * 1024:
            raise ConfigError("volume.backup_chunk_size must be a power of two, 64 KiB to 64 MiB")
        if self.backup_compression not in ("zstd", "zlib", "none"):
            raise ConfigError("volume.backup_compression must be 'zstd', 'zlib' or 'none'")
        if not 1 <= self.backup_concurrency <= 64:
            raise ConfigError("volume.backup_concurrency must be between 1 and 64")
        if self.backup_url:
            parts = urlsplit(self.backup_url)
            if parts.scheme not in ("http", "https") or not parts.netloc or parts.query:
                raise ConfigError(
                    f"volume.backup_url must be an http(s) URL, not {self.backup_url!r}"
                )
        _check_url("volume.compute_url", self.compute_url)
        _check_url("volume.image_url", self.image_url)
        if not self.backup_container or "/" in self.backup_container:
            raise ConfigError("volume.backup_container must be a container name without '/'")


@dataclass
class ImageSection:
    """The image service (Glance v2 shapes); image bytes live in the object store."""

    host: str = _opt("127.0.0.1", "Address the image API listens on.")
    port: int = _opt(9292, "Port of the image API (`/v2/images`).")
    dir: str = _opt("", "Directory of image records; empty: `<data.dir>/images`.")
    object_store_url: str = _opt(
        "", "Base URL of the object store's native API; empty: the proxy's address."
    )
    container: str = _opt(
        "stratus-images", "Container (in the owner project's account) that holds image bytes."
    )
    max_size_gb: int = _opt(64, "Largest image (GiB) an upload may store.")
    max_virtual_size_gb: int = _opt(
        1024,
        "Largest virtual (guest-visible) size (GiB) of a disk image: larger ones are refused "
        "at upload and by the compute service.",
    )

    def validate(self) -> None:
        _check_port("image.port", self.port)
        _check_url("image.object_store_url", self.object_store_url)
        if not self.container or "/" in self.container or len(self.container) > 256:
            raise ConfigError("image.container must be a container name without '/'")
        if not 1 <= self.max_size_gb <= 16384:
            raise ConfigError("image.max_size_gb must be between 1 and 16384")
        if not 1 <= self.max_virtual_size_gb <= 65536:
            raise ConfigError("image.max_virtual_size_gb must be between 1 and 65536")


@dataclass
class ComputeSection:
    """The compute service: servers as QEMU processes, and the network API."""

    host: str = _opt("127.0.0.1", "Address the compute (and network) API listens on.")
    port: int = _opt(8774, "Port of the compute API (`/v2.1/servers`, `/v2.0/networks`).")
    dir: str = _opt(
        "", "Directory of server records, consoles and image cache; empty: `<data.dir>/compute`."
    )
    image_url: str = _opt("", "Base URL of the image API; empty: `image.host:image.port`.")
    volume_url: str = _opt("", "Base URL of the volume API; empty: `volume.host:volume.port`.")
    qemu: str = _opt("qemu-system-x86_64", "The QEMU binary that runs servers.")
    accel: str = _opt(
        "tcg",
        "QEMU accelerator: `tcg`, `kvm`, or `auto` (KVM when /dev/kvm opens, else TCG). "
        "Nested KVM often hangs guests, so the default is TCG.",
    )
    machine: str = _opt("pc", "QEMU machine type (`pc` has ACPI PCI hot-plug on pci.0).")
    shutdown_timeout: float = _opt(
        10.0, "Seconds a stop waits for the guest to power off after ACPI before QEMU is ended."
    )
    detach_timeout: float = _opt(
        60.0, "Seconds a detach waits for the guest to release a hot-plugged disk."
    )
    qmp_timeout: float = _opt(30.0, "Seconds to wait for one QMP command.")
    initiator_prefix: str = _opt(
        "iqn.2026-11.io.stratus.compute",
        "Each server logs in to volumes as iSCSI initiator `<prefix>:<server id>`.",
    )

    def validate(self) -> None:
        _check_port("compute.port", self.port)
        _check_url("compute.image_url", self.image_url)
        _check_url("compute.volume_url", self.volume_url)
        if self.accel not in ("tcg", "kvm", "auto"):
            raise ConfigError("compute.accel must be 'tcg', 'kvm' or 'auto'")
        for name in ("shutdown_timeout", "detach_timeout", "qmp_timeout"):
            if not 0 < getattr(self, name) <= 3600:
                raise ConfigError(f"compute.{name} must be in (0, 3600] seconds")
        if not self.initiator_prefix.startswith("iqn.") or " " in self.initiator_prefix:
            raise ConfigError("compute.initiator_prefix must be an iSCSI name starting 'iqn.'")


@dataclass
class NetworkSection:
    """Private networks: a Linux bridge per network, a tap per server port."""

    ifname_prefix: str = _opt(
        "st",
        "Prefix (1-4 letters/digits) of the bridges and taps Stratus makes; interfaces with "
        "this prefix that no record explains are removed at start-up.",
    )
    nat: bool = _opt(
        False, "Masquerade traffic from the networks' subnets to the outside (needs `nft`)."
    )
    host: str = _opt("127.0.0.1", "Address the network (Neutron v2.0) API listens on.")
    port: int = _opt(
        9696, "Port of the network (Neutron v2.0) API (`/v2.0/networks`), served by compute."
    )
    metadata_port: int = _opt(
        0,
        "Host port of the metadata service guests reach at 169.254.169.254:80 (redirected to "
        "it on each subnet's gateway address); 0: any free port.",
    )
    dnsmasq: str = _opt(
        "dnsmasq", "The dnsmasq binary that serves DHCP on subnets with `enable_dhcp`."
    )

    def validate(self) -> None:
        p = self.ifname_prefix
        if not (1 <= len(p) <= 4 and p.isascii() and p.isalnum() and p[0].isalpha()):
            raise ConfigError("network.ifname_prefix must be 1-4 letters or digits, first a letter")


@dataclass
class ConsoleSection:
    """The web console that `stratus up` serves: the cloud seen and driven from a browser."""

    enabled: bool = _opt(True, "Start the web console with `stratus up`.")
    host: str = _opt("127.0.0.1", "Address the web console listens on.")
    port: int = _opt(8000, "Port of the web console.")
    session_lifetime: int = _opt(
        28800, "Seconds a console login lasts (it ends sooner if the user's key changes)."
    )
    tls_cert: str = _opt(
        "", "PEM certificate (chain) file; with `tls_key`, the console serves HTTPS only."
    )
    tls_key: str = _opt("", "PEM private key file for `tls_cert`.")

    @property
    def scheme(self) -> str:
        return "https" if self.tls_cert else "http"

    def validate(self) -> None:
        _check_port("console.port", self.port)
        if not 60 <= self.session_lifetime <= 7 * 86400:
            raise ConfigError("console.session_lifetime must be between 60 and 604800 seconds")
        if bool(self.tls_cert) != bool(self.tls_key):
            raise ConfigError("console.tls_cert and console.tls_key are set together or not at all")
        for name in ("tls_cert", "tls_key"):
            path = getattr(self, name)
            if path and not Path(path).is_file():
                raise ConfigError(f"console.{name}: no such file {path!r}")


@dataclass
class Config:
    """The whole configuration: one section per service."""

    data: DataSection = field(default_factory=DataSection)
    cluster: ClusterSection = field(default_factory=ClusterSection)
    storage: StorageSection = field(default_factory=StorageSection)
    proxy: ProxySection = field(default_factory=ProxySection)
    durability: DurabilitySection = field(default_factory=DurabilitySection)
    identity: IdentitySection = field(default_factory=IdentitySection)
    http: HttpSection = field(default_factory=HttpSection)
    s3: S3Section = field(default_factory=S3Section)
    iscsi: IscsiSection = field(default_factory=IscsiSection)
    volume: VolumeSection = field(default_factory=VolumeSection)
    image: ImageSection = field(default_factory=ImageSection)
    compute: ComputeSection = field(default_factory=ComputeSection)
    network: NetworkSection = field(default_factory=NetworkSection)
    console: ConsoleSection = field(default_factory=ConsoleSection)

    @property
    def data_dir(self) -> Path:
        return Path(self.data.dir)

    def validate(self) -> None:
        for f in dataclasses.fields(self):
            section = getattr(self, f.name)
            check = getattr(section, "validate", None)
            if check is not None:
                check()


def parse_hostport(text: str) -> tuple[str, int]:
    """``HOST:PORT`` or ``[V6]:PORT`` as (host, port); ConfigError when it is neither."""
    m = re.fullmatch(r"\[([0-9a-fA-F:.]+)\]:(\d{1,5})|([^:\[\]\s,]+):(\d{1,5})", text)
    if m is None:
        raise ConfigError(f"expected HOST:PORT, not {text[:80]!r}")
    host = m.group(1) or m.group(3)
    port = int(m.group(2) or m.group(4))
    _check_port(text, port)
    return host, port


def _check_port(name: str, port: int) -> None:
    if not 0 <= port <= 65535:
        raise ConfigError(f"{name} must be a TCP port (0-65535), not {port}")


def _check_url(name: str, url: str) -> None:
    if url:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.netloc or parts.query:
            raise ConfigError(f"{name} must be an http(s) URL without a query, not {url!r}")


def _field_type(cls: type, name: str) -> Any:
    return typing.get_type_hints(cls)[name]


def _coerce(where: str, typ: Any, value: Any, from_env: bool) -> Any:
    """Check (and, for environment strings, parse) one value against its type."""
    origin = typing.get_origin(typ)
    if origin is list:
        (item,) = typing.get_args(typ)
        if from_env:
            value = [v for v in value.split(",") if v]
        if not isinstance(value, list):
            raise ConfigError(f"{where}: expected a list")
        return [_coerce(where, item, v, from_env) for v in value]
    if isinstance(typ, types.UnionType):
        raise ConfigError(f"{where}: union types are not supported")
    if typ is bool:
        if from_env:
            low = value.strip().lower()
            if low in ("1", "true", "yes", "on"):
                return True
            if low in ("0", "false", "no", "off"):
                return False
            raise ConfigError(f"{where}: expected a boolean, got {value!r}")
        if not isinstance(value, bool):
            raise ConfigError(f"{where}: expected a boolean, got {value!r}")
        return value
    if typ is int:
        if from_env:
            try:
                return int(value, 0)
            except ValueError:
                raise ConfigError(f"{where}: expected an integer, got {value!r}") from None
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{where}: expected an integer, got {value!r}")
        return value
    if typ is float:
        if from_env:
            try:
                return float(value)
            except ValueError:
                raise ConfigError(f"{where}: expected a number, got {value!r}") from None
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ConfigError(f"{where}: expected a number, got {value!r}")
        return float(value)
    if typ is str:
        if not isinstance(value, str):
            raise ConfigError(f"{where}: expected a string, got {value!r}")
        return value
    raise ConfigError(f"{where}: unsupported option type {typ!r}")


def _apply_table(cfg: Config, table: Mapping[str, Any], source: str) -> None:
    sections = {f.name: f for f in dataclasses.fields(Config)}
    for sname, svalues in table.items():
        if sname not in sections:
            raise ConfigError(f"{source}: unknown section [{sname}]")
        if not isinstance(svalues, Mapping):
            raise ConfigError(f"{source}: [{sname}] must be a table")
        section = getattr(cfg, sname)
        known = {f.name for f in dataclasses.fields(section)}
        for key, value in svalues.items():
            if key not in known:
                raise ConfigError(f"{source}: unknown option {sname}.{key}")
            typ = _field_type(type(section), key)
            setattr(section, key, _coerce(f"{source}: {sname}.{key}", typ, value, False))


def _apply_env(cfg: Config, env: Mapping[str, str]) -> None:
    if "STRATUS_DATA" in env:
        cfg.data.dir = env["STRATUS_DATA"]
    for f in dataclasses.fields(Config):
        section = getattr(cfg, f.name)
        for opt in dataclasses.fields(section):
            var = env_var(f.name, opt.name)
            if var in env:
                typ = _field_type(type(section), opt.name)
                setattr(section, opt.name, _coerce(var, typ, env[var], True))


def env_var(section: str, option: str) -> str:
    """The environment variable that overrides ``section.option``."""
    return f"STRATUS_{section.upper()}_{option.upper()}"


def load(
    path: str | os.PathLike[str] | None = None, env: Mapping[str, str] | None = None
) -> Config:
    """Build, override and validate the configuration.

    ``path`` defaults to ``$STRATUS_CONFIG`` when set; no file at all means
    the embedded defaults.
    """
    env = os.environ if env is None else env
    cfg = Config()
    if path is None:
        path = env.get("STRATUS_CONFIG") or None
    if path is not None:
        p = Path(path)
        try:
            with p.open("rb") as fh:
                table = tomllib.load(fh)
        except FileNotFoundError:
            raise ConfigError(f"configuration file {p} does not exist") from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{p}: not valid TOML: {exc}") from None
        _apply_table(cfg, table, str(p))
    _apply_env(cfg, env)
    cfg.validate()
    return cfg


def is_secret(section: str, option: str) -> bool:
    """Whether ``section.option`` holds a secret (never printed)."""
    cls = typing.get_type_hints(Config)[section]
    return any(f.name == option and f.metadata.get("secret") for f in dataclasses.fields(cls))


def render_toml(cfg: Config) -> str:
    """``cfg`` as TOML that ``--config`` reads back to the same values, secrets left out.

    A secret option is written as a comment only (set or empty, never its
    value), so the output parses and can be kept in a file or shown to others.
    """
    import tomli_w

    out = [
        "# The effective configuration: defaults, the --config file, STRATUS_* variables.",
        "# Valid TOML for `stratus --config FILE`. Secrets are not shown: each is a comment.",
        "",
    ]
    for f in dataclasses.fields(cfg):
        section = getattr(cfg, f.name)
        out.append(f"[{f.name}]")
        for opt in dataclasses.fields(section):
            value = getattr(section, opt.name)
            if opt.metadata.get("secret"):
                out.append(_secret_comment(cfg, f.name, opt.name, value))
            else:
                out.append(tomli_w.dumps({opt.name: value}).rstrip("\n"))
        out.append("")
    return "\n".join(out)


def _secret_comment(cfg: Config, section: str, option: str, value: Any) -> str:
    if value:
        return f"# {option}: a secret, set and not shown"
    if section == "cluster":
        where = cfg.data_dir / "cluster.toml"
        return f"# {option}: a secret, empty: `stratus up` generates it once, into {where}"
    return f"# {option}: a secret, empty"


def _default_of(opt: dataclasses.Field[Any]) -> Any:
    """An option's default: every option has a value or a factory (lists)."""
    if opt.default is not dataclasses.MISSING:
        return opt.default
    assert opt.default_factory is not dataclasses.MISSING, f"{opt.name} has no default"
    return opt.default_factory()


def render_docs() -> str:
    """Markdown for docs/configuration.md, generated from the dataclasses."""
    out = [
        "# Configuration",
        "",
        "Stratus reads one TOML file (`--config FILE` or `$STRATUS_CONFIG`); every",
        "option can also be set by an environment variable, which wins over the",
        "file. Unknown sections and options are rejected at start-up. With no file,",
        "the defaults below run the whole cloud on this machine.",
        "",
        "This page is generated by `stratus config docs`; a test keeps it in step.",
        "",
    ]
    for f in dataclasses.fields(Config):
        cls = typing.get_type_hints(Config)[f.name]
        out += [f"## [{f.name}]", "", (cls.__doc__ or "").strip(), ""]
        out += ["| option | type | default | environment | meaning |", "|---|---|---|---|---|"]
        hints = typing.get_type_hints(cls)
        for opt in dataclasses.fields(cls):
            default = _default_of(opt)
            typ = getattr(hints[opt.name], "__name__", str(hints[opt.name]))
            shown = "true" if default is True else "false" if default is False else repr(default)
            out.append(
                f"| `{opt.name}` | {typ} | `{shown}` | `{env_var(f.name, opt.name)}` "
                f"| {opt.metadata['doc']} |"
            )
        out.append("")
    return "\n".join(out)
