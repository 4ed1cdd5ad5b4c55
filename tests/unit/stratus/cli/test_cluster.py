from __future__ import annotations

import dataclasses
import stat
from pathlib import Path

import pytest

from stratus import config
from stratus.cli import cluster


def _cfg(tmp_path: Path, **env: str) -> config.Config:
    return config.load(env={"STRATUS_DATA": str(tmp_path / "data"), **env})


def test_secrets_are_generated_once_private_and_reused(tmp_path: Path) -> None:
    cfg = _cfg(tmp_path)
    cluster.ensure_cluster_secrets(cfg, create=True)
    prefix, suffix = cfg.cluster.hash_path_prefix, cfg.cluster.hash_path_suffix
    assert prefix and suffix and prefix != suffix
    path = cfg.data_dir / cluster.SECRETS_FILE
    assert stat.S_IMODE(path.stat().st_mode) == 0o600

    again = _cfg(tmp_path)
    cluster.ensure_cluster_secrets(again, create=True)
    assert (again.cluster.hash_path_prefix, again.cluster.hash_path_suffix) == (prefix, suffix)


def test_configured_secrets_win_and_nothing_is_written(tmp_path: Path) -> None:
    cfg = _cfg(
        tmp_path,
        STRATUS_CLUSTER_HASH_PATH_PREFIX="p",
        STRATUS_CLUSTER_HASH_PATH_SUFFIX="s",
    )
    cluster.ensure_cluster_secrets(cfg, create=True)
    assert (cfg.cluster.hash_path_prefix, cfg.cluster.hash_path_suffix) == ("p", "s")
    assert not (cfg.data_dir / cluster.SECRETS_FILE).exists()


def test_joining_node_without_secrets_is_an_error(tmp_path: Path) -> None:
    cfg = _cfg(tmp_path)
    with pytest.raises(config.ConfigError, match=r"copy cluster\.toml"):
        cluster.ensure_cluster_secrets(cfg, create=False)


def test_run_config_round_trips_through_the_loader(tmp_path: Path) -> None:
    cfg = _cfg(tmp_path, STRATUS_PROXY_PORT="18081", STRATUS_S3_BASE_DOMAIN='we"ird\\dom\tx')
    cfg.cluster.hash_path_prefix = "abc"
    cfg.cluster.hash_path_suffix = "def"
    path = cluster.write_run_config(cfg)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    loaded = config.load(path, env={})
    assert dataclasses.asdict(loaded) == dataclasses.asdict(cfg)


def test_to_toml_rejects_what_it_cannot_write() -> None:
    with pytest.raises(TypeError):
        cluster.to_toml({"s": {"k": object()}})


def test_rings_are_built_once_and_must_match_the_nodes(tmp_path: Path) -> None:
    cfg = _cfg(tmp_path, STRATUS_CLUSTER_PART_POWER="4", STRATUS_STORAGE_BASE_PORT="7100")
    cluster.ensure_cluster_secrets(cfg, create=True)
    directory = cluster.ensure_rings(cfg)
    stamp = (directory / "object.ring").stat().st_mtime_ns
    assert cluster.ensure_rings(cfg) == directory  # reused as is
    assert (directory / "object.ring").stat().st_mtime_ns == stamp

    moved = _cfg(tmp_path, STRATUS_CLUSTER_PART_POWER="4", STRATUS_STORAGE_BASE_PORT="7200")
    cluster.ensure_cluster_secrets(moved, create=True)
    with pytest.raises(config.ConfigError, match=r"127\.0\.0\.1:7100/d0"):
        cluster.ensure_rings(moved)


def test_replicas_never_exceed_the_devices(tmp_path: Path) -> None:
    from ring import Ring

    cfg = _cfg(tmp_path, STRATUS_STORAGE_NODES="2", STRATUS_CLUSTER_PART_POWER="4")
    cluster.ensure_cluster_secrets(cfg, create=True)
    ring = Ring(cluster.ensure_rings(cfg) / "object.ring")
    assert ring.replica_count == 2
    assert {(d.port, d.device) for d in ring.devices} == {(6200, "d0"), (6201, "d0")}
