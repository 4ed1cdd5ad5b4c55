"""The identity store: projects, users, keys and tokens in one LMDB environment.

Everything lives under ``<data>/identity/`` so the CLI can change users
while the servers run (LMDB serialises writers across processes and every
write is synced before it returns). Layout, one sub-database each:

- ``projects``: ``name`` -> {created}
- ``users``: ``project:user`` -> {role, key (scrypt params + hash), created}
- ``tokens``: sha256(token) -> {project, user, expires, issued}
- ``token_expiry``: be64(expires ms) + sha256 -> ""   (reaping, oldest first)
- ``user_tokens``: ``project:user`` NUL be64(expires ms) + sha256 -> ""   (revocation)
- ``creds``: access key -> {project, user, secret, created}   (see credentials.py)

Tokens are random, so a plain sha256 suffices to keep a stolen database
from yielding usable tokens; keys are guessable, so they get scrypt.
"""

from __future__ import annotations

import hashlib
import secrets
import struct
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import lmdb

from stratus.identity import admin, keyhash, lmdbenv
from stratus.identity.credentials import CredentialMixin
from stratus.identity.errors import AlreadyExists, IdentityError, NotFound
from stratus.identity.names import check_key, check_name, check_role, random_key
from stratus.identity.records import Principal, Project, TokenInfo, User, decode, encode

TOKEN_PREFIX = "AUTH_tk"
MAX_TOKEN_LIFETIME = 366 * 86400
# A user logging in in a loop must not grow the store without bound.
MAX_TOKENS_PER_USER = 1000
# Expired tokens removed by each login, so reaping keeps up without a daemon.
REAP_PER_LOGIN = 64
_MAX_TOKEN_LENGTH = 256
_BE64 = struct.Struct(">Q")


class IdentityStore(CredentialMixin):
    """Projects, users with roles, hashed keys, expiring tokens and S3 credentials.

    Safe to use from several threads and processes at once. ``clock`` returns
    Unix seconds; tests inject one to expire tokens without waiting.
    """

    def __init__(
        self,
        path: str | Path,
        *,
        clock: Callable[[], float] = time.time,
        map_size: int = lmdbenv.DEFAULT_MAP_SIZE,
    ) -> None:
        self.path = Path(path)
        self.clock = clock
        self._key, self._shared = lmdbenv.acquire(self.path, map_size)
        self._env = self._shared.env
        self._dbs = self._shared.dbs
        self._closed = False
        with self._write() as txn:
            if txn.get(b"format", db=self._dbs["meta"]) is None:
                txn.put(b"format", encode({"layout": 1}), db=self._dbs["meta"])

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            lmdbenv.release(self._key, self._shared)

    def __enter__(self) -> IdentityStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- transactions -------------------------------------------------------

    @contextmanager
    def _read(self) -> Iterator[lmdb.Transaction[bytes]]:
        self._check_open()
        with self._env.begin() as txn:
            yield txn

    @contextmanager
    def _write(self) -> Iterator[lmdb.Transaction[bytes]]:
        self._check_open()
        try:
            with self._env.begin(write=True) as txn:
                yield txn
        except lmdb.MapFullError:
            raise IdentityError(f"identity store {self.path} is full") from None

    def _check_open(self) -> None:
        if self._closed:
            raise IdentityError("identity store is closed")

    # -- projects -----------------------------------------------------------

    def create_project(self, name: str) -> Project:
        check_name("project", name)
        created = self.clock()
        with self._write() as txn:
            if not txn.put(
                name.encode(),
                encode({"created": created}),
                db=self._dbs["projects"],
                overwrite=False,
            ):
                raise AlreadyExists(f"project {name} exists already")
        return Project(name, created)

    def get_project(self, name: str) -> Project:
        check_name("project", name)
        with self._read() as txn:
            raw = txn.get(name.encode(), db=self._dbs["projects"])
        if raw is None:
            raise NotFound(f"project {name} does not exist")
        return Project(name, decode(raw, "project")["created"])

    def list_projects(self) -> list[Project]:
        with self._read() as txn:
            return [
                Project(k.decode(), decode(v, "project")["created"])
                for k, v in txn.cursor(db=self._dbs["projects"])
            ]

    def delete_project(self, name: str, *, force: bool = False) -> None:
        """Delete a project; with ``force`` also its users, tokens and credentials.

        The project's storage account and its data are not touched: that is
        the object store's business.
        """
        check_name("project", name)
        with self._write() as txn:
            if txn.get(name.encode(), db=self._dbs["projects"]) is None:
                raise NotFound(f"project {name} does not exist")
            users = self._user_keys(txn, name)
            if users and not force:
                raise IdentityError(
                    f"project {name} still has {len(users)} user(s); delete them first "
                    "or force the deletion"
                )
            for ukey in users:
                self._drop_user(txn, ukey)
            txn.delete(name.encode(), db=self._dbs["projects"])

    # -- users --------------------------------------------------------------

    def create_user(
        self, project: str, user: str, *, role: str = "member", key: str | None = None
    ) -> str:
        """Create ``project:user`` and return its key (generated when not given)."""
        check_name("project", project)
        check_name("user", user)
        check_role(role)
        key = random_key() if key is None else check_key(key)
        record = encode({"role": role, "key": keyhash.hash_key(key), "created": self.clock()})
        with self._write() as txn:
            if txn.get(project.encode(), db=self._dbs["projects"]) is None:
                raise NotFound(f"project {project} does not exist")
            if not txn.put(_ukey(project, user), record, db=self._dbs["users"], overwrite=False):
                raise AlreadyExists(f"user {project}:{user} exists already")
        return key

    def get_user(self, project: str, user: str) -> User:
        check_name("project", project)
        check_name("user", user)
        with self._read() as txn:
            raw = txn.get(_ukey(project, user), db=self._dbs["users"])
        if raw is None:
            raise NotFound(f"user {project}:{user} does not exist")
        rec = decode(raw, "user")
        return User(project, user, rec["role"], rec["created"])

    def list_users(self, project: str | None = None) -> list[User]:
        """All users, or those of one project, sorted by project then name."""
        if project is not None:
            check_name("project", project)
        out = []
        with self._read() as txn:
            cur = txn.cursor(db=self._dbs["users"])
            prefix = b"" if project is None else project.encode() + b":"
            if cur.set_range(prefix):
                for k, v in cur:
                    if not k.startswith(prefix):
                        break
                    p, u = k.decode().split(":")
                    rec = decode(v, "user")
                    out.append(User(p, u, rec["role"], rec["created"]))
        return out

    def delete_user(self, project: str, user: str) -> None:
        """Delete a user with its tokens and S3 credentials."""
        check_name("project", project)
        check_name("user", user)
        with self._write() as txn:
            if not self._drop_user(txn, _ukey(project, user)):
                raise NotFound(f"user {project}:{user} does not exist")

    def set_role(self, project: str, user: str, role: str) -> None:
        check_role(role)
        self._update_user(project, user, {"role": role})

    def set_key(self, project: str, user: str, key: str | None = None) -> str:
        """Replace a user's key (generated when not given) and revoke its tokens."""
        key = random_key() if key is None else check_key(key)
        self._update_user(project, user, {"key": keyhash.hash_key(key)}, revoke=True)
        return key

    def check_key(self, project: str, user: str, key: str) -> Principal | None:
        """The principal if ``key`` is the user's key, else None; always slow.

        Runs scrypt (tens of ms, CPU-bound): call it from a worker thread in
        a server. A missing user costs the same as a wrong key.
        """
        check_name("project", project)
        check_name("user", user)
        try:
            check_key(key)
        except IdentityError:
            return None
        with self._read() as txn:
            raw = txn.get(_ukey(project, user), db=self._dbs["users"])
        if raw is None:
            keyhash.burn_time(key)
            return None
        rec = decode(raw, "user")
        if not keyhash.verify_key(key, rec["key"]):
            return None
        return Principal(project, user, (rec["role"],))

    def _update_user(
        self, project: str, user: str, changes: dict[str, Any], *, revoke: bool = False
    ) -> None:
        check_name("project", project)
        check_name("user", user)
        ukey = _ukey(project, user)
        with self._write() as txn:
            raw = txn.get(ukey, db=self._dbs["users"])
            if raw is None:
                raise NotFound(f"user {project}:{user} does not exist")
            txn.put(ukey, encode({**decode(raw, "user"), **changes}), db=self._dbs["users"])
            if revoke:
                self._drop_user_tokens(txn, ukey)

    def _user_keys(self, txn: lmdb.Transaction[bytes], project: str) -> list[bytes]:
        prefix = project.encode() + b":"
        cur = txn.cursor(db=self._dbs["users"])
        keys = []
        if cur.set_range(prefix):
            for k in cur.iternext(keys=True, values=False):
                if not k.startswith(prefix):
                    break
                keys.append(k)
        return keys

    def _drop_user(self, txn: lmdb.Transaction[bytes], ukey: bytes) -> bool:
        if not txn.delete(ukey, db=self._dbs["users"]):
            return False
        self._drop_user_tokens(txn, ukey)
        project, user = ukey.decode().split(":")
        self._drop_credentials(txn, project, user)
        return True

    # -- tokens -------------------------------------------------------------

    def issue_token(
        self,
        project: str,
        user: str,
        lifetime: float,
        *,
        scoped: bool = True,
        methods: tuple[str, ...] = ("password",),
        audit_ids: tuple[str, ...] = (),
        expires_at: float | None = None,
    ) -> tuple[str, Principal]:
        """A new token for an existing user, valid ``lifetime`` seconds.

        Keystone's extras: an unscoped token (``scoped=False``) proves who the
        user is but is refused by :meth:`authenticate_token`, so no service
        honours it; ``methods`` and ``audit_ids`` are kept for token bodies
        (a new audit id is put first); ``expires_at`` caps the expiry (a
        rescoped token never outlives the one it came from).

        Also reaps a few expired tokens and caps the user's live tokens, so
        the store stays bounded without a background task.
        """
        check_name("project", project)
        check_name("user", user)
        if not 0 < lifetime <= MAX_TOKEN_LIFETIME:
            raise IdentityError(f"token lifetime must be in (0, {MAX_TOKEN_LIFETIME}] seconds")
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        digest = _digest(token)
        ukey = _ukey(project, user)
        now = self.clock()
        expires = now + lifetime if expires_at is None else min(now + lifetime, expires_at)
        if expires <= now:
            raise IdentityError("token would be expired already")
        audit = [secrets.token_urlsafe(16), *audit_ids[:1]]
        with self._write() as txn:
            raw = txn.get(ukey, db=self._dbs["users"])
            if raw is None:
                raise NotFound(f"user {project}:{user} does not exist")
            role = decode(raw, "user")["role"]
            self._reap(txn, now, REAP_PER_LOGIN)
            self._cap_user_tokens(txn, ukey, MAX_TOKENS_PER_USER - 1)
            rec = {"project": project, "user": user, "expires": expires, "issued": now}
            if not scoped:
                rec["scoped"] = False
            rec["methods"] = list(methods)
            rec["audit_ids"] = audit
            txn.put(digest, encode(rec), db=self._dbs["tokens"])
            txn.put(_ms(expires) + digest, b"", db=self._dbs["token_expiry"])
            txn.put(ukey + b"\0" + _ms(expires) + digest, b"", db=self._dbs["user_tokens"])
        return token, Principal(project, user, (role,), expires)

    def login(
        self, project: str, user: str, key: str, lifetime: float
    ) -> tuple[str, Principal] | None:
        """Check the key and issue a token: what GET /auth/v1.0 does. Slow (scrypt)."""
        if self.check_key(project, user, key) is None:
            return None
        try:
            return self.issue_token(project, user, lifetime)
        except NotFound:  # deleted between the check and the issue
            return None

    def authenticate_token(self, token: str) -> Principal | None:
        """The principal a live token stands for, or None. Fast and read-only.

        Roles are read from the user now, so a role change applies at once;
        expired tokens are refused here and removed by later logins or
        :meth:`reap_expired_tokens`. Unscoped (Keystone) tokens are refused:
        they grant nothing in any project.
        """
        info = self.token_info(token)
        if info is None or not info.scoped:
            return None
        return info.principal

    def token_info(self, token: str) -> TokenInfo | None:
        """Everything about a live token, scoped or not (Keystone's token bodies), or None."""
        if (
            not isinstance(token, str)
            or not token.startswith(TOKEN_PREFIX)
            or len(token) > _MAX_TOKEN_LENGTH
        ):
            return None
        with self._read() as txn:
            raw = txn.get(_digest(token), db=self._dbs["tokens"])
            if raw is None:
                return None
            rec = decode(raw, "token")
            if rec["expires"] <= self.clock():
                return None
            uraw = txn.get(_ukey(rec["project"], rec["user"]), db=self._dbs["users"])
            if uraw is None:
                return None
            user = decode(uraw, "user")
        return TokenInfo(
            Principal(rec["project"], rec["user"], (user["role"],), rec["expires"]),
            issued=rec["issued"],
            user_created=user["created"],
            scoped=rec.get("scoped", True),
            methods=tuple(rec.get("methods", ("password",))),
            audit_ids=tuple(rec.get("audit_ids", ())),
        )

    def revoke_token(self, token: str) -> bool:
        """Forget a token (logout); False if it was not known."""
        if not isinstance(token, str) or len(token) > _MAX_TOKEN_LENGTH:
            return False
        with self._write() as txn:
            return self._drop_token(txn, _digest(token))

    def reap_expired_tokens(self, limit: int = 10000) -> int:
        """Remove up to ``limit`` expired tokens; returns how many went."""
        with self._write() as txn:
            return self._reap(txn, self.clock(), limit)

    def count_tokens(self) -> int:
        """Stored tokens, live or not yet reaped (for tests and metrics)."""
        with self._read() as txn:
            return txn.stat(self._dbs["tokens"])["entries"]

    def _reap(self, txn: lmdb.Transaction[bytes], now: float, limit: int) -> int:
        cut = _ms(now)
        doomed = []
        cur = txn.cursor(db=self._dbs["token_expiry"])
        for k in cur.iternext(keys=True, values=False):
            if k[:8] > cut or len(doomed) >= limit:
                break
            doomed.append(k[8:])
        for digest in doomed:
            self._drop_token(txn, digest)
        return len(doomed)

    def _cap_user_tokens(self, txn: lmdb.Transaction[bytes], ukey: bytes, keep: int) -> None:
        prefix = ukey + b"\0"
        cur = txn.cursor(db=self._dbs["user_tokens"])
        mine = []
        if cur.set_range(prefix):
            for k in cur.iternext(keys=True, values=False):
                if not k.startswith(prefix):
                    break
                mine.append(k[len(prefix) + 8 :])
        # Sorted by expiry: the first ones are the oldest.
        for digest in mine[: max(0, len(mine) - keep)]:
            self._drop_token(txn, digest)

    def _drop_user_tokens(self, txn: lmdb.Transaction[bytes], ukey: bytes) -> None:
        self._cap_user_tokens(txn, ukey, 0)

    def _drop_token(self, txn: lmdb.Transaction[bytes], digest: bytes) -> bool:
        raw = txn.get(digest, db=self._dbs["tokens"])
        if raw is None:
            return False
        rec = decode(raw, "token")
        exp = _ms(rec["expires"])
        txn.delete(digest, db=self._dbs["tokens"])
        txn.delete(exp + digest, db=self._dbs["token_expiry"])
        ukey = _ukey(rec["project"], rec["user"])
        txn.delete(ukey + b"\0" + exp + digest, db=self._dbs["user_tokens"])
        return True

    # -- the embedded admin (see admin.py) -------------------------------------

    def ensure_admin(
        self, project: str = "admin", user: str = "admin", key: str | None = None, **kw: Any
    ) -> str | None:
        """See :func:`stratus.identity.admin.ensure_admin`."""
        return admin.ensure_admin(self, project, user, key, **kw)

    def ensure_admin_credential(
        self, access: str | None = None, secret: str | None = None, **kw: Any
    ) -> tuple[str, str]:
        """See :func:`stratus.identity.admin.ensure_admin_credential`."""
        return admin.ensure_admin_credential(self, access, secret, **kw)


def _ukey(project: str, user: str) -> bytes:
    return f"{project}:{user}".encode()


def _digest(token: str) -> bytes:
    return hashlib.sha256(token.encode("utf-8")).digest()


def _ms(seconds: float) -> bytes:
    return _BE64.pack(max(0, int(seconds * 1000)))
