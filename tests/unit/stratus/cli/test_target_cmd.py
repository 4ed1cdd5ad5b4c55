"""`stratus target export` argument parsing (serving itself is tested end to end)."""

from __future__ import annotations

from pathlib import Path

import pytest

from blockstore.iscsi import normalize_name
from stratus.cli.main import CommandError, build_parser
from stratus.cli.target_cmd import default_iqn, parse_portal, parse_userpass


def test_portal_forms() -> None:
    assert parse_portal("127.0.0.1:3260") == ("127.0.0.1", 3260)
    assert parse_portal("[::1]:3261") == ("::1", 3261)
    assert parse_portal("host.example:0") == ("host.example", 0)
    for bad in ("127.0.0.1", ":3260", "::1:3260", "h:99999", "h:port"):
        with pytest.raises(CommandError):
            parse_portal(bad)


def test_chap_pairs() -> None:
    assert parse_userpass("user:se:cret", "--chap") == ("user", "se:cret")
    assert parse_userpass(None, "--chap") == (None, None)
    for bad in ("user", ":secret", "user:"):
        with pytest.raises(CommandError):
            parse_userpass(bad, "--chap")


def test_default_iqn_is_a_valid_name() -> None:
    iqn = default_iqn("iqn.2026-11.io.stratus", Path("/x/My Volume#1.img"))
    assert iqn == "iqn.2026-11.io.stratus:my-volume-1.img"
    assert normalize_name(iqn) == iqn


def test_export_is_registered() -> None:
    args = build_parser().parse_args(
        ["target", "export", "f.img", "--chap", "u:s", "--read-only", "--block-size", "4096"]
    )
    assert (args.file, args.chap, args.read_only, args.block_size) == ("f.img", "u:s", True, 4096)


def test_missing_file_is_a_user_error(tmp_path: Path) -> None:
    args = build_parser().parse_args(["target", "export", str(tmp_path / "nope.img")])
    with pytest.raises(CommandError):
        args.func(args)
