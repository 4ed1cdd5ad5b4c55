"""HTTP conditional requests (RFC 9110 section 13), judged once for every front-end.

The order is the RFC's: If-Match, else If-Unmodified-Since (a failed
precondition); then If-None-Match, else If-Modified-Since (the client's
copy is current). So If-Match true wins over a false If-Unmodified-Since,
and If-None-Match false wins over a true If-Modified-Since, which are also
S3's documented special cases. Last-Modified has one-second resolution:
the object's timestamp is rounded up as it is shown, so a client echoing
the header it was sent sees "not modified".

Protocol-neutral: each front-end picks the header values it honours (S3
also judges its ``x-amz-copy-source-`` ones, Swift ignores If-Modified-Since
on writes) and words the :class:`Verdict` in its own protocol.
"""

from __future__ import annotations

import email.utils
import enum
import math
from datetime import UTC

from objectstore.timestamp import Timestamp


class Verdict(enum.Enum):
    """The condition that stops a request; the value is its header's name."""

    IF_MATCH = "If-Match"
    IF_UNMODIFIED_SINCE = "If-Unmodified-Since"
    IF_NONE_MATCH = "If-None-Match"
    IF_MODIFIED_SINCE = "If-Modified-Since"

    @property
    def not_modified(self) -> bool:
        """The client's copy is current (304 on reads), not a failed precondition (412)."""
        return self in (Verdict.IF_NONE_MATCH, Verdict.IF_MODIFIED_SINCE)


def http_date(ts: Timestamp | float) -> str:
    """Last-Modified as both APIs show it: RFC 7231 IMF-fixdate, whole seconds rounded up."""
    return email.utils.formatdate(math.ceil(float(ts)), usegmt=True)


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
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.timestamp()


def etag_set(value: str | None) -> set[str] | None:
    """The entity tags of an If-Match / If-None-Match header (quotes and W/ dropped)."""
    if value is None:
        return None
    tags = set()
    for raw in value.split(","):
        tag = raw.strip().removeprefix("W/").strip('"')
        if tag:
            tags.add(tag)
    return tags


def _matches(tags: set[str], etag: str) -> bool:
    return "*" in tags or etag in tags


def evaluate(
    etag: str,
    last_modified: float,
    *,
    if_match: str | None = None,
    if_unmodified_since: str | None = None,
    if_none_match: str | None = None,
    if_modified_since: str | None = None,
) -> Verdict | None:
    """The condition that stops the request, or None (go ahead)."""
    modified = math.ceil(last_modified)
    tags = etag_set(if_match)
    if tags is not None:
        if not _matches(tags, etag):
            return Verdict.IF_MATCH
    else:
        since = parse_http_date(if_unmodified_since)
        if since is not None and modified > since:
            return Verdict.IF_UNMODIFIED_SINCE
    tags = etag_set(if_none_match)
    if tags is not None:
        if _matches(tags, etag):
            return Verdict.IF_NONE_MATCH
    else:
        since = parse_http_date(if_modified_since)
        if since is not None and modified <= since:
            return Verdict.IF_MODIFIED_SINCE
    return None
