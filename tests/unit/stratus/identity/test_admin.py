from __future__ import annotations

import pytest

from stratus.identity import (
    ADMIN_KEY_FILE,
    AlreadyExists,
    IdentityError,
    IdentityStore,
    NotFound,
    ensure_admin,
    ensure_admin_credential,
)

NO_ENV: dict[str, str] = {}


def test_first_start_generates_and_saves_the_key(store: IdentityStore) -> None:
    key = ensure_admin(store, env=NO_ENV)
    assert key is not None and len(key) == 32
    user = store.get_user("admin", "admin")
    assert user.role == "admin"
    principal = store.check_key("admin", "admin", key)
    assert principal is not None and principal.is_reseller_admin
    saved = store.path / ADMIN_KEY_FILE
    assert saved.read_text().strip() == key
    assert saved.stat().st_mode & 0o777 == 0o600
    assert not [p for p in store.path.iterdir() if p.name.endswith(".tmp")]


def test_later_starts_return_the_same_key(store: IdentityStore) -> None:
    key = ensure_admin(store, env=NO_ENV)
    assert ensure_admin(store, env=NO_ENV) == key
    assert store.ensure_admin(env=NO_ENV) == key  # the method form
    assert len(store.list_users()) == 1


def test_env_key_fixes_and_resets_the_key(store: IdentityStore) -> None:
    generated = ensure_admin(store, env=NO_ENV)
    assert ensure_admin(store, env={"STRATUS_ADMIN_KEY": "fixed-one"}) == "fixed-one"
    assert store.check_key("admin", "admin", "fixed-one") is not None
    assert store.check_key("admin", "admin", generated) is None  # type: ignore[arg-type]
    # A user-supplied key is not written to disk, and the stale file is gone.
    assert not (store.path / ADMIN_KEY_FILE).exists()
    # Without the variable the key stays as it was, but cannot be shown.
    assert ensure_admin(store, env=NO_ENV) is None
    assert store.check_key("admin", "admin", "fixed-one") is not None
    assert ensure_admin(store, env={"STRATUS_ADMIN_KEY": "fixed-two"}) == "fixed-two"
    assert store.check_key("admin", "admin", "fixed-one") is None


def test_explicit_key_argument_wins(store: IdentityStore) -> None:
    env = {"STRATUS_ADMIN_KEY": "from-env"}
    assert ensure_admin(store, key="from-arg", env=env) == "from-arg"
    assert store.check_key("admin", "admin", "from-arg") is not None


def test_bad_env_key_is_refused(store: IdentityStore) -> None:
    with pytest.raises(IdentityError):
        ensure_admin(store, env={"STRATUS_ADMIN_KEY": " padded "})


def test_changed_key_is_not_reported_stale(store: IdentityStore) -> None:
    ensure_admin(store, env=NO_ENV)
    store.set_key("admin", "admin", "changed-by-hand")
    assert ensure_admin(store, env=NO_ENV) is None
    assert store.check_key("admin", "admin", "changed-by-hand") is not None


def test_demoted_admin_is_restored(store: IdentityStore) -> None:
    ensure_admin(store, env=NO_ENV)
    store.set_role("admin", "admin", "reader")
    ensure_admin(store, env=NO_ENV)
    assert store.get_user("admin", "admin").role == "admin"


def test_other_project_and_user(store: IdentityStore) -> None:
    key = ensure_admin(store, "ops", "root", env=NO_ENV)
    assert key is not None
    assert store.check_key("ops", "root", key) is not None


def test_admin_credential_generated_once(store: IdentityStore) -> None:
    with pytest.raises(NotFound):
        ensure_admin_credential(store, env=NO_ENV)
    ensure_admin(store, env=NO_ENV)
    access, secret = ensure_admin_credential(store, env=NO_ENV)
    assert access.startswith("STR") and len(secret) == 40
    assert ensure_admin_credential(store, env=NO_ENV) == (access, secret)
    assert store.ensure_admin_credential(env=NO_ENV) == (access, secret)
    assert len(store.list_credentials()) == 1
    assert store.lookup_credential(access)[1].name == "admin:admin"


def test_admin_credential_from_env(store: IdentityStore) -> None:
    ensure_admin(store, env=NO_ENV)
    env = {"STRATUS_ADMIN_ACCESS_KEY": "ADMINACCESS", "STRATUS_ADMIN_SECRET_KEY": "s3cret"}
    assert ensure_admin_credential(store, env=env) == ("ADMINACCESS", "s3cret")
    assert ensure_admin_credential(store, env=env) == ("ADMINACCESS", "s3cret")
    env["STRATUS_ADMIN_SECRET_KEY"] = "rotated"
    assert ensure_admin_credential(store, env=env) == ("ADMINACCESS", "rotated")
    assert store.lookup_credential("ADMINACCESS")[0] == "rotated"
    assert len(store.list_credentials()) == 1


def test_admin_credential_refuses_half_or_foreign_pairs(store: IdentityStore) -> None:
    ensure_admin(store, env=NO_ENV)
    with pytest.raises(IdentityError, match="set both"):
        ensure_admin_credential(store, env={"STRATUS_ADMIN_ACCESS_KEY": "ONLYACCESS"})
    store.create_project("p")
    store.create_user("p", "u", key="k")
    store.create_credential("p", "u", access="TAKENKEY", secret="x")
    with pytest.raises(AlreadyExists, match="belongs to p:u"):
        ensure_admin_credential(store, "TAKENKEY", "y", env=NO_ENV)
    assert store.lookup_credential("TAKENKEY")[0] == "x"
