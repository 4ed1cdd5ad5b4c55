"""Swift's limits and the checks that enforce them, with Swift's own messages.

The numbers are Swift's defaults and are published by ``GET /info``.
Lengths are counted in UTF-8 bytes, as Swift counts them.
"""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import parse_qsl, unquote_to_bytes

from objectstore.proxy.swift.errors import HTML, SwiftError
from stratus.digits import ascii_uint

MAX_FILE_SIZE = 5 * 1024 * 1024 * 1024 + 2
MAX_META_NAME_LENGTH = 128
MAX_META_VALUE_LENGTH = 256
MAX_META_COUNT = 90
MAX_META_OVERALL_SIZE = 4096
MAX_HEADER_SIZE = 8192
MAX_REQUEST_LINE = 8192  # the HTTP server's limit (handler_args of the app)
MAX_OBJECT_NAME_LENGTH = 1024
CONTAINER_LISTING_LIMIT = 10000
ACCOUNT_LISTING_LIMIT = 10000
MAX_ACCOUNT_NAME_LENGTH = 256
MAX_CONTAINER_NAME_LENGTH = 256
VALID_API_VERSIONS = ("v1", "v1.0")
EXTRA_HEADER_COUNT = 0
AUTO_CREATE_ACCOUNT_PREFIX = "."
MAX_ACL_LENGTH = 4096  # what a storage node keeps in one metadata value
# Starts the names of containers middlewares keep for themselves (Swift's reserved
# namespace starts with a NUL, which the core cannot store): clients never reach them.
RESERVED = "\x01"


def blen(text: str) -> int:
    """Length in UTF-8 bytes (undecodable header bytes count as one each)."""
    return len(text.encode("utf-8", "surrogateescape"))


def is_utf8(text: str) -> bool:
    """False for text that came from bytes that were not valid UTF-8."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def split_path(raw_path: str) -> tuple[str, str, str | None, str | None]:
    """``/v1/<account>[/<container>[/<object>]]`` from the raw (percent-encoded) path.

    As Swift's proxy answers: invalid UTF-8 or a NUL is 412 "Invalid UTF8 or
    contains NULL"; an empty segment before the last one (``/v1//c``,
    ``/v1/a//o``) is 404; an unknown version before an account is 400; a path
    naming no account (``/v1``, ``/v1/``, ``/anything``) is 412 "Bad URL".
    """
    try:
        path = unquote_to_bytes(raw_path).decode("utf-8")
    except UnicodeDecodeError:
        raise SwiftError(412, "Invalid UTF8 or contains NULL", content_type=HTML) from None
    if "\x00" in path:
        raise SwiftError(412, "Invalid UTF8 or contains NULL", content_type=HTML)
    segs = path.split("/", 4)
    if len(segs) > 3 and segs[3].startswith(RESERVED):  # as Swift answers its reserved NUL
        raise SwiftError(412, "Invalid UTF8 or contains NULL", content_type=HTML)
    if segs[0] or len(segs) < 2 or not segs[1] or not all(segs[1:-1]):
        raise SwiftError(404)
    version, account, container, obj = [*segs[1:], "", "", ""][:4]
    if account and version not in VALID_API_VERSIONS:
        raise SwiftError(400)  # Swift's APIVersionError
    if not account or (obj and not container):
        raise SwiftError(412, "Bad URL", content_type=HTML)
    return version, account, container or None, obj or None


# The parameters Swift reads with get_param on every listing (validate_container_params,
# constrain_req_limit, listing_formats): only these must be valid UTF-8.
CHECKED_PARAMS = frozenset(
    [
        "format",
        "limit",
        "marker",
        "end_marker",
        "prefix",
        "delimiter",
        "path",
        "reverse",
        "states",
        "includes",
    ]
)


def parse_query(raw_query: str) -> dict[str, str]:
    """Query parameters (a repeated one: the last, as swob's ``params``).

    400 when one Swift validates is not valid UTF-8 (get_param's message);
    others are kept as they came and never read.
    """
    out: dict[str, str] = {}
    for key, value in parse_qsl(raw_query, keep_blank_values=True, errors="surrogateescape"):
        if key in CHECKED_PARAMS:
            if not is_utf8(value):
                raise SwiftError(400, f'"{key}" parameter not valid UTF-8')
            if "\x00" in value:
                raise SwiftError(412, "Invalid UTF8 or contains NULL")
        out[key] = value
    return out


def check_account_name(name: str) -> None:
    """Swift's account controller: 400, its body labelled text/html as swob's default."""
    if blen(name) > MAX_ACCOUNT_NAME_LENGTH:
        raise SwiftError(
            400,
            f"Account name length of {blen(name)} longer than {MAX_ACCOUNT_NAME_LENGTH}",
            content_type=HTML,
        )


def check_container_name(name: str) -> None:
    """Checked by Swift on container PUT (and copy targets) only; text/html as swob's."""
    if blen(name) > MAX_CONTAINER_NAME_LENGTH:
        raise SwiftError(
            400,
            f"Container name length of {blen(name)} longer than {MAX_CONTAINER_NAME_LENGTH}",
            content_type=HTML,
        )


def check_object_name(name: str) -> None:
    """Checked by Swift when an object is created (check_object_creation): text/plain."""
    if blen(name) > MAX_OBJECT_NAME_LENGTH:
        raise SwiftError(
            400, f"Object name length of {blen(name)} longer than {MAX_OBJECT_NAME_LENGTH}"
        )


def name_too_long(container: str, obj: str | None = None) -> bool:
    """A name no container or object can have: Swift answers 404 for it on reads."""
    return blen(container) > MAX_CONTAINER_NAME_LENGTH or (
        obj is not None and blen(obj) > MAX_OBJECT_NAME_LENGTH
    )


def wsgi_title(name: str) -> str:
    """A header name as Swift's handlers see it (WSGI environ): ``_`` as ``-``, title-cased."""
    raw = name.encode("utf-8", "surrogateescape").replace(b"_", b"-").title()
    return raw.decode("utf-8", "surrogateescape")


def check_metadata(headers: Mapping[str, str], target: str) -> None:
    """Swift's ``check_metadata``: names, sizes and counts of X-<target>-Meta-* headers.

    Messages name the header as Swift's does (``x-object-meta-`` + the
    title-cased rest: ``x-object-meta-Color``).
    """
    prefix = f"x-{target}-meta-"
    count = 0
    size = 0
    for raw_key, value in headers.items():
        key = wsgi_title(raw_key)
        if blen(value) > MAX_HEADER_SIZE:
            raise SwiftError(400, f"Header value too long: {key[:MAX_META_NAME_LENGTH]}")
        lower = key.lower()
        if not lower.startswith(prefix):
            continue
        name = key[len(prefix) :]
        if not name:
            raise SwiftError(400, "Metadata name cannot be empty")
        # Swift refuses bytes that are not UTF-8 in account and container metadata only;
        # an object's metadata takes them (stored as sent).
        if target != "object" and (not is_utf8(name) or not is_utf8(value)):
            raise SwiftError(400, "Metadata must be valid UTF-8")
        count += 1
        size += blen(name) + blen(value)
        if blen(name) > MAX_META_NAME_LENGTH:
            raise SwiftError(400, f"Metadata name too long: {prefix}{name}")
        if blen(value) > MAX_META_VALUE_LENGTH:
            raise SwiftError(
                400, f"Metadata value longer than {MAX_META_VALUE_LENGTH}: {prefix}{name}"
            )
        if count > MAX_META_COUNT:
            raise SwiftError(400, f"Too many metadata items; max {MAX_META_COUNT}")
        if size > MAX_META_OVERALL_SIZE:
            raise SwiftError(400, f"Total metadata too large; max {MAX_META_OVERALL_SIZE}")


def listing_limit(params: Mapping[str, str], maximum: int) -> int:
    """``?limit=``: digits only (anything else is ignored), at most ``maximum`` (else 412)."""
    limit = ascii_uint(params.get("limit", ""))
    if limit is None:
        return maximum
    if limit > maximum:
        raise SwiftError(412, f"Maximum limit is {maximum}", content_type=HTML)
    return limit
