"""The names and sizes the proxy core stores, checked before any node is asked."""

from __future__ import annotations

from objectstore.proxy import errors

MAX_FILE_SIZE = 5 * 1024 * 1024 * 1024 + 2  # Swift's default max_file_size
MAX_OBJECT_NAME = 1024
MAX_CONTAINER_NAME = 256
MAX_ACCOUNT_NAME = 256


def check_name(kind: str, name: str, limit: int) -> None:
    """Names the core stores: non-empty UTF-8, no NUL, at most ``limit`` bytes."""
    if not name:
        raise errors.InvalidInput(f"{kind} name is empty")
    try:
        size = len(name.encode("utf-8"))
    except UnicodeEncodeError:
        raise errors.InvalidInput(f"{kind} name is not valid UTF-8") from None
    if "\x00" in name:
        raise errors.InvalidInput(f"{kind} name contains NUL")
    if size > limit:
        raise errors.InvalidInput(f"{kind} name longer than {limit} bytes")
    if kind != "object" and "/" in name:
        raise errors.InvalidInput(f"{kind} name contains '/'")
