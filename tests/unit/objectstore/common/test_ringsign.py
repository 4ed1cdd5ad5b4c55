"""Ring push signatures: keyed by the cluster's salts, bound to path, time and body."""

from __future__ import annotations

import pytest

from objectstore.common import ringsign

KEY = ringsign.push_key("prefix-salt", "suffix-salt")
NOW = 1_800_000_000.0


def _signed(body: bytes = b"ring bytes", path: str = "/ring/object") -> dict[str, str]:
    assert KEY is not None
    return ringsign.sign(KEY, "PUT", path, body, now=NOW)


def test_key_comes_from_both_salts_and_is_none_when_unsalted() -> None:
    assert ringsign.push_key("", "") is None
    assert KEY is not None and len(KEY) == 32
    assert ringsign.push_key("prefix-salt", "suffix-salt") == KEY
    assert ringsign.push_key("prefix-salt", "other") != KEY
    # The split between prefix and suffix counts: "ab"+"c" is not "a"+"bc".
    assert ringsign.push_key("ab", "c") != ringsign.push_key("a", "bc")


def test_a_signed_push_verifies() -> None:
    assert KEY is not None
    headers = _signed()
    assert ringsign.verify(KEY, "PUT", "/ring/object", headers, b"ring bytes", now=NOW) is None
    assert (
        ringsign.verify(KEY, "PUT", "/ring/object", headers, b"ring bytes", now=NOW + 299) is None
    )


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"body": b"ring bytez"}, "bad ring push signature"),
        ({"path": "/ring/account"}, "bad ring push signature"),
        ({"method": "POST"}, "bad ring push signature"),
        ({"key": b"k" * 32}, "bad ring push signature"),
        ({"now": NOW + 301}, "away from this node's clock"),
        ({"now": NOW - 301}, "away from this node's clock"),
        ({"headers": {}}, "unsigned ring push"),
        (
            {"headers": {ringsign.TIMESTAMP: "x1", ringsign.SIGNATURE: "ab"}},
            "bad ring push timestamp",
        ),
    ],
)
def test_anything_changed_is_refused(change: dict, reason: str) -> None:
    assert KEY is not None
    args = {
        "key": KEY,
        "method": "PUT",
        "path": "/ring/object",
        "headers": _signed(),
        "body": b"ring bytes",
        "now": NOW,
    }
    args.update(change)
    why = ringsign.verify(
        args["key"], args["method"], args["path"], args["headers"], args["body"], now=args["now"]
    )
    assert why is not None and reason in why


def test_ring_path_names_only_the_three_rings() -> None:
    assert ringsign.ring_path("container") == "/ring/container"
    with pytest.raises(ValueError):
        ringsign.ring_path("../object")
