from __future__ import annotations

import json
from pathlib import Path

import pytest

from ring import Ring, RingBuilder
from stratus.cli.main import main


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(["ring", *argv])
    out = capsys.readouterr()
    return code, out.out, out.err


def _cluster(tmp_path: Path, capsys, devices: int = 4) -> Path:
    builder = tmp_path / "object.builder"
    code, out, _ = _run(
        capsys,
        "create",
        str(builder),
        "--part-power",
        "8",
        "--replicas",
        "3",
        "--min-part-hours",
        "1",
    )
    assert code == 0 and "256 partitions" in out
    for i in range(devices):
        code, out, _ = _run(
            capsys,
            "add",
            str(builder),
            "--region",
            "1",
            "--zone",
            str(i + 1),
            "--ip",
            "127.0.0.1",
            "--port",
            str(6200 + i),
            "--device",
            "d0",
            "--weight",
            "100",
        )
        assert code == 0 and f"added device {i}" in out
    return builder


@pytest.mark.parametrize(
    "action",
    [
        "create",
        "add",
        "remove",
        "set-weight",
        "pretend-min-part-hours-passed",
        "rebalance",
        "show",
        "validate",
    ],
)
def test_every_action_has_help(action: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["ring", action, "--help"])
    assert exc.value.code == 0
    assert "usage: stratus ring" in capsys.readouterr().out


def test_create_add_rebalance_writes_the_ring(tmp_path: Path, capsys) -> None:
    builder = _cluster(tmp_path, capsys)
    code, out, _ = _run(capsys, "rebalance", str(builder), "--seed", "7")
    assert code == 0
    assert "moved 768 replicas" in out and "wrote" in out
    ring = Ring(tmp_path / "object.ring")
    assert ring.partition_count == 256 and len(ring.devices) == 4
    # same seed, same placement
    other = tmp_path / "copy"
    other.mkdir()
    _cluster(other, capsys)
    _run(capsys, "rebalance", str(other / "object.builder"), "--seed", "7")
    assert (other / "object.ring").read_bytes() == (tmp_path / "object.ring").read_bytes()


def test_rebalance_json(tmp_path: Path, capsys) -> None:
    builder = _cluster(tmp_path, capsys)
    code, out, _ = _run(capsys, "rebalance", str(builder), "--seed", "1", "--json")
    doc = json.loads(out)
    assert code == 0
    assert doc["moved"] == 768 and doc["balance"] == 0 and doc["dispersion"] == 0
    assert doc["ring"] == str(tmp_path / "object.ring")


def test_show_table_and_json(tmp_path: Path, capsys) -> None:
    builder = _cluster(tmp_path, capsys)
    _run(capsys, "rebalance", str(builder), "--seed", "1")
    code, out, _ = _run(capsys, "show", str(builder))
    assert code == 0
    assert "balance 0.00%, dispersion 0" in out
    assert "127.0.0.1" in out and "192" in out  # 256 * 3 / 4 partitions each
    code, out, _ = _run(capsys, "show", str(builder), "--json")
    doc = json.loads(out)
    assert doc["replicas"] == 3 and [d["parts"] for d in doc["devices"]] == [192] * 4
    code, out, _ = _run(capsys, "show", str(tmp_path / "object.ring"), "--json")
    assert [d["parts"] for d in json.loads(out)["devices"]] == [192] * 4
    code, out, _ = _run(capsys, "show", str(tmp_path / "object.ring"))
    assert "ring version 1" in out


def test_show_before_enough_devices(tmp_path: Path, capsys) -> None:
    builder = _cluster(tmp_path, capsys, devices=2)
    code, out, _ = _run(capsys, "show", str(builder))
    assert code == 0 and "not rebalanced yet" in out
    code, _, err = _run(capsys, "rebalance", str(builder))
    assert code == 1 and "at least 3 devices" in err


def test_validate(tmp_path: Path, capsys) -> None:
    builder = _cluster(tmp_path, capsys)
    code, out, _ = _run(capsys, "validate", str(builder))
    assert code == 1 and "never been rebalanced" in out
    _run(capsys, "rebalance", str(builder), "--seed", "1")
    code, out, _ = _run(capsys, "validate", str(builder))
    assert code == 0 and "consistent" in out
    code, out, _ = _run(capsys, "validate", str(builder), "--json")
    assert json.loads(out) == {"ok": True, "problems": [], "warnings": []}
    # a ring file from another builder is a problem
    ring = tmp_path / "object.ring"
    other = tmp_path / "other"
    other.mkdir()
    _run(capsys, "rebalance", str(_cluster(other, capsys)), "--seed", "99")
    ring.write_bytes((other / "object.ring").read_bytes())
    code, out, _ = _run(capsys, "validate", str(builder), "--json")
    doc = json.loads(out)
    assert code == 1 and not doc["ok"] and doc["problems"]
    ring.write_bytes(ring.read_bytes()[:50])
    code, out, _ = _run(capsys, "validate", str(builder))
    assert code == 1 and "truncated or corrupt" in out


def test_remove_and_set_weight(tmp_path: Path, capsys) -> None:
    builder = _cluster(tmp_path, capsys, devices=5)
    _run(capsys, "rebalance", str(builder), "--seed", "1")
    code, out, _ = _run(capsys, "set-weight", str(builder), "1", "50", "--json")
    assert code == 0 and json.loads(out)["weight"] == 50.0
    code, out, _ = _run(capsys, "remove", str(builder), "4")
    assert code == 0 and "removed device 4" in out
    code, out, _ = _run(capsys, "show", str(builder))
    assert "pending changes" in out
    devices = RingBuilder.load(builder).devices
    assert [d.id for d in devices] == [0, 1, 2, 3] and devices[1].weight == 50


def test_pretend_min_part_hours_passed(tmp_path: Path, capsys) -> None:
    builder = _cluster(tmp_path, capsys, devices=4)
    _run(capsys, "rebalance", str(builder), "--seed", "1")
    _run(
        capsys, "add", str(builder), "--zone", "5", "--ip", "127.0.0.1", "--port", "6210",
        "--device", "d0", "--weight", "100",
    )  # fmt: skip
    code, out, _ = _run(capsys, "rebalance", str(builder), "--seed", "2", "--json")
    assert code == 0 and json.loads(out)["moved"] == 0  # held by min_part_hours
    code, out, _ = _run(capsys, "pretend-min-part-hours-passed", str(builder))
    assert code == 0 and "min_part_hours waived" in out
    code, out, _ = _run(capsys, "rebalance", str(builder), "--seed", "3", "--json")
    assert code == 0 and json.loads(out)["moved"] > 0


def test_user_errors_are_one_line(tmp_path: Path, capsys) -> None:
    builder = _cluster(tmp_path, capsys)
    code, _, err = _run(capsys, "create", str(builder), "--part-power", "8", "--replicas", "3")
    assert code == 1 and "exists" in err
    code, _, err = _run(capsys, "remove", str(builder), "42")
    assert code == 1 and "no device 42" in err
    code, _, err = _run(
        capsys,
        "add",
        str(builder),
        "--zone",
        "1",
        "--ip",
        "bad host!",
        "--port",
        "1",
        "--device",
        "d",
        "--weight",
        "1",
    )
    assert code == 1 and "stratus: error:" in err and "Traceback" not in err
    code, _, err = _run(capsys, "show", str(tmp_path / "missing.builder"))
    assert code == 1 and "stratus: error:" in err
    (tmp_path / "junk.builder").write_text("not json")
    code, _, err = _run(capsys, "rebalance", str(tmp_path / "junk.builder"))
    assert code == 1 and "not a builder file" in err
