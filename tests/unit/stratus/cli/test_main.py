from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from stratus.cli.main import build_parser, main
from tests.helpers.net import free_port


def _groups() -> list[str]:
    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    return sorted(sub.choices)


@pytest.mark.parametrize("group", _groups())
def test_every_group_has_help(group: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main([group, "--help"])
    assert exc.value.code == 0
    assert "usage: stratus" in capsys.readouterr().out


def test_config_show_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["config", "show", "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["proxy"]["port"] == 8080


def test_bad_config_is_a_clean_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "c.toml"
    bad.write_text("[nope]\n")
    assert main(["--config", str(bad), "config", "check"]) == 1
    assert "unknown section [nope]" in capsys.readouterr().err


def test_console_script_runs(tmp_path: Path) -> None:
    """The installed entry point (not just the function) works: `up` starts and stops."""
    env = {
        "STRATUS_DATA": str(tmp_path / "d"),
        "STRATUS_PROXY_PORT": str(free_port()),
        "STRATUS_STORAGE_NODES": "1",
        "STRATUS_STORAGE_BASE_PORT": str(free_port()),
        "STRATUS_CLUSTER_PART_POWER": "4",
        "STRATUS_VOLUME_PORT": str(free_port()),
        "STRATUS_ISCSI_PORT": str(free_port()),
        **{
            f"STRATUS_{name}_PORT": str(free_port())
            for name in ("S3", "IMAGE", "COMPUTE", "NETWORK", "IDENTITY", "CONSOLE")
        },
        "PATH": "/usr/bin:/bin",
    }
    out = subprocess.run(
        [sys.executable, "-m", "stratus.cli.main", "up", "--exit-after-start"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=True,
    )
    assert "data directory" in out.stdout
    # The banner names the web console's address (README: "Web console").
    assert f"web console    http://127.0.0.1:{env['STRATUS_CONSOLE_PORT']}/" in out.stdout
    assert "stopped" in out.stdout
    assert (tmp_path / "d" / "rings" / "object.ring").is_file()
