"""S3 credentials: access keys whose secrets the S3 API needs back.

SigV4 signs with the secret itself, so unlike user keys the secret must be
stored recoverably; it sits in the identity environment, whose files are
0600 in a 0700 directory. Each credential acts as one user of one project.
"""

from __future__ import annotations

import secrets
import string
from typing import TYPE_CHECKING

from stratus.identity.errors import AlreadyExists, InvalidName, NotFound
from stratus.identity.names import check_access_key, check_name, check_secret, random_key
from stratus.identity.records import Credential, Principal, decode, encode

if TYPE_CHECKING:
    from collections.abc import Callable
    from contextlib import AbstractContextManager

    import lmdb

ACCESS_PREFIX = "STR"
ACCESS_LENGTH = 20
SECRET_LENGTH = 40
_ACCESS_ALPHABET = string.ascii_uppercase + string.digits


def new_access_key() -> str:
    """20 upper-case alphanumerics starting with STR, like AWS's AKIA... ids."""
    tail = ACCESS_LENGTH - len(ACCESS_PREFIX)
    return ACCESS_PREFIX + "".join(secrets.choice(_ACCESS_ALPHABET) for _ in range(tail))


def new_secret() -> str:
    """40 letters and digits (about 238 random bits)."""
    return random_key(SECRET_LENGTH)


class CredentialMixin:
    """The S3 credential half of IdentityStore (it provides the attributes below)."""

    if TYPE_CHECKING:
        _dbs: dict[str, lmdb._Database]
        clock: Callable[[], float]

        def _read(self) -> AbstractContextManager[lmdb.Transaction[bytes]]: ...
        def _write(self) -> AbstractContextManager[lmdb.Transaction[bytes]]: ...

    def create_credential(
        self, project: str, user: str, *, access: str | None = None, secret: str | None = None
    ) -> tuple[str, str]:
        """A new (access key, secret) pair acting as ``project:user``.

        Both are generated unless given (the launcher passes fixed ones from
        the environment).
        """
        check_name("project", project)
        check_name("user", user)
        access = new_access_key() if access is None else check_access_key(access)
        secret = new_secret() if secret is None else check_secret(secret)
        rec = {"project": project, "user": user, "secret": secret, "created": self.clock()}
        with self._write() as txn:
            if txn.get(f"{project}:{user}".encode(), db=self._dbs["users"]) is None:
                raise NotFound(f"user {project}:{user} does not exist")
            if not txn.put(access.encode(), encode(rec), db=self._dbs["creds"], overwrite=False):
                raise AlreadyExists(f"access key {access} exists already")
        return access, secret

    def list_credentials(
        self, project: str | None = None, user: str | None = None
    ) -> list[Credential]:
        """Credentials (without secrets), optionally of one project or one user."""
        if project is not None:
            check_name("project", project)
        if user is not None:
            check_name("user", user)
        out = []
        with self._read() as txn:
            for k, v in txn.cursor(db=self._dbs["creds"]):
                rec = decode(v, "credential")
                if project is not None and rec["project"] != project:
                    continue
                if user is not None and rec["user"] != user:
                    continue
                out.append(Credential(k.decode(), rec["project"], rec["user"], rec["created"]))
        return out

    def delete_credential(self, access: str) -> None:
        check_access_key(access)
        with self._write() as txn:
            if not txn.delete(access.encode(), db=self._dbs["creds"]):
                raise NotFound(f"access key {access} does not exist")

    def lookup_credential(self, access: str) -> tuple[str, Principal]:
        """The secret and principal of an access key; NotFound if unknown.

        A malformed key is NotFound too (it cannot exist), so the S3 API needs
        one ``except`` for InvalidAccessKeyId. Fast and read-only: it runs on
        every S3 request.
        """
        try:
            check_access_key(access)
        except InvalidName:
            raise NotFound("access key does not exist") from None
        with self._read() as txn:
            raw = txn.get(access.encode(), db=self._dbs["creds"])
            if raw is None:
                raise NotFound(f"access key {access} does not exist")
            rec = decode(raw, "credential")
            uraw = txn.get(f"{rec['project']}:{rec['user']}".encode(), db=self._dbs["users"])
            if uraw is None:  # the user went: its credentials go with it
                raise NotFound(f"access key {access} does not exist")
            role = decode(uraw, "user")["role"]
        return rec["secret"], Principal(rec["project"], rec["user"], (role,))

    def _drop_credentials(self, txn: lmdb.Transaction[bytes], project: str, user: str) -> None:
        doomed = []
        for k, v in txn.cursor(db=self._dbs["creds"]):
            rec = decode(v, "credential")
            if rec["project"] == project and rec["user"] == user:
                doomed.append(k)
        for k in doomed:
            txn.delete(k, db=self._dbs["creds"])
