"""CHAP (MD5) as the target runs it: challenge, verify, mutual answer."""

from __future__ import annotations

import base64
import hashlib

import pytest

from blockstore.iscsi.chap import ChapError, ChapExchange, Credentials, decode_binary, response


def answer(ex: ChapExchange, user: str, secret: str) -> dict[str, str]:
    r = hashlib.md5(bytes((ex.identifier,)) + secret.encode() + ex.challenge).hexdigest()
    return {"CHAP_N": user, "CHAP_R": "0x" + r}


def test_response_is_md5_of_id_secret_challenge() -> None:
    # RFC 1994: MD5(Identifier || secret || challenge)
    expected = hashlib.md5(b"\x01" + b"secret" + b"\xaa\xbb").digest()
    assert response(1, "secret", b"\xaa\xbb") == expected


def test_challenges_are_random_and_offer_md5() -> None:
    a, b = ChapExchange(Credentials("u", "s")), ChapExchange(Credentials("u", "s"))
    assert a.challenge != b.challenge
    keys = dict(a.challenge_keys())
    assert keys["CHAP_A"] == "5" and 0 <= int(keys["CHAP_I"]) <= 255
    assert decode_binary(keys["CHAP_C"]) == a.challenge


def test_a_correct_response_passes_one_way() -> None:
    ex = ChapExchange(Credentials("alice", "sekrit-123456"))
    assert ex.verify(answer(ex, "alice", "sekrit-123456")) == []


@pytest.mark.parametrize("user,secret", [("alice", "wrong"), ("bob", "sekrit-123456")])
def test_a_wrong_secret_or_user_fails(user: str, secret: str) -> None:
    ex = ChapExchange(Credentials("alice", "sekrit-123456"))
    with pytest.raises(ChapError):
        ex.verify(answer(ex, user, secret))


def test_mutual_chap_answers_the_initiators_challenge() -> None:
    ex = ChapExchange(Credentials("alice", "sekrit-1", "target", "target-secret"))
    keys = answer(ex, "alice", "sekrit-1") | {"CHAP_I": "9", "CHAP_C": "0x0102030405"}
    got = dict(ex.verify(keys))
    assert got["CHAP_N"] == "target"
    assert decode_binary(got["CHAP_R"]) == response(9, "target-secret", bytes.fromhex("0102030405"))


def test_mutual_chap_without_target_credentials_fails() -> None:
    ex = ChapExchange(Credentials("alice", "sekrit-1"))
    keys = answer(ex, "alice", "sekrit-1") | {"CHAP_I": "9", "CHAP_C": "0x01020304"}
    with pytest.raises(ChapError):
        ex.verify(keys)


def test_a_reflected_challenge_is_refused() -> None:
    ex = ChapExchange(Credentials("alice", "sekrit-1", "target", "target-secret"))
    keys = answer(ex, "alice", "sekrit-1") | {"CHAP_I": "1", "CHAP_C": "0x" + ex.challenge.hex()}
    with pytest.raises(ChapError, match="reflect"):
        ex.verify(keys)


def test_binary_values_hex_and_base64() -> None:
    assert decode_binary("0xABCD") == b"\xab\xcd"
    assert decode_binary("0x123") == b"\x01\x23"
    assert decode_binary("0b" + base64.b64encode(b"hi!").decode()) == b"hi!"
    for bad in ("ABCD", "0xZZ", "0b!!", "0x", "0x" + "00" * 1025):
        with pytest.raises(ChapError):
            decode_binary(bad)


def test_credentials_never_show_their_secret() -> None:
    assert "sekrit" not in repr(Credentials("alice", "sekrit", "t", "tsekrit"))
