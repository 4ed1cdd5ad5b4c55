from __future__ import annotations

from stratus.identity import keyhash


def test_hash_verifies_only_the_right_key() -> None:
    stored = keyhash.hash_key("correct horse")
    assert stored["kdf"] == "scrypt"
    assert "correct horse" not in repr(stored)
    assert keyhash.verify_key("correct horse", stored)
    assert not keyhash.verify_key("correct horsE", stored)
    assert not keyhash.verify_key("", stored)


def test_salts_differ() -> None:
    a, b = keyhash.hash_key("same"), keyhash.hash_key("same")
    assert a["salt"] != b["salt"] and a["hash"] != b["hash"]


def test_stored_parameters_are_honoured() -> None:
    """A hash made with other (older, cheaper) parameters still verifies."""
    params = {"kdf": "scrypt", "n": 2**10, "r": 8, "p": 1, "salt": b"s" * 16}
    stored = {**params, "hash": keyhash._derive("k", params)}
    assert keyhash.verify_key("k", stored)
    assert not keyhash.verify_key("j", stored)


def test_broken_or_hostile_records_do_not_verify() -> None:
    good = keyhash.hash_key("k")
    assert not keyhash.verify_key("k", {**good, "kdf": "md5"})
    assert not keyhash.verify_key("k", {**good, "n": 2**30})  # memory bomb refused
    assert not keyhash.verify_key("k", {k: v for k, v in good.items() if k != "salt"})
    assert not keyhash.verify_key("k", {**good, "hash": b"short"})


def test_burn_time_runs() -> None:
    keyhash.burn_time("whatever")
