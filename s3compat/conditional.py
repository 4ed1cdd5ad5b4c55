"""Conditional requests as S3 judges them (GetObject, HeadObject, CopyObject sources).

RFC 7232's order, which is also S3's documented special cases: If-Match
true wins over a false If-Unmodified-Since (200), and If-None-Match false
wins over a true If-Modified-Since (304). Last-Modified is whole seconds,
rounded up as both APIs show it.
"""

from __future__ import annotations

import email.utils
import math
from collections.abc import Mapping
from datetime import UTC

from s3compat.errors import S3Error


def parse_http_date(value: str | None) -> float | None:
    if not value:
        return None
    try:
        parsed = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if parsed is None:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.timestamp()


def etags(value: str | None) -> set[str] | None:
    if value is None:
        return None
    out = set()
    for raw in value.split(","):
        tag = raw.strip().removeprefix("W/").strip('"')
        if tag:
            out.add(tag)
    return out


def _hit(tags: set[str], etag: str) -> bool:
    return "*" in tags or etag in tags


def evaluate(
    headers: Mapping[str, str],
    etag: str,
    last_modified: float,
    *,
    prefix: str = "",
    reading: bool = True,
    extra_headers: Mapping[str, str] | None = None,
) -> None:
    """Raise NotModified (304) or PreconditionFailed (412) when a condition fails.

    ``prefix`` selects ``x-amz-copy-source-`` conditions; a failed copy
    condition is always 412.
    """
    modified = math.ceil(last_modified)
    if_match = etags(headers.get(prefix + "if-match"))
    if if_match is not None:
        if not _hit(if_match, etag):
            raise _failed(prefix + "If-Match")
    else:
        since = parse_http_date(headers.get(prefix + "if-unmodified-since"))
        if since is not None and modified > since:
            raise _failed(prefix + "If-Unmodified-Since")
    if_none = etags(headers.get(prefix + "if-none-match"))
    not_modified = False
    if if_none is not None:
        not_modified = _hit(if_none, etag)
    else:
        since = parse_http_date(headers.get(prefix + "if-modified-since"))
        not_modified = since is not None and modified <= since
    if not_modified:
        if reading and not prefix:
            raise S3Error("NotModified", headers=extra_headers)
        raise _failed(prefix + "If-None-Match")


def _failed(condition: str) -> S3Error:
    return S3Error("PreconditionFailed", extra={"Condition": condition})
