"""A cluster of hosts, each a network namespace with its own address, set up as README says.

``host_cluster(root, hosts=3)`` builds, for one test:

- a *switch* namespace holding a bridge, and per host a namespace ``<tag>h<i>``
  whose ``eth0`` (a veth into the bridge) has the address ``10.<a>.<b>.<i>``;
  a client namespace ``<tag>c`` (address ``.100``) runs the workloads;
- the rings, ``stratus.toml`` files, processes and the first user exactly as
  README's "A cluster of several machines" section writes them: its shell and
  TOML blocks are read from README.md and run with this cluster's addresses and
  directories put in (a test fails when the README's commands stop working);
- faults: a host's link cut (both ways or one) and partitions with nftables rules
  inside the host namespaces, ``kill -9`` and restarts of any process.

No address exists outside the namespaces made here; everything (processes,
namespaces, and with them veths and rules) is removed on exit, also on failure.
Code that must talk to the cluster runs in the client namespace:
``run_in_client(argv)`` (a bounded subprocess).
"""

from __future__ import annotations

import contextlib
import ipaddress
import json
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import time
import tomllib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
WAIT = 60.0  # no single wait here may exceed this
FAULT_TABLE = "stratus_fault"
README_IPS = ("10.0.0.1", "10.0.0.2")
README_DIR = "/srv/stratus"
README_CONFIG = "/etc/stratus.toml"
RELAY_PORT = 16200  # a slowed host's relay, inside its namespace


def _run(argv: Sequence[str], *, check: bool = True, timeout: float = WAIT) -> str:
    done = subprocess.run(list(argv), capture_output=True, text=True, timeout=timeout)
    if check and done.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} failed ({done.returncode}): {done.stderr.strip()}")
    return done.stdout


def netns_available() -> str | None:
    """Why namespaces cannot be made here (None: they can)."""
    if os.geteuid() != 0:
        return "network namespaces need root"
    for tool in ("ip", "nft"):
        if shutil.which(tool) is None:
            return f"{tool} is not installed"
    return None


# -- README ------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReadmeCluster:
    """The multi-machine section of README.md: its ring script, TOML and commands."""

    ring_script: str
    config: str
    commands: list[str]

    @classmethod
    def load(cls, readme: Path = REPO / "README.md") -> ReadmeCluster:
        text = readme.read_text()
        start = text.index("## A cluster of several machines")
        end = text.index("\n## ", start + 1)
        blocks = re.findall(r"```(\w+)\n(.*?)```", text[start:end], flags=re.S)
        shells = [body for lang, body in blocks if lang == "sh"]
        tomls = [body for lang, body in blocks if lang == "toml"]
        if len(shells) < 2 or not tomls:
            raise AssertionError("README's multi-machine section lost its sh or toml blocks")
        commands = [
            line.split("#", 1)[0].strip()
            for line in shells[1].splitlines()
            if line.strip() and not line.lstrip().startswith("#")
        ]
        return cls(shells[0], tomls[0], commands)


def _emit_toml(doc: Mapping[str, Mapping[str, Any]]) -> str:
    """Flat tables of strings, numbers and booleans (all a stratus.toml holds)."""
    out: list[str] = []
    for table, values in doc.items():
        out.append(f"[{table}]")
        for key, value in values.items():
            if isinstance(value, bool):
                out.append(f"{key} = {'true' if value else 'false'}")
            elif isinstance(value, int | float):
                out.append(f"{key} = {value!r}")
            else:
                out.append(f'{key} = "{value}"')
    return "\n".join(out) + "\n"


# -- processes ---------------------------------------------------------------------------


@dataclass
class NsProc:
    """One long-running process inside a namespace, with its log."""

    name: str
    netns: str
    argv: list[str]
    log: Path
    proc: subprocess.Popen[bytes] | None = None
    env: dict[str, str] = field(default_factory=lambda: dict[str, str]())  # set on top

    def start(self) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("STRATUS_")}
        env.update(self.env)
        env["PYTHONUNBUFFERED"] = "1"
        env["PATH"] = f"{BIN}:{env.get('PATH', '/usr/bin:/bin')}"
        with open(self.log, "ab") as out:
            self.proc = subprocess.Popen(
                ["ip", "netns", "exec", self.netns, *self.argv],
                stdout=out,
                stderr=subprocess.STDOUT,
                env=env,
                cwd=REPO,
                start_new_session=True,
            )

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def kill9(self) -> None:
        if self.alive:
            assert self.proc is not None
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=WAIT)

    def stop(self) -> None:
        if not self.alive:
            return
        assert self.proc is not None
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.kill9()

    def tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except FileNotFoundError:
            return ""


# -- the cluster -------------------------------------------------------------------------


@dataclass
class Host:
    index: int  # 1-based, as README's machines
    netns: str
    address: str
    root: Path  # what README calls /srv/stratus
    config: Path  # what README calls /etc/stratus.toml
    node: NsProc
    proxy: NsProc | None = None


@dataclass
class HostCluster:
    tag: str
    root: Path
    network: ipaddress.IPv4Network
    switch: str
    client_ns: str
    client_address: str
    hosts: list[Host] = field(default_factory=lambda: list[Host]())
    admin_key: str = ""
    replicas: int = 2
    namespaces: list[str] = field(default_factory=lambda: list[str]())  # removed on exit
    relays: dict[int, NsProc] = field(default_factory=lambda: dict[int, NsProc]())

    # -- addresses --
    @property
    def proxy_url(self) -> str:
        return f"http://{self.hosts[0].address}:8080"

    @property
    def auth_url(self) -> str:
        return f"{self.proxy_url}/auth/v1.0"

    def exec_in(self, netns: str, argv: Sequence[str], *, timeout: float = WAIT) -> str:
        """A command inside a namespace, with the venv's tools on PATH; its stdout."""
        return self.run_ns(netns, argv, timeout=timeout).stdout

    def run_ns(
        self, netns: str, argv: Sequence[str], *, check: bool = True, timeout: float = WAIT
    ) -> subprocess.CompletedProcess[str]:
        """``exec_in``, also for commands expected to fail (``check=False``): the whole result."""
        env = {"PATH": f"{BIN}:/usr/sbin:/usr/bin:/sbin:/bin", "HOME": str(self.root)}
        done = subprocess.run(
            ["ip", "netns", "exec", netns, *argv],
            capture_output=True,
            text=True,
            timeout=timeout,
            env=env,
            cwd=REPO,
        )
        if check and done.returncode != 0:
            raise RuntimeError(
                f"[{netns}] {' '.join(argv)} failed ({done.returncode}):\n"
                f"{done.stdout[-2000:]}\n{done.stderr[-2000:]}"
            )
        return done

    def stratus(
        self, host: Host, *args: str, check: bool = True, timeout: float = WAIT
    ) -> subprocess.CompletedProcess[str]:
        """``stratus --config <host's config> args`` on ``host``, as its operator runs it."""
        argv = [str(BIN / "stratus"), "--config", str(host.config), *args]
        return self.run_ns(host.netns, argv, check=check, timeout=timeout)

    def node_stats(self, host: Host) -> dict[str, Any]:
        """``GET /stats`` of ``host``'s node, asked from the client namespace."""
        script = (
            "import sys,urllib.request;"
            "sys.stdout.write(urllib.request.urlopen(sys.argv[1],timeout=5).read().decode())"
        )
        out = self.run_in_client(
            [sys.executable, "-c", script, f"http://{host.address}:6200/stats"], timeout=15
        )
        return json.loads(out)

    def run_in_client(self, argv: Sequence[str], *, timeout: float = WAIT) -> str:
        return self.exec_in(self.client_ns, argv, timeout=timeout)

    def python_in_client(self, module: str, *args: str, timeout: float = WAIT) -> str:
        return self.run_in_client([sys.executable, "-m", module, *args], timeout=timeout)

    def spawn_python_in_client(self, module: str, *args: str, log: Path) -> NsProc:
        """``python -m module args`` in the client namespace, in the background."""
        proc = NsProc(module, self.client_ns, [sys.executable, "-m", module, *args], log)
        proc.start()
        return proc

    def replicate(self) -> None:
        """One replication pass on every host now, as an operator runs it there."""
        for host in self.hosts:
            if host.node.alive:
                self.exec_in(
                    host.netns,
                    [
                        str(BIN / "stratus"),
                        "--config",
                        str(host.config),
                        "node",
                        "replicate",
                        "--once",
                    ],
                    timeout=300,
                )

    # -- processes --
    def wait_ready(self, host: Host, port: int, path: str) -> None:
        """Poll ``path`` on ``host`` from the client namespace until it answers 200."""
        deadline = time.monotonic() + WAIT
        url = f"http://{host.address}:{port}{path}"
        probe = [
            sys.executable,
            "-c",
            "import sys,urllib.request;urllib.request.urlopen(sys.argv[1],timeout=2)",
            url,
        ]
        while time.monotonic() < deadline:
            try:
                self.run_in_client(probe, timeout=10)
                return
            except (RuntimeError, subprocess.TimeoutExpired):
                procs = [host.node, *([host.proxy] if host.proxy else [])]
                for p in procs:
                    if p.proc is not None and not p.alive:
                        raise AssertionError(f"{p.name} exited:\n{p.tail()}") from None
                time.sleep(0.3)
        raise AssertionError(f"{url} not ready within {WAIT} s")

    def start_node(self, host: Host) -> None:
        host.node.start()
        self.wait_ready(host, 6200, "/healthcheck")

    def restart(self, proc: NsProc, host: Host, port: int, path: str) -> None:
        proc.stop()
        proc.start()
        self.wait_ready(host, port, path)

    def start_proxy(self, host: Host, env: Mapping[str, str] | None = None) -> NsProc:
        """A second proxy, on ``host``, from host 1's own configuration file: it shares
        host 1's identity store (the LMDB under host 1's data directory, which both
        namespaces see) and rings, so one token works at both proxies. ``env``: extra
        variables, e.g. a test-only option. Stop it with ``stop_proxy``."""
        assert host.proxy is None and host is not self.hosts[0], "one proxy per host"
        first = self.hosts[0]
        assert first.proxy is not None
        argv = list(first.proxy.argv)
        log = self.root / f"host{host.index}" / "proxy.log"
        host.proxy = NsProc(f"h{host.index}-proxy", host.netns, argv, log, env=dict(env or {}))
        host.proxy.start()
        self.wait_ready(host, 8080, "/info")
        return host.proxy

    def stop_proxy(self, host: Host) -> None:
        if host.proxy is not None:
            host.proxy.stop()
            host.proxy = None

    def add_host(self) -> Host:
        """One more machine on the switch, configured as host 1 is (the same salts and
        tuning; its own address and directory), its node started with no rings yet: the
        operator's `stratus ring add` and `rebalance` on host 1, then `ring push`, give it some."""
        i = len(self.hosts) + 1
        ns = f"{self.tag}h{i}"
        _add_ns(ns)
        self.namespaces.append(ns)
        address = str(self.network.network_address + i)
        _plug(self, ns, address, i)
        host_root = self.root / f"host{i}" / "srv"
        host_root.parent.mkdir(parents=True, exist_ok=True)
        doc = tomllib.loads(self.hosts[0].config.read_text())
        doc["data"]["dir"] = str(host_root)
        doc["storage"]["host"] = address
        cfg = self.root / f"host{i}" / "stratus.toml"
        cfg.write_text(_emit_toml(doc))
        template = self.hosts[0].node.argv
        argv = [str(cfg) if a == str(self.hosts[0].config) else a for a in template]
        node = NsProc(f"h{i}-node", ns, argv, self.root / f"host{i}" / "node.log")
        host = Host(i, ns, address, host_root, cfg, node)
        self.hosts.append(host)
        self.start_node(host)
        return host

    # -- faults --
    def cut(self, host: Host, *, inbound: bool = True, outbound: bool = True) -> None:
        """Drop ``host``'s traffic on its link (both ways, or one), as a cable pulled."""
        self.heal(host)
        self.exec_in(host.netns, ["nft", f"add table inet {FAULT_TABLE}"])
        for hook, flag, dev in (("input", inbound, "iifname"), ("output", outbound, "oifname")):
            if flag:
                self.exec_in(
                    host.netns,
                    [
                        "nft",
                        f"add chain inet {FAULT_TABLE} {hook} "
                        f"{{ type filter hook {hook} priority 0 ; policy accept ; }}",
                    ],
                )
                self.exec_in(
                    host.netns, ["nft", f'add rule inet {FAULT_TABLE} {hook} {dev} "eth0" drop']
                )

    def partition(self, side_a: Sequence[Host], side_b: Sequence[Host]) -> None:
        """Hosts of one side cannot reach the other's (the client reaches both)."""
        for mine, theirs in ((side_a, side_b), (side_b, side_a)):
            addresses = ", ".join(h.address for h in theirs)
            for host in mine:
                self.heal(host)
                self.exec_in(host.netns, ["nft", f"add table inet {FAULT_TABLE}"])
                for hook, direction in (("input", "saddr"), ("output", "daddr")):
                    self.exec_in(
                        host.netns,
                        [
                            "nft",
                            f"add chain inet {FAULT_TABLE} {hook} "
                            f"{{ type filter hook {hook} priority 0 ; policy accept ; }}",
                        ],
                    )
                    self.exec_in(
                        host.netns,
                        [
                            "nft",
                            f"add rule inet {FAULT_TABLE} {hook} ip {direction} "
                            f"{{ {addresses} }} drop",
                        ],
                    )

    def slow(self, host: Host, delay: float) -> None:
        """Put ``host`` ``delay`` seconds away, each way, from everyone who connects to its node:
        a relay in its namespace (tests/helpers/relay.py; this kernel has no netem) takes every
        inbound connection (an nftables redirect), and the node's open connections are cut
        (``ss -K``) so clients reconnect through it. ``heal`` ends it."""
        self.heal(host)
        relay = NsProc(
            f"h{host.index}-relay",
            host.netns,
            [sys.executable, "-m", "tests.helpers.relay", "--listen", f"0.0.0.0:{RELAY_PORT}",
             "--to", f"{host.address}:6200", "--delay", str(delay)],
            self.root / f"host{host.index}" / "relay.log",
        )  # fmt: skip
        relay.start()
        self.relays[host.index] = relay
        deadline = time.monotonic() + WAIT
        while '"listening"' not in relay.tail(5):
            if not relay.alive or time.monotonic() > deadline:
                raise AssertionError(f"relay did not start:\n{relay.tail()}")
            time.sleep(0.05)
        self.exec_in(host.netns, ["nft", f"add table inet {FAULT_TABLE}"])
        self.exec_in(
            host.netns,
            ["nft", f"add chain inet {FAULT_TABLE} pre "
             "{ type nat hook prerouting priority -100 ; policy accept ; }"],
        )  # fmt: skip
        self.exec_in(
            host.netns,
            ["nft", f'add rule inet {FAULT_TABLE} pre iifname "eth0" tcp dport 6200 '
             f"redirect to :{RELAY_PORT}"],
        )  # fmt: skip
        self.exec_in(host.netns, ["ss", "-K", "state", "established", "sport", "= :6200"])

    def heal(self, host: Host | None = None) -> None:
        """Remove fault rules and relays (of one host, or of all)."""
        for h in [host] if host is not None else self.hosts:
            relay = self.relays.pop(h.index, None)
            if relay is not None:
                relay.stop()
            out = self.exec_in(h.netns, ["nft", "list tables"])
            if FAULT_TABLE in out:
                self.exec_in(h.netns, ["nft", f"delete table inet {FAULT_TABLE}"])

    def stop_all(self) -> None:
        for relay in self.relays.values():
            relay.stop()
        for host in self.hosts:
            for p in (host.proxy, host.node):
                if p is not None:
                    p.stop()


def _free_network() -> ipaddress.IPv4Network:
    """A /24 of 10.0.0.0/8 no interface of this machine uses."""
    used = [
        ipaddress.IPv4Interface(found).network
        for found in re.findall(r"inet (\S+)", _run(["ip", "-o", "-4", "addr", "show"]))
    ]
    for _ in range(50):
        a, b = secrets.randbelow(200) + 50, secrets.randbelow(250)
        net = ipaddress.IPv4Network(f"10.{a}.{b}.0/24")
        if not any(net.overlaps(u) for u in used):
            return net
    raise RuntimeError("no free 10.x.y.0/24")


def _add_ns(name: str) -> None:
    _run(["ip", "netns", "add", name])
    _run(["ip", "-n", name, "link", "set", "lo", "up"])


def _plug(cluster: HostCluster, netns: str, address: str, index: int) -> None:
    """A veth from ``netns`` (its eth0, with ``address``) into the switch's bridge."""
    outer = f"{cluster.tag}v{index}"
    _run(
        [
            "ip",
            "-n",
            cluster.switch,
            "link",
            "add",
            outer,
            "type",
            "veth",
            "peer",
            "name",
            "eth0",
            "netns",
            netns,
        ]
    )
    _run(["ip", "-n", cluster.switch, "link", "set", outer, "master", "br0", "up"])
    _run(["ip", "-n", netns, "addr", "add", f"{address}/24", "dev", "eth0"])
    _run(["ip", "-n", netns, "link", "set", "eth0", "up"])


def _readme_ring_script(cluster: HostCluster, readme: ReadmeCluster) -> str:
    """README's ring script for this cluster's hosts, run on host 1."""
    lines: list[str] = []
    first, second = README_IPS
    for line in readme.ring_script.splitlines():
        if line.lstrip().startswith(("ssh ", "scp ")):
            continue  # a copy by hand to other machines (README pushes them instead)
        line = line.replace("--replicas 2", f"--replicas {cluster.replicas}")
        if f"--ip {second} " in line:
            for host in cluster.hosts[1:]:
                lines.append(
                    line.replace(f"--ip {second} ", f"--ip {host.address} ").replace(
                        "--zone 2", f"--zone {host.index}"
                    )
                )
            continue
        lines.append(line.replace(first, cluster.hosts[0].address))
    return "\n".join(lines).replace(README_DIR, str(cluster.hosts[0].root)) + "\n"


def _host_config(
    cluster: HostCluster,
    host: Host,
    readme: ReadmeCluster,
    salts: tuple[str, str],
    tuning: Mapping[str, Mapping[str, Any]],
) -> str:
    text = readme.config.replace("<secret, the same everywhere>", "{salt}")
    doc = tomllib.loads(text)
    doc["data"]["dir"] = str(host.root)
    doc["cluster"]["hash_path_prefix"], doc["cluster"]["hash_path_suffix"] = salts
    doc["cluster"]["replicas"] = cluster.replicas
    doc["storage"]["host"] = host.address
    for table, values in tuning.items():
        doc.setdefault(table, {}).update(values)
    return _emit_toml(doc)


@contextlib.contextmanager
def host_cluster(
    root: Path,
    *,
    hosts: int = 3,
    replicas: int | None = None,
    tuning: Mapping[str, Mapping[str, Any]] | None = None,
) -> Iterator[HostCluster]:
    """``hosts`` machines as README builds them; host 1 also runs the proxy."""
    why = netns_available()
    if why is not None:
        raise RuntimeError(why)
    readme = ReadmeCluster.load()
    tag = f"st{secrets.token_hex(2)}"
    net = _free_network()
    base = str(net.network_address)[:-1]
    cluster = HostCluster(
        tag=tag,
        root=root,
        network=net,
        switch=f"{tag}sw",
        client_ns=f"{tag}c",
        client_address=f"{base}100",
        replicas=replicas or min(hosts, 3),
    )
    made = cluster.namespaces
    try:
        _add_ns(cluster.switch)
        made.append(cluster.switch)
        _run(["ip", "-n", cluster.switch, "link", "add", "br0", "type", "bridge"])
        _run(["ip", "-n", cluster.switch, "link", "set", "br0", "up"])
        _add_ns(cluster.client_ns)
        made.append(cluster.client_ns)
        _plug(cluster, cluster.client_ns, cluster.client_address, 0)
        stratus = str(BIN / "stratus")
        for i in range(1, hosts + 1):
            ns = f"{tag}h{i}"
            _add_ns(ns)
            made.append(ns)
            address = f"{base}{i}"
            _plug(cluster, ns, address, i)
            host_root = root / f"host{i}" / "srv"
            host_root.parent.mkdir(parents=True, exist_ok=True)
            cfg = root / f"host{i}" / "stratus.toml"
            node = NsProc(
                f"h{i}-node",
                ns,
                [stratus, "node", "--config", str(cfg)],
                root / f"host{i}" / "node.log",
            )
            cluster.hosts.append(Host(i, ns, address, host_root, cfg, node))
        # README: the rings on host 1; its `stratus ring push` (a command below, once the
        # nodes run) gives them to the other hosts.
        first = cluster.hosts[0]
        script = _readme_ring_script(cluster, readme)
        cluster.exec_in(first.netns, ["bash", "-euo", "pipefail", "-c", script], timeout=240)
        salts = (secrets.token_hex(16), secrets.token_hex(16))
        for host in cluster.hosts:
            host.config.write_text(_host_config(cluster, host, readme, salts, tuning or {}))
        # README's commands, in order: nodes everywhere, then on host 1 the ring push, the
        # proxy and the first user.
        for command in readme.commands:
            argv = command.replace(README_CONFIG, "{config}").split()
            if argv[:2] == ["stratus", "node"]:
                for host in cluster.hosts:
                    host.node.argv = [
                        stratus,
                        *[a.replace("{config}", str(host.config)) for a in argv[1:]],
                    ]
                    host.node.start()
                for host in cluster.hosts:
                    cluster.wait_ready(host, 6200, "/healthcheck")
            elif argv[:2] == ["stratus", "proxy"]:
                first.proxy = NsProc(
                    "h1-proxy",
                    first.netns,
                    [stratus, *[a.replace("{config}", str(first.config)) for a in argv[1:]]],
                    root / "host1" / "proxy.log",
                )
                first.proxy.start()
                cluster.wait_ready(first, 8080, "/info")
            elif argv[0] == "stratus":
                out = cluster.exec_in(
                    first.netns,
                    [stratus, *[a.replace("{config}", str(first.config)) for a in argv[1:]]],
                )
                found = re.search(r"^key: (\S+)", out, flags=re.M)
                if found:
                    cluster.admin_key = found.group(1)
            elif argv[0] == "swift":
                argv = [
                    a.replace(README_IPS[0], first.address).replace("KEY", cluster.admin_key)
                    for a in argv
                ]
                cluster.run_in_client([str(BIN / "swift"), *argv[1:]])
            else:
                raise AssertionError(f"README command the harness does not know: {command}")
        assert cluster.admin_key, "README's `user create` printed no key"
        yield cluster
    finally:
        cluster.stop_all()
        for ns in reversed(made):
            _run(["ip", "netns", "delete", ns], check=False)
