"""`stratus config show` prints TOML that `--config` reads back, secrets left out."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest

from stratus import config
from stratus.cli.main import main

SECRET = "do-not-print-this-salt"
CHOSEN = f"""
[data]
dir = 'a "quoted" \\ dir/ünïcode'
[cluster]
hash_path_prefix = "{SECRET}"
replicas = 2
[storage]
fsync = false
[durability]
replicator_interval = 0.5
[iscsi]
extra_portals = ["10.0.0.1:3260", "[::1]:3261"]
[network]
nat = true
"""


@pytest.fixture(autouse=True)
def _no_stratus_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in [n for n in __import__("os").environ if n.startswith("STRATUS_")]:
        monkeypatch.delenv(name)


def _show(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    assert main([*argv, "config", "show"]) == 0
    return capsys.readouterr().out


def test_show_is_toml_that_config_reads_back(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    chosen = tmp_path / "chosen.toml"
    chosen.write_text(CHOSEN)
    first = _show(capsys, "--config", str(chosen))
    assert SECRET not in first
    assert "True" not in first and "False" not in first  # TOML's booleans, not Python's
    parsed = tomllib.loads(first)
    assert parsed["storage"]["fsync"] is False and parsed["network"]["nat"] is True
    assert parsed["iscsi"]["extra_portals"] == ["10.0.0.1:3260", "[::1]:3261"]
    assert parsed["data"]["dir"] == 'a "quoted" \\ dir/ünïcode'
    # Secrets are comments that say so; they do not parse as options.
    assert "hash_path_prefix" not in parsed["cluster"]
    comments = [line for line in first.splitlines() if line.startswith("#")]
    assert any("hash_path_prefix" in c and "secret" in c and "not shown" in c for c in comments)
    assert any("Secrets are not shown" in c for c in comments)

    shown = tmp_path / "shown.toml"
    shown.write_text(first)
    second = _show(capsys, "--config", str(shown))
    assert tomllib.loads(second) == parsed
    # Every option but the secret comes back the same.
    a, b = config.load(chosen, env={}), config.load(shown, env={})
    assert a.cluster.hash_path_prefix == SECRET and b.cluster.hash_path_prefix == ""
    b.cluster.hash_path_prefix = SECRET
    assert a == b
    # Printed again from its own output, the text is the same (nothing left to mask).
    again = tmp_path / "again.toml"
    again.write_text(second)
    assert _show(capsys, "--config", str(again)) == second


def test_defaults_round_trip_and_empty_salts_are_explained(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    first = _show(capsys)
    shown = tmp_path / "shown.toml"
    shown.write_text(first)
    assert _show(capsys, "--config", str(shown)) == first
    assert config.load(shown, env={}) == config.load(None, env={})
    salt = [line for line in first.splitlines() if "hash_path_suffix" in line]
    assert salt == [
        "# hash_path_suffix: a secret, empty: `stratus up` generates it once, "
        "into stratus-data/cluster.toml"
    ]


def test_show_json_hides_a_set_secret(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    chosen = tmp_path / "chosen.toml"
    chosen.write_text(CHOSEN)
    assert main(["--config", str(chosen), "config", "show", "--json"]) == 0
    out = capsys.readouterr().out
    assert SECRET not in out
    shown = json.loads(out)
    assert shown["cluster"]["hash_path_prefix"] is None  # set, not shown
    assert shown["cluster"]["hash_path_suffix"] == ""  # empty
