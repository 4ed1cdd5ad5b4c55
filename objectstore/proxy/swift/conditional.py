"""Conditional requests (RFC 7232) as Swift answers them for objects.

Evaluated in the RFC's order: If-Match, else If-Unmodified-Since (412 on
failure); then If-None-Match, else If-Modified-Since (304 for GET and HEAD,
412 for other methods). Last-Modified has one-second resolution: Swift
rounds the object's timestamp up, so a client echoing the header it was
sent sees "not modified".
"""

from __future__ import annotations

import datetime
import email.utils
import math
from collections.abc import Mapping


def http_date(seconds: float) -> str:
    """RFC 7231 IMF-fixdate of ``seconds``, rounded up like Swift's Last-Modified."""
    return email.utils.formatdate(math.ceil(seconds), usegmt=True)


def parse_http_date(value: str | None) -> float | None:
    """Seconds since the epoch, or None for anything that is not an HTTP date."""
    if not value:
        return None
    try:
        parsed = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if parsed is None:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=datetime.UTC)
    return parsed.timestamp()


def etag_set(value: str | None) -> set[str] | None:
    """The entity tags of an If-Match / If-None-Match header (quotes and W/ dropped)."""
    if value is None:
        return None
    tags = set()
    for raw in value.split(","):
        tag = raw.strip()
        if tag.startswith("W/"):
            tag = tag[2:]
        tag = tag.strip('"')
        if tag:
            tags.add(tag)
    return tags


def _matches(tags: set[str], etag: str) -> bool:
    return "*" in tags or etag in tags


def evaluate(
    method: str, headers: Mapping[str, str], etag: str, last_modified: float
) -> int | None:
    """304 or 412 when a precondition stops the request, else None (go ahead)."""
    modified = math.ceil(last_modified)
    if_match = etag_set(headers.get("If-Match"))
    if if_match is not None:
        if not _matches(if_match, etag):
            return 412
    else:
        since = parse_http_date(headers.get("If-Unmodified-Since"))
        if since is not None and modified > since:
            return 412
    reading = method in ("GET", "HEAD")
    if_none = etag_set(headers.get("If-None-Match"))
    if if_none is not None:
        if _matches(if_none, etag):
            return 304 if reading else 412
    elif reading:
        since = parse_http_date(headers.get("If-Modified-Since"))
        if since is not None and modified <= since:
            return 304
    return None


def missing_object_status(headers: Mapping[str, str]) -> int:
    """Status for a missing object: Swift answers ``If-Match: *`` with 412, else 404."""
    tags = etag_set(headers.get("If-Match"))
    return 412 if tags is not None and "*" in tags else 404
