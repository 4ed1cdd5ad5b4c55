from __future__ import annotations

import string
from pathlib import Path

import pytest

from stratus.identity import AlreadyExists, IdentityStore, InvalidName, NotFound, Principal
from stratus.identity.credentials import new_access_key, new_secret


@pytest.fixture
def users(store: IdentityStore) -> IdentityStore:
    store.create_project("p")
    store.create_project("q")
    store.create_user("p", "u", key="k")
    store.create_user("p", "v", key="k", role="reader")
    store.create_user("q", "u", key="k", role="admin")
    return store


def test_generated_shapes() -> None:
    upper = set(string.ascii_uppercase + string.digits)
    for _ in range(20):
        access, secret = new_access_key(), new_secret()
        assert len(access) == 20 and access.startswith("STR") and set(access) <= upper
        assert len(secret) == 40 and secret.isalnum() and secret.isascii()


def test_create_lookup_delete(users: IdentityStore) -> None:
    access, secret = users.create_credential("p", "u")
    assert users.lookup_credential(access) == (secret, Principal("p", "u", ("member",)))
    users.delete_credential(access)
    with pytest.raises(NotFound):
        users.lookup_credential(access)
    with pytest.raises(NotFound):
        users.delete_credential(access)


def test_list_filters_and_hides_secrets(users: IdentityStore) -> None:
    a1, s1 = users.create_credential("p", "u")
    a2, _ = users.create_credential("p", "v")
    a3, _ = users.create_credential("q", "u")
    assert {c.access for c in users.list_credentials()} == {a1, a2, a3}
    assert {c.access for c in users.list_credentials(project="p")} == {a1, a2}
    assert {c.access for c in users.list_credentials(user="u")} == {a1, a3}
    assert [c.access for c in users.list_credentials("q", "u")] == [a3]
    assert s1 not in repr(users.list_credentials())


def test_fixed_pair_and_duplicates(users: IdentityStore) -> None:
    assert users.create_credential("q", "u", access="test:tester", secret="testing") == (
        "test:tester",
        "testing",
    )
    with pytest.raises(AlreadyExists):
        users.create_credential("p", "u", access="test:tester", secret="other")
    assert users.lookup_credential("test:tester")[1].project == "q"
    with pytest.raises(InvalidName):
        users.create_credential("p", "u", access="no spaces please")
    with pytest.raises(InvalidName):
        users.create_credential("p", "u", secret="")
    for malformed in ("a/b", "", "x" * 500):
        with pytest.raises(NotFound):
            users.lookup_credential(malformed)


def test_credentials_need_a_user_and_go_with_it(users: IdentityStore) -> None:
    with pytest.raises(NotFound, match="user p:ghost"):
        users.create_credential("p", "ghost")
    mine, _ = users.create_credential("p", "u")
    other, _ = users.create_credential("q", "u")
    users.delete_user("p", "u")
    with pytest.raises(NotFound):
        users.lookup_credential(mine)
    assert users.lookup_credential(other)[1].name == "q:u"
    assert [c.access for c in users.list_credentials()] == [other]


def test_role_is_read_at_lookup(users: IdentityStore) -> None:
    access, _ = users.create_credential("p", "v")
    assert users.lookup_credential(access)[1].roles == ("reader",)
    users.set_role("p", "v", "admin")
    assert users.lookup_credential(access)[1].roles == ("admin",)


def test_secret_survives_reopen(tmp_path: Path) -> None:
    with IdentityStore(tmp_path / "id") as s:
        s.create_project("p")
        s.create_user("p", "u", key="k")
        access, secret = s.create_credential("p", "u")
    with IdentityStore(tmp_path / "id") as s:
        assert s.lookup_credential(access)[0] == secret
