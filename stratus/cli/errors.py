"""One wording for what goes wrong when a `stratus` command talks to the cloud's APIs.

Every message names who asked (``as PROJECT:USER``) and what was asked for,
so that "not found" and "refused" read the same whichever service answered::

    volume 'data' not found in project demo (as demo:bob)
    login as demo:bob refused: wrong key (HTTP 401)
    2 servers are named 'vm1' in project demo (as demo:bob): <id>, <id>; give an ID

Each helper returns a :class:`CommandError` (exit status 1, no traceback);
:func:`translate` maps the clients' exceptions onto them.
"""

from __future__ import annotations

from collections.abc import Sequence

from stratus.cli.main import CommandError

LOGIN_REASONS = {
    401: "wrong key",
    403: "the user may not log in",
    429: "too many failed logins from here; try again later",
}


def project_of(user: str) -> str:
    return user.split(":", 1)[0]


def login_refused(user: str, status: int) -> CommandError:
    why = LOGIN_REASONS.get(status)
    return CommandError(f"login as {user} refused{': ' + why if why else ''} (HTTP {status})")


def not_found(kind: str, ref: str, user: str) -> CommandError:
    return CommandError(f"{kind} {ref!r} not found in project {project_of(user)} (as {user})")


def ambiguous(kind: str, ref: str, ids: Sequence[str], user: str) -> CommandError:
    return CommandError(
        f"{len(ids)} {kind}s are named {ref!r} in project {project_of(user)} (as {user}): "
        f"{', '.join(ids)}; give an ID"
    )


def refused(message: str, status: int, user: str) -> CommandError:
    """An API's refusal, in its own words, with who asked."""
    return CommandError(f"{message.rstrip('.')} (as {user}, HTTP {status})")


def unreachable(service: str, url: str, exc: BaseException) -> CommandError:
    return CommandError(f"cannot reach the {service} service at {url}: {exc}")


def translate(exc: BaseException, user: str, service: str, url: str) -> CommandError | None:
    """The CommandError for a client's exception, or None if it is not one we word."""
    import aiohttp

    status = getattr(exc, "status", None)
    message = getattr(exc, "message", None)
    if isinstance(status, int) and isinstance(message, str) and status >= 400:
        return refused(message or str(exc), status, user)
    if isinstance(exc, TimeoutError):
        return CommandError(f"timed out: {exc} (as {user})" if str(exc) else "timed out")
    if isinstance(exc, aiohttp.ClientError | OSError):
        return unreachable(service, url, exc)
    if type(exc).__name__ in ("VolumeStateError", "ServerStateError"):
        return CommandError(f"{exc} (as {user})")
    return None
