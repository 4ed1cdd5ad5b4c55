"""The on-disk shape of a cluster under one data directory, created on first start.

`stratus up` needs no configuration, so what a real deployment would be told
(the placement salts, the rings) is generated here once and reused on every
restart: a restart must find every object where it left it.

    <data>/cluster.toml        hash_path_prefix / hash_path_suffix (0600)
    <data>/rings/              account.ring, container.ring, object.ring
    <data>/nodes/node<N>/<dev> storage node N's devices
    <data>/identity/           projects, users, tokens
    <data>/run/stratus.toml    the effective configuration handed to children (0600)
    <data>/logs/<child>.log    output of each child process
"""

from __future__ import annotations

import dataclasses
import secrets
import tomllib
from pathlib import Path
from typing import Any

from stratus import config, private

SECRETS_FILE = "cluster.toml"
RING_NAMES = ("account", "container", "object")


def ring_dir(cfg: config.Config) -> Path:
    return cfg.data_dir / "rings"


def node_dir(cfg: config.Config, index: int) -> Path:
    return cfg.data_dir / "nodes" / f"node{index}"


def identity_dir(cfg: config.Config) -> Path:
    return cfg.data_dir / "identity"


def logs_dir(cfg: config.Config) -> Path:
    return cfg.data_dir / "logs"


def run_config_path(cfg: config.Config) -> Path:
    return cfg.data_dir / "run" / "stratus.toml"


def device_names(cfg: config.Config) -> list[str]:
    return [f"d{j}" for j in range(cfg.storage.devices_per_node)]


def node_address(cfg: config.Config, index: int) -> tuple[str, int]:
    return cfg.storage.host, cfg.storage.base_port + index


def write_private(path: Path, text: str) -> None:
    """Write a file only its owner can read, atomically and durably."""
    private.write_private(path, text.encode())


def ensure_cluster_secrets(cfg: config.Config, *, create: bool) -> None:
    """Fill cfg.cluster's hash salts: from the configuration, else <data>/cluster.toml.

    With ``create``, missing salts are generated once and stored; without it
    (a node joining an existing cluster) they must already be there, because a
    node with other salts would place every object somewhere else.
    """
    c = cfg.cluster
    if c.hash_path_prefix and c.hash_path_suffix:
        return
    path = cfg.data_dir / SECRETS_FILE
    stored: dict[str, Any] = {}
    if path.exists():
        with open(path, "rb") as fh:
            stored = tomllib.load(fh).get("cluster", {})
    elif create:
        stored = {
            "hash_path_prefix": secrets.token_hex(16),
            "hash_path_suffix": secrets.token_hex(16),
        }
        write_private(path, to_toml({"cluster": stored}))
    else:
        raise config.ConfigError(
            f"cluster.hash_path_prefix/suffix are not set and {path} does not exist: "
            "copy cluster.toml from the first machine (or set them in the configuration)"
        )
    c.hash_path_prefix = c.hash_path_prefix or str(stored.get("hash_path_prefix", ""))
    c.hash_path_suffix = c.hash_path_suffix or str(stored.get("hash_path_suffix", ""))
    if not (c.hash_path_prefix and c.hash_path_suffix):
        raise config.ConfigError(f"{path} lacks hash_path_prefix or hash_path_suffix")


def rings_present(directory: Path) -> bool:
    return all((directory / f"{name}.ring").exists() for name in RING_NAMES)


def ensure_rings(cfg: config.Config) -> Path:
    """Build the single-machine rings on first start; later starts reuse them unchanged.

    Rings that place data on other addresses than the configuration's nodes
    are an error, not something to rebalance silently: that would strand the
    data already stored.
    """
    from ring import Ring, build_cluster_rings

    directory = ring_dir(cfg)
    wanted = [(*node_address(cfg, i), device_names(cfg)) for i in range(cfg.storage.nodes)]
    if rings_present(directory):
        want = {(ip, port, dev) for ip, port, devs in wanted for dev in devs}
        for name in RING_NAMES:
            ring = Ring(
                directory / f"{name}.ring",
                hash_path_prefix=cfg.cluster.hash_path_prefix,
                hash_path_suffix=cfg.cluster.hash_path_suffix,
            )
            have = {(d.ip, d.port, d.device) for d in ring.devices}
            if have != want:
                raise config.ConfigError(
                    f"{directory / name}.ring places data on {_describe(have)}, but the "
                    f"configuration runs {_describe(want)}; restore the storage settings "
                    "(nodes, host, base_port, devices_per_node) or use another data directory"
                )
        return directory
    build_cluster_rings(
        directory,
        nodes=wanted,
        part_power=cfg.cluster.part_power,
        replicas=min(cfg.cluster.replicas, cfg.storage.nodes * cfg.storage.devices_per_node),
        min_part_hours=cfg.cluster.min_part_hours,
        seed=0,
    )
    return directory


def _describe(devices: set[tuple[str, int, str]]) -> str:
    return ", ".join(f"{ip}:{port}/{dev}" for ip, port, dev in sorted(devices))


def ensure_node_dirs(cfg: config.Config, index: int) -> list[Path]:
    paths = [node_dir(cfg, index) / dev for dev in device_names(cfg)]
    for p in paths:
        private.private_dir(p)
    return paths


def write_run_config(cfg: config.Config) -> Path:
    """Hand the effective configuration (file + environment + salts) to children as one file."""
    path = run_config_path(cfg)
    write_private(path, to_toml(dataclasses.asdict(cfg)))
    return path


def to_toml(table: dict[str, dict[str, Any]]) -> str:
    """A TOML document of sections holding scalars and lists (all our config uses)."""
    out: list[str] = []
    for section, values in table.items():
        out.append(f"[{section}]")
        out += [f"{key} = {_toml_value(value)}" for key, value in values.items()]
        out.append("")
    return "\n".join(out)


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        escaped = value.replace("\\", "\\\\").replace('"', '\\"')
        escaped = "".join(c if c.isprintable() else f"\\u{ord(c):04x}" for c in escaped)
        return f'"{escaped}"'
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    raise TypeError(f"cannot write {type(value).__name__} to TOML")
