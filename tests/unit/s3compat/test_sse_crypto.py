"""AES-256-CTR from any offset and GCM-wrapped data keys (s3compat.sse_crypto)."""

from __future__ import annotations

import os

import pytest
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from s3compat import sse_crypto


def _reference(key: bytes, iv: bytes, data: bytes) -> bytes:
    enc = Cipher(algorithms.AES(key), modes.CTR(iv)).encryptor()
    return enc.update(data) + enc.finalize()


@pytest.mark.parametrize("offset", [0, 1, 15, 16, 17, 4095, 65536 + 3])
def test_stream_from_any_offset_matches_the_whole(offset: int) -> None:
    key, iv = sse_crypto.new_key(), sse_crypto.new_iv()
    data = os.urandom(70_000)
    whole = _reference(key, iv, data)
    assert sse_crypto.Stream(key, iv).update(data) == whole
    part = sse_crypto.Stream(key, iv, offset)
    got = part.update(whole[offset : offset + 100]) + part.update(whole[offset + 100 :])
    assert got == data[offset:]


def test_counter_wraps_at_128_bits() -> None:
    key, iv = sse_crypto.new_key(), b"\xff" * 16
    data = os.urandom(64)
    whole = sse_crypto.Stream(key, iv).update(data)
    assert sse_crypto.Stream(key, iv, 33).update(whole[33:]) == data[33:]


def test_wrap_needs_the_same_key() -> None:
    kek, data_key = sse_crypto.new_key(), sse_crypto.new_key()
    wrapped = sse_crypto.wrap(kek, data_key)
    assert wrapped != sse_crypto.wrap(kek, data_key)  # a fresh nonce each time
    assert sse_crypto.unwrap(kek, wrapped) == data_key
    assert sse_crypto.unwrap(sse_crypto.new_key(), wrapped) is None
    assert sse_crypto.unwrap(kek, "not base64!") is None
    assert sse_crypto.unwrap(kek, wrapped[:-4] + "AAAA") is None
