"""The all-in-one cluster behind `stratus up`: prepare the data dir, start the children, report.

Start-up is one pass that overlaps everything slow: the storage node
processes and the proxy are spawned first, the admin user is prepared while
they import, and only then does the launcher wait for every child's
readiness probe at once. The proxy runs as its own process so
it gets the second core; the launcher itself only supervises.
"""

from __future__ import annotations

import asyncio
import fcntl
import json
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from stratus import config, private
from stratus.cli import cluster, hints
from stratus.cli.supervisor import ChildSpec, Probe, Supervisor, http_probe, tcp_probe
from stratus.http import server as httpserver


class AlreadyRunning(config.ConfigError):
    """Another `stratus up` holds this data directory."""


@dataclass
class Banner:
    """What `stratus up` prints once everything answers."""

    data_dir: Path
    auth_url: str
    storage_url: str
    user: str
    key: str | None
    nodes: list[str]
    seconds: float
    volume_url: str = ""
    iscsi_portal: str = ""
    image_url: str = ""
    compute_url: str = ""
    network_url: str = ""
    console_url: str = ""
    s3_url: str = ""
    s3_access: str = ""
    s3_secret: str = ""
    s3_region: str = "us-east-1"
    identity_url: str = ""
    clouds_yaml: str = ""
    # The --config `stratus up` was given, repeated in the `stratus` commands it suggests.
    config_file: str | None = None

    def metrics_urls(self) -> list[tuple[str, str]]:
        """Every service's Prometheus endpoint, with what it counts (see docs/metrics.md)."""
        services = [
            (self.auth_url.removesuffix("/auth/v1.0"), "proxy: Swift and S3"),
            (self.volume_url, "volume service, iSCSI target"),
            (self.image_url, "image service"),
            (self.compute_url, "compute service"),
            (self.network_url, "network service"),
            (self.identity_url, "identity service"),
            (self.console_url, "web console"),
            *((f"http://{node}", f"storage node {i}") for i, node in enumerate(self.nodes)),
        ]
        return [(f"{url}/metrics", what) for url, what in services if url]

    def lines(self) -> list[str]:
        """The banner; each ``try:`` line runs as printed from this directory (see hints)."""
        key = self.key or "(fixed by STRATUS_ADMIN_KEY earlier and not stored; set it again)"
        swift = hints.swift(self.auth_url, self.user, self.key)
        s3 = self.s3_url and hints.s3(self.s3_url, self.s3_access, self.s3_secret, self.s3_region)
        stratus = hints.stratus(self.config_file)
        return [
            f"data directory {self.data_dir}",
            f"storage nodes  {', '.join(self.nodes)}",
            f"Swift API      {self.storage_url}",
            f"auth           {self.auth_url}",
            f"user           {self.user}",
            f"key            {key}",
            *([f"try: {swift}"] if swift else []),
            *([f"identity API   {self.identity_url}/v3/ (Keystone)"] if self.identity_url else []),
            *(
                [
                    f"OpenStack CLI  export {hints.os_cloud(self.clouds_yaml)}",
                    *([f"try: {os_try}"] if (os_try := hints.openstack(self.clouds_yaml)) else []),
                ]
                if self.clouds_yaml
                else []
            ),
            *(
                [
                    f"S3 API         {self.s3_url} (region {self.s3_region})",
                    f"S3 access key  {self.s3_access}",
                    f"S3 secret key  {self.s3_secret}",
                    *([f"try: {s3}"] if s3 else []),
                ]
                if self.s3_url
                else []
            ),
            *([f"volume API     {self.volume_url}/v3/"] if self.volume_url else []),
            *([f"iSCSI target   {self.iscsi_portal}"] if self.iscsi_portal else []),
            *([f"try: {stratus} volume create 1 --name first"] if self.volume_url else []),
            *([f"image API      {self.image_url}/v2/"] if self.image_url else []),
            *([f"compute API    {self.compute_url}/v2.1/"] if self.compute_url else []),
            *([f"network API    {self.network_url}/v2.0/"] if self.network_url else []),
            *([f"web console    {self.console_url}/"] if self.console_url else []),
            *(
                f"{'' if i else 'metrics':<15}{url}  ({what})"
                for i, (url, what) in enumerate(self.metrics_urls())
            ),
            f"try: {stratus} status",
            f"up in {self.seconds:.2f}s (Ctrl-C stops)",
        ]


def child_env() -> dict[str, str]:
    """The children's environment: everything they need is in the run config file."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("STRATUS_")}
    env["PYTHONUNBUFFERED"] = "1"
    return env


def _child(cfg: config.Config, name: str, argv: list[str], ready: Probe) -> ChildSpec:
    """A child of `stratus up`: its command, readiness probe, environment and log file."""
    return ChildSpec(
        name=name,
        argv=[sys.executable, *argv],
        ready=ready,
        env=child_env(),
        log_path=cluster.logs_dir(cfg) / f"{name}.log",
    )


def _cli(run_config: Path, *command: str) -> list[str]:
    """``-m stratus.cli.main --config RUN COMMAND...``: a service run by its CLI command."""
    return ["-m", "stratus.cli.main", "--config", str(run_config), *command]


def _http_ready(host: str, port: int, path: str = "/healthcheck") -> Probe:
    return lambda: http_probe(httpserver.loopback(host), port, path)


def node_spec(cfg: config.Config, run_config: Path, index: int) -> ChildSpec:
    host, port = cluster.node_address(cfg, index)
    argv = ["-m", "objectstore.node", "--config", str(run_config), "--node", str(index)]
    return _child(cfg, f"node{index}", argv, _http_ready(host, port))


def proxy_spec(cfg: config.Config, run_config: Path) -> ChildSpec:
    ready = _http_ready(cfg.proxy.host, cfg.proxy.port, "/info")
    return _child(cfg, "proxy", _cli(run_config, "proxy"), ready)


def volume_spec(cfg: config.Config, run_config: Path) -> ChildSpec:
    """The volume service: Cinder-style API, and the built-in iSCSI target in-process."""
    ready = _http_ready(cfg.volume.host, cfg.volume.port)
    return _child(cfg, "volume", _cli(run_config, "volume", "serve"), ready)


def image_spec(cfg: config.Config, run_config: Path) -> ChildSpec:
    """The image service (Glance v2 shapes); its bytes go to the proxy."""
    ready = _http_ready(cfg.image.host, cfg.image.port)
    return _child(cfg, "image", _cli(run_config, "image", "serve"), ready)


def compute_spec(cfg: config.Config, run_config: Path) -> ChildSpec:
    """The compute service: servers (QEMU) and the network API; VMs outlive a restart of it."""
    compute = _http_ready(cfg.compute.host, cfg.compute.port)
    network = _http_ready(cfg.network.host, cfg.network.port)

    async def both_ready() -> bool:  # the compute API and the network endpoint it also serves
        return await compute() and await network()

    return _child(cfg, "compute", _cli(run_config, "server", "serve"), both_ready)


def identity_spec(cfg: config.Config, run_config: Path) -> ChildSpec:
    """The identity service: the Keystone v3 API over the shared identity store."""
    ready = _http_ready(cfg.identity.host, cfg.identity.port)
    return _child(cfg, "identity", _cli(run_config, "identity", "serve"), ready)


def write_clouds_yaml(cfg: config.Config, key: str | None) -> Path:
    """``<data>/clouds.yaml`` (0600) with a ``stratus`` cloud: the admin on the identity API.

    Without a known key (fixed by the environment earlier) the password is
    left out: the clients then take it from ``OS_PASSWORD``.
    """
    from stratus.identity.keystone.catalog import identity_base

    q = json.dumps  # a JSON string is a valid YAML scalar, whatever it holds
    lines = [
        "# Written by `stratus up`: the admin of this cloud, for openstack / openstacksdk.",
        "clouds:",
        "  stratus:",
        "    auth:",
        f"      auth_url: {q(identity_base(cfg) + '/v3')}",
        f"      username: {q('admin')}",
        *([f"      password: {q(key)}"] if key else []),
        f"      project_name: {q('admin')}",
        f"      user_domain_name: {q('Default')}",
        f"      project_domain_name: {q('Default')}",
        f"    region_name: {q(cfg.identity.region)}",
        "    identity_api_version: 3",
        "    interface: public",
    ]
    path = cfg.data_dir / "clouds.yaml"
    cluster.write_private(path, "\n".join(lines) + "\n")
    return path


def console_spec(cfg: config.Config, run_config: Path) -> ChildSpec:
    """The web console (`python -m stratus.console`): pages over the public APIs."""
    host, port = httpserver.loopback(cfg.console.host), cfg.console.port
    tls = cfg.console.scheme == "https"
    ready = (lambda: tcp_probe(host, port)) if tls else _http_ready(host, port)
    return _child(cfg, "console", ["-m", "stratus.console", "--config", str(run_config)], ready)


def lock_path(cfg: config.Config) -> Path:
    return cfg.data_dir / "run" / "up.lock"


def lock_data_dir(cfg: config.Config, log: Callable[[str], None] | None = None) -> int:
    """Hold an exclusive lock on the data dir for the launcher's lifetime.

    The file holds the holder's PID while it runs and is emptied by a clean
    stop (:func:`unlock_data_dir`), so a PID found in it with the lock free
    is a launcher that crashed: its directory is taken over, and ``log`` says so.
    """
    path = lock_path(cfg)
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        other = os.read(fd, 32).decode(errors="replace").strip() or "?"
        os.close(fd)
        raise AlreadyRunning(
            f"another `stratus up` (pid {other}) is running on {cfg.data_dir}"
        ) from None
    stale = os.read(fd, 32).decode(errors="replace").strip()
    if stale and log is not None:
        log(
            f"a previous `stratus up` (pid {stale}) did not stop cleanly; "
            f"taking over {cfg.data_dir}"
        )
    os.ftruncate(fd, 0)
    os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
    return fd


def unlock_data_dir(fd: int) -> None:
    """A clean stop: empty the lock file (no PID left behind), then release the lock.

    The file stays: removing it could let two launchers lock two different
    files of the same name.
    """
    os.ftruncate(fd, 0)
    os.close(fd)


def ensure_admin(cfg: config.Config) -> str | None:
    """Create (or find) the admin user; its key, when it can be told."""
    from stratus.identity import IdentityStore

    path = cluster.identity_dir(cfg)
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    with IdentityStore(path) as store:
        return store.ensure_admin()


def ensure_admin_s3(cfg: config.Config) -> tuple[str, str]:
    """The admin's S3 (access key, secret); run after :func:`ensure_admin`."""
    from stratus.identity import IdentityStore

    with IdentityStore(cluster.identity_dir(cfg)) as store:
        return store.ensure_admin_credential()


class Launcher:
    """One machine's whole object cluster: storage nodes plus a proxy, supervised."""

    def __init__(self, cfg: config.Config, *, log: Callable[[str], None] | None = None) -> None:
        cfg.data.dir = str(cfg.data_dir.resolve())
        self.cfg = cfg
        self.log = log or (lambda msg: print(f"stratus: {msg}", flush=True))
        self.supervisor = Supervisor(log=self.log)
        self._lock_fd: int | None = None

    def prepare(self) -> Path:
        """Everything on disk the children need; returns the run config path."""
        cfg = self.cfg
        private.service_start(cfg.data_dir)  # umask 077, refuse a data dir others can read
        self._lock_fd = lock_data_dir(cfg, self.log)
        cluster.ensure_cluster_secrets(cfg, create=True)
        cluster.ensure_rings(cfg)
        for i in range(cfg.storage.nodes):
            cluster.ensure_node_dirs(cfg, i)
        return cluster.write_run_config(cfg)

    async def start(self) -> Banner:
        t0 = time.monotonic()
        cfg = self.cfg
        run_config = self.prepare()
        nodes = [node_spec(cfg, run_config, i) for i in range(cfg.storage.nodes)]
        await self.supervisor.start(nodes, wait=False)
        try:
            await self.supervisor.start([proxy_spec(cfg, run_config)], wait=False)
            others = [volume_spec(cfg, run_config), image_spec(cfg, run_config)]
            others.append(identity_spec(cfg, run_config))
            await self.supervisor.start([*others, compute_spec(cfg, run_config)], wait=False)
            if cfg.console.enabled:
                await self.supervisor.start([console_spec(cfg, run_config)], wait=False)
            # The key hash (scrypt) runs while the children import; the proxy reads
            # the admin user from the shared store only when a client logs in.
            key = await asyncio.to_thread(ensure_admin, cfg)
            s3_access, s3_secret = await asyncio.to_thread(ensure_admin_s3, cfg)
            clouds = await asyncio.to_thread(write_clouds_yaml, cfg, key)
            await self.supervisor.wait_ready()
        except BaseException:
            await self.supervisor.stop()
            raise
        url = httpserver.base_url
        base = url(cfg.proxy.host, cfg.proxy.port)
        return Banner(
            data_dir=cfg.data_dir,
            auth_url=f"{base}/auth/v1.0",
            storage_url=f"{base}/v1/AUTH_admin",
            user="admin:admin",
            key=key,
            nodes=["{}:{}".format(*cluster.node_address(cfg, i)) for i in range(cfg.storage.nodes)],
            seconds=time.monotonic() - t0,
            volume_url=url(cfg.volume.host, cfg.volume.port),
            iscsi_portal=f"{httpserver.loopback(cfg.iscsi.host)}:{cfg.iscsi.port}",
            s3_url=url(cfg.s3.host, cfg.s3.port, cfg.s3.scheme),
            s3_access=s3_access,
            s3_secret=s3_secret,
            s3_region=cfg.s3.region,
            image_url=url(cfg.image.host, cfg.image.port),
            compute_url=url(cfg.compute.host, cfg.compute.port),
            network_url=url(cfg.network.host, cfg.network.port),
            identity_url=url(cfg.identity.host, cfg.identity.port),
            clouds_yaml=str(clouds),
            console_url=(
                url(cfg.console.host, cfg.console.port, cfg.console.scheme)
                if cfg.console.enabled
                else ""
            ),
        )

    async def run(self, stop: asyncio.Event) -> None:
        """Supervise until ``stop`` is set (or a child crash-loops), then stop everything."""
        try:
            await self.supervisor.run(stop)
        finally:
            await self.stop()

    async def stop(self) -> None:
        await self.supervisor.stop()
        if self._lock_fd is not None:
            unlock_data_dir(self._lock_fd)
            self._lock_fd = None
