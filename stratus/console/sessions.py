"""Console sessions: in memory only, each bound to an identity token.

A session holds no key and no secret: only the token that the login
issued (through the identity store, like GET /auth/v1.0 does), the CSRF
token of its forms, and, for a login with an S3 access key, that key. The
token is what ends a session early: changing the user's key or deleting
the user revokes its tokens, and every request checks the token again.
A restart of the console ends every session (nothing is written to disk).
"""

from __future__ import annotations

import secrets
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field

MAX_SESSIONS = 10_000


@dataclass
class Session:
    """One logged-in browser."""

    sid: str
    csrf: str
    token: str
    project: str
    user: str
    expires: float
    access_key: str | None = None  # set when the login used an S3 access key
    flashes: list[tuple[str, str]] = field(default_factory=list)

    @property
    def name(self) -> str:
        return f"{self.project}:{self.user}"

    def flash(self, message: str, kind: str = "info") -> None:
        """A message shown once, on the next page drawn (after a redirect)."""
        self.flashes.append((kind, message))
        del self.flashes[:-5]

    def take_flashes(self) -> list[tuple[str, str]]:
        out, self.flashes = self.flashes, []
        return out


class SessionStore:
    """Sessions by their random id; bounded, oldest dropped first."""

    def __init__(
        self, max_sessions: int = MAX_SESSIONS, clock: Callable[[], float] = time.time
    ) -> None:
        self._sessions: OrderedDict[str, Session] = OrderedDict()
        self.max_sessions = max_sessions
        self.clock = clock

    def __len__(self) -> int:
        return len(self._sessions)

    def create(
        self,
        token: str,
        project: str,
        user: str,
        expires: float,
        access_key: str | None = None,
    ) -> Session:
        session = Session(
            sid=secrets.token_urlsafe(32),
            csrf=secrets.token_urlsafe(32),
            token=token,
            project=project,
            user=user,
            expires=expires,
            access_key=access_key,
        )
        self._sessions[session.sid] = session
        while len(self._sessions) > self.max_sessions:
            self._sessions.popitem(last=False)
        return session

    def get(self, sid: str | None) -> Session | None:
        """The live session of a cookie value, or None (an expired one is forgotten)."""
        if not sid or len(sid) > 128:
            return None
        session = self._sessions.get(sid)
        if session is None:
            return None
        if session.expires <= self.clock():
            del self._sessions[sid]
            return None
        return session

    def drop(self, sid: str) -> Session | None:
        return self._sessions.pop(sid, None)
