"""The store's Keystone extras (unscoped tokens, rescoping limits) and the catalog's URLs."""

from __future__ import annotations

from pathlib import Path

import msgpack
import pytest

from stratus import config
from stratus.identity import IdentityError, IdentityStore
from stratus.identity.keystone.catalog import Catalog
from stratus.identity.names import ROLES, effective_roles
from stratus.identity.store import _digest
from tests.unit.stratus.identity.conftest import FakeClock


@pytest.fixture
def store(tmp_path: Path, clock: FakeClock) -> IdentityStore:
    s = IdentityStore(tmp_path / "identity", clock=clock)
    s.create_project("p")
    s.create_user("p", "amy", key="amy-key", role="member")
    return s


def test_unscoped_tokens_prove_identity_but_open_nothing(store: IdentityStore) -> None:
    token, _ = store.issue_token("p", "amy", 60, scoped=False)
    assert store.authenticate_token(token) is None
    info = store.token_info(token)
    assert info is not None and not info.scoped and info.principal.user == "amy"


def test_token_info_keeps_methods_and_chains_audit_ids(store: IdentityStore) -> None:
    first, _ = store.issue_token("p", "amy", 60)
    a = store.token_info(first)
    assert a is not None and a.methods == ("password",) and len(a.audit_ids) == 1
    second, _ = store.issue_token(
        "p", "amy", 60, methods=("password", "token"), audit_ids=a.audit_ids
    )
    b = store.token_info(second)
    assert b is not None and b.methods == ("password", "token")
    assert b.audit_ids[1] == a.audit_ids[0] and b.audit_ids[0] != a.audit_ids[0]


def test_a_rescoped_token_never_outlives_its_parent(store: IdentityStore, clock: FakeClock) -> None:
    _, p = store.issue_token("p", "amy", 60)
    clock.advance(30)
    _, child = store.issue_token("p", "amy", 3600, expires_at=p.expires)
    assert child.expires == p.expires
    clock.advance(31)
    with pytest.raises(IdentityError):
        store.issue_token("p", "amy", 3600, expires_at=p.expires)


def test_tokens_stored_before_keystone_still_work(store: IdentityStore) -> None:
    """A token record without the new fields (written by an older Stratus) reads as scoped."""
    token = "AUTH_tkold"
    rec = {"project": "p", "user": "amy", "expires": store.clock() + 60, "issued": store.clock()}
    with store._write() as txn:
        txn.put(_digest(token), bytes([1]) + msgpack.packb(rec), db=store._dbs["tokens"])
    principal = store.authenticate_token(token)
    assert principal is not None and principal.user == "amy"
    info = store.token_info(token)
    assert info is not None and info.scoped and info.methods == ("password",)


def test_effective_roles_follow_keystone_implications() -> None:
    assert effective_roles("admin") == ("admin", "member", "reader")
    assert effective_roles("member") == ("member", "reader")
    assert effective_roles("reader") == ("reader",)
    assert all(effective_roles(r) == (r,) for r in ROLES if r not in ("admin", "member"))


def test_catalog_urls_follow_the_configuration() -> None:
    cfg = config.load(
        env={
            "STRATUS_PROXY_PORT": "18080",
            "STRATUS_VOLUME_HOST": "0.0.0.0",
            "STRATUS_IDENTITY_REGION": "west",
            "STRATUS_IDENTITY_NETWORK_URL": "http://net.example:9696",
            "STRATUS_IDENTITY_PUBLIC_URL": "https://keystone.example/",
        }
    )
    c = Catalog.from_config(cfg)
    urls = {t: u for t, _, u in c.services("demo")}
    assert urls["object-store"] == "http://127.0.0.1:18080/v1/AUTH_demo"
    assert urls["volumev3"] == "http://127.0.0.1:8776/v3/demo"
    assert urls["network"] == "http://net.example:9696"
    assert urls["identity"] == "https://keystone.example/v3/"
    assert {e["region"] for s in c.entries("demo") for e in s["endpoints"]} == {"west"}
    cfg = config.load(env={"STRATUS_IDENTITY_CATALOG_HOST": "cloud.example"})
    urls = {t: u for t, _, u in Catalog.from_config(cfg).services("demo")}
    assert urls["compute"] == "http://cloud.example:8774/v2.1"
    assert urls["image"] == "http://cloud.example:9292"
    assert urls["network"] == "http://cloud.example:9696"  # network.port, not compute's


@pytest.mark.parametrize(
    ("var", "value"),
    [
        ("STRATUS_IDENTITY_PORT", "70000"),
        ("STRATUS_IDENTITY_PUBLIC_URL", "ftp://x"),
        ("STRATUS_IDENTITY_NETWORK_URL", "nohost"),
        ("STRATUS_IDENTITY_REGION", "a b"),
        ("STRATUS_IDENTITY_CATALOG_HOST", "a/b"),
    ],
)
def test_bad_identity_options_are_refused(var: str, value: str) -> None:
    with pytest.raises(config.ConfigError):
        config.load(env={var: value})
