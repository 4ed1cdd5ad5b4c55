"""The Keystone v3 API on a real aiohttp server on loopback, driven by a real HTTP client."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from multidict import CIMultiDict

from stratus import config
from stratus.authlimit import AuthLimits, FailureLimiter
from stratus.identity import IdentityStore
from stratus.identity.keystone import Catalog, make_app
from stratus.identity.keystone.shapes import id_of
from stratus.identity.names import ROLES
from tests.helpers.net import serve_app

LIFETIME = 3600
ISO = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z")
ADMIN_KEY = "admin-key"


@pytest.fixture
def store(tmp_path: Path) -> Iterator[IdentityStore]:
    s = IdentityStore(tmp_path / "identity")
    s.create_project("admin")
    s.create_user("admin", "admin", key=ADMIN_KEY, role="admin")
    s.create_project("p")
    s.create_user("p", "amy", key="amy-key", role="admin")
    s.create_user("p", "bob", key="bob-key", role="member")
    s.create_user("p", "rob", key="rob-key", role="reader")
    s.create_project("q")
    s.create_user("q", "bob", key="qbob-key", role="member")  # a second "bob"
    yield s
    s.close()


def keystone(store: IdentityStore, **kw: Any) -> web.Application:
    return make_app(store, Catalog.from_config(config.Config()), token_lifetime=LIFETIME, **kw)


@pytest.fixture
async def base(store: IdentityStore) -> AsyncIterator[str]:
    async with serve_app(keystone(store)) as url:
        yield url


async def call(
    method: str, url: str, body: Any = None, headers: dict[str, str] | None = None
) -> tuple[int, CIMultiDict[str], Any]:
    """(status, headers, JSON body or None)."""
    async with (
        aiohttp.ClientSession() as session,
        session.request(method, url, json=body, headers=headers) as resp,
    ):
        text = await resp.text()
        data = None
        if text and resp.content_type == "application/json":
            data = await resp.json()
        return resp.status, CIMultiDict(resp.headers), data


def password_auth(
    name: str, key: str, project: str | None = None, *, domain: Any = None, scope: Any = None
) -> dict[str, Any]:
    user = {"name": name, "domain": domain or {"name": "Default"}, "password": key}
    auth: dict[str, Any] = {"identity": {"methods": ["password"], "password": {"user": user}}}
    if project is not None:
        auth["scope"] = {"project": {"name": project, "domain": {"id": "default"}}}
    if scope is not None:
        auth["scope"] = scope
    return {"auth": auth}


async def login(base: str, name: str, key: str, project: str | None = None) -> tuple[str, Any]:
    status, headers, body = await call(
        "POST", f"{base}/v3/auth/tokens", password_auth(name, key, project)
    )
    assert status == 201, body
    return headers["X-Subject-Token"], body["token"]


def auth(token: str, **extra: str) -> dict[str, str]:
    return {"X-Auth-Token": token, **extra}


# -- version discovery ------------------------------------------------------------------


async def test_version_discovery(base: str) -> None:
    status, _, body = await call("GET", f"{base}/")
    assert status == 300
    (v,) = body["versions"]["values"]
    assert v["id"].startswith("v3.") and v["status"] == "stable"
    assert v["links"] == [{"rel": "self", "href": f"{base}/v3/"}]
    assert v["media-types"] == [
        {"base": "application/json", "type": "application/vnd.openstack.identity-v3+json"}
    ]
    for path in ("/v3", "/v3/"):
        status, _, body = await call("GET", base + path)
        assert status == 200
        assert body["version"] == v


# -- POST /v3/auth/tokens ---------------------------------------------------------------


async def test_password_login_scoped_by_name(base: str, store: IdentityStore) -> None:
    status, headers, body = await call(
        "POST", f"{base}/v3/auth/tokens", password_auth("amy", "amy-key", "p")
    )
    assert status == 201
    token = headers["X-Subject-Token"]
    t = body["token"]
    amy = store.get_user("p", "amy")
    assert t["methods"] == ["password"]
    assert t["user"] == {
        "id": id_of(amy),
        "name": "amy",
        "domain": {"id": "default", "name": "Default"},
        "password_expires_at": None,
    }
    assert t["project"] == {"id": "p", "name": "p", "domain": {"id": "default", "name": "Default"}}
    assert {r["name"] for r in t["roles"]} == {"admin", "member", "reader"}
    assert all(r["id"] == r["name"] for r in t["roles"])
    assert ISO.fullmatch(t["expires_at"]) and ISO.fullmatch(t["issued_at"])
    assert len(t["audit_ids"]) == 1
    # The same token every Stratus service checks.
    principal = store.authenticate_token(token)
    assert principal is not None and (principal.project, principal.user) == ("p", "amy")


async def test_catalog_lists_every_service_for_the_project(base: str) -> None:
    _, t = await login(base, "rob", "rob-key", "p")
    assert [r["name"] for r in t["roles"]] == ["reader"]
    by_type = {e["type"]: e for e in t["catalog"]}
    urls = {k: {ep["url"] for ep in e["endpoints"]} for k, e in by_type.items()}
    assert urls == {
        "identity": {"http://127.0.0.1:5000/v3/"},
        "object-store": {"http://127.0.0.1:8080/v1/AUTH_p"},
        "volumev3": {"http://127.0.0.1:8776/v3/p"},
        "block-storage": {"http://127.0.0.1:8776/v3/p"},
        "image": {"http://127.0.0.1:9292"},
        "compute": {"http://127.0.0.1:8774/v2.1"},
        "network": {"http://127.0.0.1:9696"},
    }
    for entry in t["catalog"]:
        assert re.fullmatch(r"[0-9a-f]{32}", entry["id"]) and entry["name"]
        assert sorted(ep["interface"] for ep in entry["endpoints"]) == [
            "admin",
            "internal",
            "public",
        ]
        assert {ep["region"] for ep in entry["endpoints"]} == {"RegionOne"}
        assert {ep["region_id"] for ep in entry["endpoints"]} == {"RegionOne"}


async def test_login_by_user_id_and_project_id(base: str, store: IdentityStore) -> None:
    uid = id_of(store.get_user("p", "bob"))
    body = {
        "auth": {
            "identity": {
                "methods": ["password"],
                "password": {"user": {"id": uid, "password": "bob-key"}},
            },
            "scope": {"project": {"id": "p"}},
        }
    }
    status, _, resp = await call("POST", f"{base}/v3/auth/tokens", body)
    assert status == 201
    assert resp["token"]["user"]["id"] == uid
    assert resp["token"]["project"]["id"] == "p"


async def test_same_name_in_two_projects_is_told_apart_by_the_scope(base: str) -> None:
    _, t = await login(base, "bob", "qbob-key", "q")
    assert t["project"]["id"] == "q"
    # Without a scope the name is ambiguous: refused like a wrong password.
    status, _, _ = await call("POST", f"{base}/v3/auth/tokens", password_auth("bob", "qbob-key"))
    assert status == 401
    # project:user names the user outright.
    _, t = await login(base, "q:bob", "qbob-key")
    assert t["project"]["id"] == "q"


@pytest.mark.parametrize(
    ("name", "key", "domain"),
    [
        ("amy", "wrong", {"name": "Default"}),
        ("nobody", "amy-key", {"name": "Default"}),
        ("amy", "amy-key", {"name": "Other"}),
        ("amy", "amy-key", {"id": "other"}),
    ],
)
async def test_wrong_credentials_are_401_with_keystone_error(
    base: str, name: str, key: str, domain: dict[str, str]
) -> None:
    status, headers, body = await call(
        "POST", f"{base}/v3/auth/tokens", password_auth(name, key, "p", domain=domain)
    )
    assert status == 401
    assert body == {
        "error": {
            "code": 401,
            "message": "The request you have made requires authentication.",
            "title": "Unauthorized",
        }
    }
    assert headers["WWW-Authenticate"] == f'Keystone uri="{base}"'
    assert "X-Subject-Token" not in headers


async def test_scope_to_a_project_the_user_has_no_role_on_is_401(base: str) -> None:
    status, _, body = await call(
        "POST", f"{base}/v3/auth/tokens", password_auth("amy", "amy-key", "q")
    )
    assert status == 401 and body["error"]["title"] == "Unauthorized"
    status, _, _ = await call(
        "POST",
        f"{base}/v3/auth/tokens",
        password_auth("amy", "amy-key", scope={"domain": {"id": "default"}}),
    )
    assert status == 401


async def test_no_scope_gives_the_users_own_project(base: str) -> None:
    _, t = await login(base, "amy", "amy-key")
    assert t["project"]["id"] == "p" and t["catalog"]


async def test_unscoped_token_and_rescoping(base: str, store: IdentityStore) -> None:
    status, headers, body = await call(
        "POST", f"{base}/v3/auth/tokens", password_auth("amy", "amy-key", scope="unscoped")
    )
    assert status == 201
    unscoped = headers["X-Subject-Token"]
    t = body["token"]
    assert "project" not in t and "catalog" not in t and "roles" not in t
    assert t["user"]["name"] == "amy"
    # No service accepts it, and it has no catalog.
    assert store.authenticate_token(unscoped) is None
    status, _, body = await call("GET", f"{base}/v3/auth/catalog", headers=auth(unscoped))
    assert status == 403 and body["error"]["code"] == 403
    # It lists the projects it may scope to, and rescopes to one.
    status, _, body = await call("GET", f"{base}/v3/auth/projects", headers=auth(unscoped))
    assert status == 200 and [p["id"] for p in body["projects"]] == ["p"]
    rescope = {
        "auth": {
            "identity": {"methods": ["token"], "token": {"id": unscoped}},
            "scope": {"project": {"id": "p"}},
        }
    }
    status, headers, body = await call("POST", f"{base}/v3/auth/tokens", rescope)
    assert status == 201
    r = body["token"]
    assert r["project"]["id"] == "p" and r["catalog"]
    assert set(r["methods"]) == {"password", "token"}
    assert r["expires_at"] <= t["expires_at"]
    assert r["audit_ids"][1] == t["audit_ids"][0] and len(r["audit_ids"]) == 2
    assert store.authenticate_token(headers["X-Subject-Token"]) is not None
    # A bad token cannot be rescoped.
    rescope["auth"]["identity"]["token"]["id"] = "AUTH_tknope"
    status, _, _ = await call("POST", f"{base}/v3/auth/tokens", rescope)
    assert status == 401


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b"{}",
        b'{"auth": {}}',
        b'{"auth": {"identity": {"methods": "password"}}}',
        b'{"auth": {"identity": {"methods": ["password"], "password": {}}}}',
        b'{"auth": {"identity": {"methods": ["password"], "password": {"user": {"name": "a"}}}}}',
    ],
)
async def test_malformed_requests_are_400(base: str, body: bytes) -> None:
    async with (
        aiohttp.ClientSession() as session,
        session.post(
            f"{base}/v3/auth/tokens", data=body, headers={"Content-Type": "application/json"}
        ) as resp,
    ):
        assert resp.status == 400
        err = (await resp.json())["error"]
        assert err["code"] == 400 and err["title"] == "Bad Request"


async def test_unsupported_method_is_401(base: str) -> None:
    body = {"auth": {"identity": {"methods": ["totp"], "totp": {}}}}
    status, _, resp = await call("POST", f"{base}/v3/auth/tokens", body)
    assert status == 401 and resp["error"]["code"] == 401


async def test_failed_logins_are_limited_per_address(store: IdentityStore) -> None:
    limiter = FailureLimiter(AuthLimits(burst=2, per_minute=0.001))
    async with serve_app(keystone(store, limiter=limiter)) as base:
        for _ in range(2):
            status, _, _ = await call(
                "POST", f"{base}/v3/auth/tokens", password_auth("amy", "bad", "p")
            )
            assert status == 401
        status, headers, body = await call(
            "POST", f"{base}/v3/auth/tokens", password_auth("amy", "amy-key", "p")
        )
        assert status == 429 and "Retry-After" in headers and body["error"]["code"] == 429


# -- GET/HEAD/DELETE /v3/auth/tokens, catalog, projects -----------------------------------


async def test_validate_and_revoke(base: str, store: IdentityStore) -> None:
    amy, _ = await login(base, "amy", "amy-key", "p")
    rob, _ = await login(base, "rob", "rob-key", "p")
    admin, _ = await login(base, "admin", ADMIN_KEY, "admin")
    url = f"{base}/v3/auth/tokens"
    status, headers, body = await call("GET", url, headers=auth(amy, **{"X-Subject-Token": amy}))
    assert status == 200 and headers["X-Subject-Token"] == amy
    assert body["token"]["user"]["name"] == "amy" and body["token"]["catalog"]
    status, _, body = await call(
        "GET", f"{url}?nocatalog", headers=auth(amy, **{"X-Subject-Token": amy})
    )
    assert status == 200 and "catalog" not in body["token"]
    status, _, body = await call("HEAD", url, headers=auth(amy, **{"X-Subject-Token": amy}))
    assert status == 200
    # Someone else's token: only the cloud admin may look.
    status, _, _ = await call("GET", url, headers=auth(rob, **{"X-Subject-Token": amy}))
    assert status == 403
    status, _, _ = await call("GET", url, headers=auth(admin, **{"X-Subject-Token": amy}))
    assert status == 200
    status, _, _ = await call("GET", url, headers={"X-Subject-Token": amy})
    assert status == 401
    status, _, _ = await call("DELETE", url, headers=auth(rob, **{"X-Subject-Token": amy}))
    assert status == 403
    status, _, _ = await call("DELETE", url, headers=auth(amy, **{"X-Subject-Token": amy}))
    assert status == 204
    assert store.authenticate_token(amy) is None
    status, _, body = await call("GET", url, headers=auth(admin, **{"X-Subject-Token": amy}))
    assert status == 404 and body["error"]["title"] == "Not Found"


async def test_auth_catalog_and_projects(base: str) -> None:
    tok, t = await login(base, "bob", "bob-key", "p")
    status, _, body = await call("GET", f"{base}/v3/auth/catalog", headers=auth(tok))
    assert status == 200 and body["catalog"] == t["catalog"]
    status, _, body = await call("GET", f"{base}/v3/auth/projects", headers=auth(tok))
    assert status == 200 and [p["name"] for p in body["projects"]] == ["p"]
    assert body["projects"][0]["domain_id"] == "default"
    status, _, _ = await call("GET", f"{base}/v3/auth/catalog")
    assert status == 401


# -- projects, users, roles, assignments, domains ---------------------------------------


async def test_projects_policy_and_writes(base: str, store: IdentityStore) -> None:
    admin, _ = await login(base, "admin", ADMIN_KEY, "admin")
    amy, _ = await login(base, "amy", "amy-key", "p")  # admin of p, not of the cloud
    status, _, body = await call("GET", f"{base}/v3/projects", headers=auth(admin))
    assert status == 200 and [p["id"] for p in body["projects"]] == ["admin", "p", "q"]
    assert body["links"]["self"] == f"{base}/v3/projects"
    status, _, body = await call("GET", f"{base}/v3/projects?name=q", headers=auth(admin))
    assert [p["id"] for p in body["projects"]] == ["q"]
    status, _, _ = await call("GET", f"{base}/v3/projects", headers=auth(amy))
    assert status == 403
    status, _, body = await call("GET", f"{base}/v3/projects/p", headers=auth(amy))
    assert status == 200 and body["project"]["name"] == "p"
    status, _, _ = await call("GET", f"{base}/v3/projects/q", headers=auth(amy))
    assert status == 403
    status, _, _ = await call("GET", f"{base}/v3/projects/nope", headers=auth(admin))
    assert status == 404
    new = {"project": {"name": "new", "domain_id": "default", "description": ""}}
    status, _, _ = await call("POST", f"{base}/v3/projects", new, auth(amy))
    assert status == 403
    status, _, body = await call("POST", f"{base}/v3/projects", new, auth(admin))
    assert status == 201 and body["project"]["id"] == "new"
    assert store.get_project("new").name == "new"
    status, _, body = await call("POST", f"{base}/v3/projects", new, auth(admin))
    assert status == 409 and body["error"]["title"] == "Conflict"
    status, _, _ = await call(
        "POST", f"{base}/v3/projects", {"project": {"name": "a b"}}, auth(admin)
    )
    assert status == 400
    status, _, _ = await call("DELETE", f"{base}/v3/projects/q", headers=auth(admin))
    assert status == 409  # it has users
    status, _, _ = await call("DELETE", f"{base}/v3/projects/new", headers=auth(admin))
    assert status == 204
    assert [p.name for p in store.list_projects()] == ["admin", "p", "q"]


async def test_users_policy_and_writes(base: str, store: IdentityStore) -> None:
    admin, _ = await login(base, "admin", ADMIN_KEY, "admin")
    bob, t = await login(base, "bob", "bob-key", "p")
    bob_id = t["user"]["id"]
    status, _, body = await call("GET", f"{base}/v3/users", headers=auth(admin))
    assert status == 200
    assert sorted(u["name"] for u in body["users"]) == ["admin", "amy", "bob", "bob", "rob"]
    u = next(u for u in body["users"] if u["id"] == bob_id)
    assert u["default_project_id"] == "p" and u["domain_id"] == "default" and u["enabled"]
    status, _, body = await call("GET", f"{base}/v3/users?name=rob", headers=auth(admin))
    assert [u["name"] for u in body["users"]] == ["rob"]
    status, _, _ = await call("GET", f"{base}/v3/users", headers=auth(bob))
    assert status == 403
    status, _, body = await call("GET", f"{base}/v3/users/{bob_id}", headers=auth(bob))
    assert status == 200 and body["user"]["name"] == "bob"
    amy_id = id_of(store.get_user("p", "amy"))
    status, _, _ = await call("GET", f"{base}/v3/users/{amy_id}", headers=auth(bob))
    assert status == 403
    status, _, body = await call("GET", f"{base}/v3/users/{bob_id}/projects", headers=auth(bob))
    assert status == 200 and [p["id"] for p in body["projects"]] == ["p"]
    # Create: needs a project; starts with the weakest role (none of its own, as a new
    # Keystone user has); logs in at once.
    new = {"user": {"name": "cat", "password": "cat-key", "domain_id": "default"}}
    status, _, _ = await call("POST", f"{base}/v3/users", new, auth(admin))
    assert status == 400
    new["user"]["default_project_id"] = "p"
    status, _, _ = await call("POST", f"{base}/v3/users", new, auth(bob))
    assert status == 403
    status, _, body = await call("POST", f"{base}/v3/users", new, auth(admin))
    assert status == 201 and body["user"]["default_project_id"] == "p"
    cat_id = body["user"]["id"]
    assert store.get_user("p", "cat").role == ROLES[-1]
    cat, _ = await login(base, "cat", "cat-key", "p")
    status, _, _ = await call("POST", f"{base}/v3/users", new, auth(admin))
    assert status == 409
    # A new password revokes the user's tokens.
    patch = {"user": {"password": "cat-key-2"}}
    status, _, _ = await call("PATCH", f"{base}/v3/users/{cat_id}", patch, auth(admin))
    assert status == 200
    assert store.authenticate_token(cat) is None
    cat, _ = await login(base, "cat", "cat-key-2", "p")
    # A user changes its own password knowing the old one.
    change = {"user": {"password": "cat-key-3", "original_password": "wrong"}}
    status, _, _ = await call("POST", f"{base}/v3/users/{cat_id}/password", change, auth(cat))
    assert status == 401
    change["user"]["original_password"] = "cat-key-2"
    status, _, _ = await call("POST", f"{base}/v3/users/{cat_id}/password", change, auth(cat))
    assert status == 204
    await login(base, "cat", "cat-key-3", "p")
    status, _, _ = await call("DELETE", f"{base}/v3/users/{cat_id}", headers=auth(bob))
    assert status == 403
    status, _, _ = await call("DELETE", f"{base}/v3/users/{cat_id}", headers=auth(admin))
    assert status == 204
    status, _, _ = await call("GET", f"{base}/v3/users/{cat_id}", headers=auth(admin))
    assert status == 404


async def test_roles_and_assignments(base: str, store: IdentityStore) -> None:
    admin, _ = await login(base, "admin", ADMIN_KEY, "admin")
    rob, t = await login(base, "rob", "rob-key", "p")
    rob_id = t["user"]["id"]
    status, _, body = await call("GET", f"{base}/v3/roles", headers=auth(rob))
    assert status == 200 and [r["name"] for r in body["roles"]] == list(ROLES)
    status, _, body = await call("GET", f"{base}/v3/roles/member", headers=auth(rob))
    assert status == 200 and body["role"]["id"] == "member"
    status, _, _ = await call("POST", f"{base}/v3/roles", {"role": {"name": "x"}}, auth(admin))
    assert status == 403
    url = f"{base}/v3/role_assignments"
    status, _, body = await call("GET", url, headers=auth(admin))
    assert status == 200 and len(body["role_assignments"]) == 5
    status, _, body = await call(
        "GET", f"{url}?user.id={rob_id}&scope.project.id=p&include_names=1", headers=auth(admin)
    )
    (a,) = body["role_assignments"]
    assert a["role"] == {"id": "reader", "name": "reader"}
    assert a["user"] == {
        "id": rob_id,
        "name": "rob",
        "domain": {"id": "default", "name": "Default"},
    }
    assert a["scope"] == {
        "project": {"id": "p", "name": "p", "domain": {"id": "default", "name": "Default"}}
    }
    amy_id = id_of(store.get_user("p", "amy"))
    status, _, body = await call("GET", f"{url}?user.id={amy_id}&effective", headers=auth(admin))
    assert sorted(a["role"]["id"] for a in body["role_assignments"]) == [
        "admin",
        "member",
        "reader",
    ]
    # Anyone else sees its own assignments only.
    status, _, body = await call("GET", url, headers=auth(rob))
    assert status == 200 and [a["user"]["id"] for a in body["role_assignments"]] == [rob_id]
    # Grants replace the one role; other projects and revoking the only role are refused.
    grant = f"{base}/v3/projects/p/users/{rob_id}/roles/member"
    status, _, _ = await call("PUT", grant, headers=auth(rob))
    assert status == 403
    status, _, _ = await call("PUT", grant, headers=auth(admin))
    assert status == 204 and store.get_user("p", "rob").role == "member"
    status, _, _ = await call("HEAD", grant, headers=auth(admin))
    assert status == 204
    status, _, _ = await call(
        "HEAD", f"{base}/v3/projects/p/users/{rob_id}/roles/admin", headers=auth(admin)
    )
    assert status == 404
    status, _, body = await call(
        "GET", f"{base}/v3/projects/p/users/{rob_id}/roles", headers=auth(admin)
    )
    assert [r["id"] for r in body["roles"]] == ["member"]
    status, _, _ = await call(
        "PUT", f"{base}/v3/projects/q/users/{rob_id}/roles/member", headers=auth(admin)
    )
    assert status == 400
    status, _, _ = await call("DELETE", grant, headers=auth(admin))
    assert status == 409
    status, _, _ = await call(
        "PUT", f"{base}/v3/projects/p/users/{rob_id}/roles/nope", headers=auth(admin)
    )
    assert status == 404


async def test_domains(base: str) -> None:
    tok, _ = await login(base, "rob", "rob-key", "p")
    status, _, body = await call("GET", f"{base}/v3/domains", headers=auth(tok))
    assert status == 200 and [(d["id"], d["name"]) for d in body["domains"]] == [
        ("default", "Default")
    ]
    status, _, body = await call("GET", f"{base}/v3/domains/default", headers=auth(tok))
    assert status == 200 and body["domain"]["enabled"] is True
    status, _, _ = await call("GET", f"{base}/v3/domains/other", headers=auth(tok))
    assert status == 404


async def test_unknown_paths_and_methods_answer_keystone_errors(base: str) -> None:
    status, _, body = await call("GET", f"{base}/v3/nope")
    assert status == 404 and body["error"]["code"] == 404
    status, headers, body = await call("PUT", f"{base}/v3/auth/tokens")
    assert status == 405 and body["error"]["title"] == "Method Not Allowed"
    assert "Allow" in headers
    status, _, body = await call("GET", f"{base}/v3/users")
    assert status == 401 and body["error"]["title"] == "Unauthorized"


async def test_ec2_credentials_are_the_s3_credentials(base: str, store: IdentityStore) -> None:
    admin, _ = await login(base, "admin", ADMIN_KEY, "admin")
    bob, t = await login(base, "bob", "bob-key", "p")
    rob, _ = await login(base, "rob", "rob-key", "p")
    url = f"{base}/v3/users/{t['user']['id']}/credentials/OS-EC2"
    status, _, body = await call("POST", url, {"tenant_id": "p"}, auth(bob))
    assert status == 201
    cred = body["credential"]
    assert cred["tenant_id"] == "p" and cred["user_id"] == t["user"]["id"]
    secret, principal = store.lookup_credential(cred["access"])
    assert secret == cred["secret"] and (principal.project, principal.user) == ("p", "bob")
    status, _, _ = await call("POST", url, {"tenant_id": "q"}, auth(bob))
    assert status == 403
    status, _, _ = await call("POST", url, {"tenant_id": "p"}, auth(rob))  # someone else's
    assert status == 403
    status, _, body = await call("GET", url, headers=auth(bob))
    assert status == 200 and [c["access"] for c in body["credentials"]] == [cred["access"]]
    status, _, body = await call("GET", f"{url}/{cred['access']}", headers=auth(admin))
    assert status == 200 and body["credential"]["secret"] == cred["secret"]
    status, _, _ = await call("DELETE", f"{url}/{cred['access']}", headers=auth(rob))
    assert status == 403
    status, _, _ = await call("DELETE", f"{url}/{cred['access']}", headers=auth(bob))
    assert status == 204
    assert store.list_credentials("p", "bob") == []
    status, _, _ = await call("GET", f"{url}/{cred['access']}", headers=auth(bob))
    assert status == 404


@pytest.mark.parametrize("suffix", ["", "/v3"])
async def test_keystoneauth_discovers_and_logs_in(base: str, suffix: str) -> None:
    """keystoneauth1's generic plugin: version discovery from / or /v3, then a v3 login."""
    from keystoneauth1 import session as ks_session
    from keystoneauth1.identity import generic

    def log_in() -> tuple[str, str, str]:
        plugin = generic.Password(
            auth_url=base + suffix,
            username="amy",
            password="amy-key",
            project_name="p",
            user_domain_name="Default",
            project_domain_name="Default",
        )
        sess = ks_session.Session(auth=plugin)
        ref = plugin.get_access(sess)
        url = sess.get_endpoint(service_type="object-store", interface="public")
        return ref.auth_token, ref.project_id, url

    token, project, url = await asyncio.to_thread(log_in)
    assert token.startswith("AUTH_tk") and project == "p"
    assert url == "http://127.0.0.1:8080/v1/AUTH_p"
