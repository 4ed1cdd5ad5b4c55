from __future__ import annotations

import pytest

from stratus.identity.errors import InvalidName
from stratus.identity.names import (
    check_access_key,
    check_key,
    check_name,
    check_role,
    check_secret,
    parse_user_spec,
    random_key,
)


@pytest.mark.parametrize("name", ["a", "A-b_c.9", "x" * 64, "admin", "..", "-x"])
def test_good_names(name: str) -> None:
    assert check_name("project", name) == name


@pytest.mark.parametrize(
    "name", ["", "x" * 65, "a:b", "a b", "a/b", "é", "a\n", None, 5, b"ab", "a\x00"]
)
def test_bad_names(name: object) -> None:
    with pytest.raises(InvalidName, match="invalid user name"):
        check_name("user", name)


def test_invalid_name_is_a_value_error() -> None:
    """Callers that only know ValueError still catch it."""
    with pytest.raises(ValueError):
        check_name("project", "a:b")


def test_roles() -> None:
    for role in ("admin", "member", "reader"):
        assert check_role(role) == role
    with pytest.raises(InvalidName, match="choose one of admin, member, reader"):
        check_role("root")


@pytest.mark.parametrize("key", ["k", "testing", "a b", "!#$%&'()*+,-./", "x" * 256])
def test_good_keys(key: str) -> None:
    assert check_key(key) == key
    assert check_secret(key) == key


@pytest.mark.parametrize("key", ["", " lead", "trail ", "x" * 257, "tab\there", "é", "a\r\nb", 7])
def test_bad_keys(key: object) -> None:
    with pytest.raises(InvalidName):
        check_key(key)
    with pytest.raises(InvalidName):
        check_secret(key)


def test_key_errors_never_echo_the_key() -> None:
    with pytest.raises(InvalidName) as exc:
        check_key("sekrit\n")
    assert "sekrit" not in str(exc.value)


@pytest.mark.parametrize("access", ["STRABCDEFGHIJKLMNOPQ", "test:tester", "abc", "A" * 128])
def test_good_access_keys(access: str) -> None:
    assert check_access_key(access) == access


@pytest.mark.parametrize("access", ["ab", "A" * 129, "has space", "a/b", ""])
def test_bad_access_keys(access: str) -> None:
    with pytest.raises(InvalidName):
        check_access_key(access)


def test_parse_user_spec() -> None:
    assert parse_user_spec("proj:bob") == ("proj", "bob")
    for bad in ("proj", "a:b:c", ":bob", "proj:", "p r:bob", None):
        with pytest.raises(InvalidName):
            parse_user_spec(bad)


def test_random_key_shape() -> None:
    keys = {random_key() for _ in range(50)}
    assert len(keys) == 50
    for k in keys:
        assert len(k) == 32 and k.isalnum() and k.isascii()
        check_key(k)
