from __future__ import annotations

from pathlib import Path

import pytest

from stratus import config
from stratus.config import ConfigError

ROOT = Path(__file__).resolve().parents[3]


def _write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "stratus.toml"
    p.write_text(text)
    return p


def test_defaults_are_valid() -> None:
    cfg = config.load(env={})
    assert cfg.proxy.port == 8080
    assert cfg.cluster.replicas == 3
    assert cfg.storage.fsync is True


def test_file_then_environment(tmp_path: Path) -> None:
    p = _write(tmp_path, "[proxy]\nport = 9090\nnode_timeout = 3\n[storage]\nnodes = 4\n")
    cfg = config.load(p, env={"STRATUS_PROXY_PORT": "9191", "STRATUS_STORAGE_FSYNC": "off"})
    assert cfg.proxy.port == 9191  # environment wins
    assert cfg.proxy.node_timeout == 3.0
    assert cfg.storage.nodes == 4
    assert cfg.storage.fsync is False


def test_stratus_data_sets_the_data_dir() -> None:
    assert config.load(env={"STRATUS_DATA": "/srv/x"}).data_dir == Path("/srv/x")


def test_config_file_from_environment(tmp_path: Path) -> None:
    p = _write(tmp_path, "[s3]\nport = 9100\n")
    assert config.load(env={"STRATUS_CONFIG": str(p)}).s3.port == 9100


@pytest.mark.parametrize(
    "text,message",
    [
        ("[prox]\nport = 1\n", "unknown section [prox]"),
        ("[proxy]\nprot = 1\n", "unknown option proxy.prot"),
        ('[proxy]\nport = "80"\n', "expected an integer"),
        ("[proxy]\nport = 70000\n", "TCP port"),
        ("[storage]\nfsync = 1\n", "expected a boolean"),
        ("[cluster]\nreplicas = 0\n", "cluster.replicas"),
        ("[iscsi]\ndriver = 'tgt'\n", "iscsi.driver"),
        ("proxy = 3\n", "must be a table"),
        ("[proxy\n", "not valid TOML"),
    ],
)
def test_bad_files_are_rejected(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message.replace("[", r"\[").replace("]", r"\]")):
        config.load(_write(tmp_path, text), env={})


def test_bad_environment_is_rejected() -> None:
    with pytest.raises(ConfigError, match="STRATUS_PROXY_PORT"):
        config.load(env={"STRATUS_PROXY_PORT": "eighty"})
    with pytest.raises(ConfigError, match="expected a boolean"):
        config.load(env={"STRATUS_STORAGE_FSYNC": "maybe"})


def test_missing_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        config.load(tmp_path / "nope.toml", env={})


def test_docs_are_generated_from_the_code() -> None:
    """docs/configuration.md must be what `stratus config docs` prints."""
    text = (ROOT / "docs" / "configuration.md").read_text()
    assert text == config.render_docs(), "run: stratus config docs > docs/configuration.md"
    assert "`STRATUS_PROXY_PORT`" in text


def test_identity_options_are_checked() -> None:
    env = {"STRATUS_IDENTITY_STORAGE_URL_BASE": "https://swift.example.com/prefix"}
    assert config.load(env=env).identity.storage_url_base == "https://swift.example.com/prefix"
    for bad in ("swift.example.com", "ftp://x", "https://", "http://x/?q=1"):
        with pytest.raises(ConfigError, match="storage_url_base"):
            config.load(env={"STRATUS_IDENTITY_STORAGE_URL_BASE": bad})
    for bad in ("0", "31622401"):
        with pytest.raises(ConfigError, match="token_lifetime"):
            config.load(env={"STRATUS_IDENTITY_TOKEN_LIFETIME": bad})


def test_s3_tls_needs_both_files(tmp_path: Path) -> None:
    cert, key = tmp_path / "c.pem", tmp_path / "k.pem"
    cert.write_text("x")
    key.write_text("y")
    both = config.load(env={"STRATUS_S3_TLS_CERT": str(cert), "STRATUS_S3_TLS_KEY": str(key)})
    assert both.s3.scheme == "https"
    assert config.load(env={}).s3.scheme == "http"
    with pytest.raises(ConfigError, match="set together"):
        config.load(env={"STRATUS_S3_TLS_CERT": str(cert)})
    with pytest.raises(ConfigError, match="no such file"):
        config.load(env={"STRATUS_S3_TLS_CERT": str(cert), "STRATUS_S3_TLS_KEY": "/nope.pem"})


def test_iscsi_extra_portals_are_host_port_pairs() -> None:
    cfg = config.load(env={"STRATUS_ISCSI_EXTRA_PORTALS": "127.0.0.2:3260,[::1]:3261"})
    assert cfg.iscsi.extra_portals == ["127.0.0.2:3260", "[::1]:3261"]
    assert [config.parse_hostport(p) for p in cfg.iscsi.extra_portals] == [
        ("127.0.0.2", 3260),
        ("::1", 3261),
    ]
    for bad in ("127.0.0.2", "h:70000", "::1:3260", "a b:1"):
        with pytest.raises(ConfigError, match="extra_portals"):
            config.load(env={"STRATUS_ISCSI_EXTRA_PORTALS": bad})
