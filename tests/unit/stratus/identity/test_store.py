from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from stratus.identity import (
    AlreadyExists,
    IdentityError,
    IdentityStore,
    InvalidName,
    NotFound,
    Principal,
)
from stratus.identity import store as store_mod
from tests.unit.stratus.identity.conftest import FakeClock

ROOT = Path(__file__).resolve().parents[4]


def test_projects_create_list_delete(store: IdentityStore, clock: FakeClock) -> None:
    assert store.list_projects() == []
    made = store.create_project("beta")
    store.create_project("alpha")
    assert made.created == clock.now and made.account == "AUTH_beta"
    assert [p.name for p in store.list_projects()] == ["alpha", "beta"]
    assert store.get_project("beta") == made
    with pytest.raises(AlreadyExists):
        store.create_project("beta")
    store.delete_project("beta")
    assert [p.name for p in store.list_projects()] == ["alpha"]
    with pytest.raises(NotFound):
        store.delete_project("beta")
    with pytest.raises(NotFound):
        store.get_project("beta")


def test_names_are_validated_before_anything_is_written(store: IdentityStore) -> None:
    for bad in ("", "a:b", "x" * 65, "sp ace"):
        with pytest.raises(InvalidName):
            store.create_project(bad)
    assert store.list_projects() == []
    store.create_project("p")
    with pytest.raises(InvalidName):
        store.create_user("p", "bad:user")
    with pytest.raises(InvalidName):
        store.create_user("p", "u", role="root")
    with pytest.raises(InvalidName):
        store.create_user("p", "u", key=" spaced ")
    assert store.list_users() == []


def test_users_and_roles(store: IdentityStore) -> None:
    with pytest.raises(NotFound, match="project p does not exist"):
        store.create_user("p", "u")
    store.create_project("p")
    store.create_project("q")
    key = store.create_user("p", "bob")
    assert len(key) == 32
    store.create_user("p", "amy", role="admin", key="amy-key")
    store.create_user("q", "bob", role="reader", key="q-key")
    with pytest.raises(AlreadyExists):
        store.create_user("p", "bob")
    assert [(u.spec, u.role) for u in store.list_users()] == [
        ("p:amy", "admin"),
        ("p:bob", "member"),
        ("q:bob", "reader"),
    ]
    assert [u.spec for u in store.list_users("p")] == ["p:amy", "p:bob"]
    assert store.list_users("nope") == []
    store.set_role("p", "bob", "reader")
    assert store.get_user("p", "bob").role == "reader"
    with pytest.raises(NotFound):
        store.set_role("p", "zed", "admin")
    store.delete_user("p", "bob")
    with pytest.raises(NotFound):
        store.get_user("p", "bob")
    with pytest.raises(NotFound):
        store.delete_user("p", "bob")
    assert store.get_user("q", "bob").role == "reader"


def test_project_prefix_does_not_leak_users(store: IdentityStore) -> None:
    """Listing project 'ab' must not include users of 'abc'."""
    for p in ("ab", "abc", "ab.c"):
        store.create_project(p)
        store.create_user(p, "u", key="k")
    assert [u.spec for u in store.list_users("ab")] == ["ab:u"]


def test_check_key(store: IdentityStore) -> None:
    store.create_project("p")
    store.create_user("p", "u", role="admin", key="right")
    assert store.check_key("p", "u", "right") == Principal("p", "u", ("admin",))
    assert store.check_key("p", "u", "wrong") is None
    assert store.check_key("p", "nobody", "right") is None
    assert store.check_key("p", "u", "") is None
    assert store.check_key("p", "u", "right\n") is None
    new = store.set_key("p", "u")
    assert store.check_key("p", "u", "right") is None
    assert store.check_key("p", "u", new) is not None


def test_keys_are_stored_hashed(store: IdentityStore, tmp_path: Path) -> None:
    store.create_project("p")
    store.create_user("p", "u", key="plain-text-key-xyz")
    data = (tmp_path / "identity" / "data.mdb").read_bytes()
    assert b"plain-text-key-xyz" not in data


def test_delete_project_refuses_users_unless_forced(store: IdentityStore) -> None:
    store.create_project("p")
    store.create_user("p", "u", key="k")
    token, _ = store.issue_token("p", "u", 60)
    access, _ = store.create_credential("p", "u")
    with pytest.raises(IdentityError, match="still has 1 user"):
        store.delete_project("p")
    assert store.authenticate_token(token) is not None
    store.delete_project("p", force=True)
    assert store.list_users() == []
    assert store.authenticate_token(token) is None
    assert store.count_tokens() == 0
    with pytest.raises(NotFound):
        store.lookup_credential(access)


def test_tokens_issue_authenticate_expire(store: IdentityStore, clock: FakeClock) -> None:
    store.create_project("p")
    store.create_user("p", "u", key="k")
    token, principal = store.issue_token("p", "u", 100)
    assert token.startswith("AUTH_tk") and len(token) > 40
    assert principal == Principal("p", "u", ("member",), clock.now + 100)
    assert store.authenticate_token(token) == principal
    assert store.authenticate_token(token + "x") is None
    assert store.authenticate_token("AUTH_tknope") is None
    assert store.authenticate_token("") is None
    assert store.authenticate_token("AUTH_tk" + "a" * 1000) is None
    clock.advance(99.5)
    assert store.authenticate_token(token) is not None
    clock.advance(0.5)
    assert store.authenticate_token(token) is None  # at expiry: refused
    assert store.count_tokens() == 1
    assert store.reap_expired_tokens() == 1
    assert store.count_tokens() == 0


def test_tokens_are_stored_hashed(store: IdentityStore, tmp_path: Path) -> None:
    store.create_project("p")
    store.create_user("p", "u", key="k")
    token, _ = store.issue_token("p", "u", 100)
    data = (tmp_path / "identity" / "data.mdb").read_bytes()
    assert token.encode() not in data
    assert token[len("AUTH_tk") :].encode() not in data


def test_login_reaps_expired_tokens_and_keeps_live_ones(
    store: IdentityStore, clock: FakeClock
) -> None:
    store.create_project("p")
    store.create_user("p", "u", key="k")
    old = [store.issue_token("p", "u", 10)[0] for _ in range(5)]
    live, _ = store.issue_token("p", "u", 1000)
    clock.advance(20)
    newest, _ = store.issue_token("p", "u", 10)
    assert store.count_tokens() == 2
    assert all(store.authenticate_token(t) is None for t in old)
    assert store.authenticate_token(live) is not None
    assert store.authenticate_token(newest) is not None


def test_tokens_per_user_are_capped(store: IdentityStore, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(store_mod, "MAX_TOKENS_PER_USER", 3)
    store.create_project("p")
    store.create_user("p", "u", key="k")
    store.create_user("p", "v", key="k")
    other, _ = store.issue_token("p", "v", 50)
    tokens = [store.issue_token("p", "u", 100 + i)[0] for i in range(5)]
    assert [store.authenticate_token(t) is not None for t in tokens] == [
        False,
        False,
        True,
        True,
        True,
    ]
    assert store.authenticate_token(other) is not None
    assert store.count_tokens() == 4


def test_role_change_applies_to_live_tokens(store: IdentityStore) -> None:
    store.create_project("p")
    store.create_user("p", "u", key="k", role="admin")
    token, _ = store.issue_token("p", "u", 100)
    store.set_role("p", "u", "reader")
    principal = store.authenticate_token(token)
    assert principal is not None and principal.roles == ("reader",)


def test_new_key_or_deleted_user_revokes_tokens(store: IdentityStore) -> None:
    store.create_project("p")
    store.create_user("p", "u", key="k")
    store.create_user("p", "v", key="k")
    t1, _ = store.issue_token("p", "u", 100)
    tv, _ = store.issue_token("p", "v", 100)
    store.set_key("p", "u", "k2")
    assert store.authenticate_token(t1) is None
    t2, _ = store.issue_token("p", "u", 100)
    store.delete_user("p", "u")
    assert store.authenticate_token(t2) is None
    assert store.authenticate_token(tv) is not None
    assert store.count_tokens() == 1


def test_revoke_token(store: IdentityStore) -> None:
    store.create_project("p")
    store.create_user("p", "u", key="k")
    token, _ = store.issue_token("p", "u", 100)
    assert store.revoke_token(token)
    assert not store.revoke_token(token)
    assert store.authenticate_token(token) is None


def test_issue_token_checks(store: IdentityStore) -> None:
    store.create_project("p")
    with pytest.raises(NotFound):
        store.issue_token("p", "ghost", 10)
    store.create_user("p", "u", key="k")
    for bad in (0, -1, 10**9):
        with pytest.raises(IdentityError, match="lifetime"):
            store.issue_token("p", "u", bad)


def test_login(store: IdentityStore) -> None:
    store.create_project("p")
    store.create_user("p", "u", key="k")
    assert store.login("p", "u", "bad", 10) is None
    assert store.count_tokens() == 0
    result = store.login("p", "u", "k", 10)
    assert result is not None
    assert store.authenticate_token(result[0]) == result[1]


def test_persistence_across_reopen(tmp_path: Path, clock: FakeClock) -> None:
    path = tmp_path / "identity"
    with IdentityStore(path, clock=clock) as s:
        s.create_project("p")
        s.create_user("p", "u", key="k", role="reader")
        token, _ = s.issue_token("p", "u", 100)
        access, secret = s.create_credential("p", "u")
    with pytest.raises(IdentityError, match="closed"):
        s.list_projects()
    with IdentityStore(path, clock=clock) as s:
        assert [u.spec for u in s.list_users()] == ["p:u"]
        assert s.check_key("p", "u", "k") is not None
        assert s.authenticate_token(token) is not None
        assert s.lookup_credential(access)[0] == secret


def test_files_are_private(store: IdentityStore, tmp_path: Path) -> None:
    path = tmp_path / "identity"
    assert path.stat().st_mode & 0o777 == 0o700
    for name in ("data.mdb", "lock.mdb"):
        assert (path / name).stat().st_mode & 0o777 == 0o600


def test_two_stores_in_one_process_share_the_environment(tmp_path: Path) -> None:
    a = IdentityStore(tmp_path / "id")
    b = IdentityStore(tmp_path / "id" / ".")
    assert a._env is b._env
    a.create_project("p")
    a.close()
    assert [p.name for p in b.list_projects()] == ["p"]  # still open for b
    b.close()
    with IdentityStore(tmp_path / "id") as c:
        assert [p.name for p in c.list_projects()] == ["p"]


def test_unknown_record_version_is_an_error_not_garbage(store: IdentityStore) -> None:
    store.create_project("p")
    with store._env.begin(write=True) as txn:
        txn.put(b"p", b"\x09junk", db=store._dbs["projects"])
    with pytest.raises(IdentityError, match="unknown format version 9"):
        store.get_project("p")


def test_full_store_is_an_identity_error(tmp_path: Path) -> None:
    with IdentityStore(tmp_path / "small", map_size=64 * 1024) as s:
        s.create_project("first")
        with pytest.raises(IdentityError, match="is full"):
            for i in range(5000):  # bounded: a 64 KiB map fills long before
                s.create_project(f"project-{i:04d}-" + "x" * 40)
        assert s.get_project("first").name == "first"  # the failed write left no damage


_CHILD = textwrap.dedent(
    """
    import sys
    from stratus.identity import IdentityStore
    path, tag, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
    with IdentityStore(path) as s:
        for i in range(count):
            s.create_user("shared", f"{tag}{i}", key="k")
            token, _ = s.issue_token("shared", f"{tag}{i}", 600)
            print(token, flush=True)
    """
)


def test_concurrent_writers_in_other_processes(tmp_path: Path) -> None:
    """Children write while this process writes; nothing is lost, all see all."""
    path = tmp_path / "identity"
    count = 6
    with IdentityStore(path) as s:
        s.create_project("shared")
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        children = [
            subprocess.Popen(
                [sys.executable, "-c", _CHILD, str(path), tag, str(count)],
                stdout=subprocess.PIPE,
                text=True,
                env=env,
            )
            for tag in ("a", "b")
        ]
        for i in range(count):
            s.create_user("shared", f"parent{i}", key="k")
        tokens = []
        for child in children:
            out, _ = child.communicate(timeout=120)
            assert child.returncode == 0
            tokens += out.split()
        assert len(tokens) == 2 * count
        assert len(s.list_users("shared")) == 3 * count
        for token in tokens:
            principal = s.authenticate_token(token)
            assert principal is not None and principal.project == "shared"


def test_missing_user_costs_a_hash_too(
    store: IdentityStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No cheap answer for unknown users: the slow hash runs either way."""
    calls: list[str] = []
    real = store_mod.keyhash.burn_time
    monkeypatch.setattr(store_mod.keyhash, "burn_time", lambda key: calls.append(key) or real(key))
    store.create_project("p")
    assert store.check_key("p", "ghost", "guess") is None
    assert store.check_key("nope", "ghost", "guess") is None
    assert calls == ["guess", "guess"]
