"""Conditional requests (RFC 7232) as Swift answers them for objects.

The conditions are judged by :mod:`objectstore.proxy.conditional`; Swift's
part is the answer: a failed If-Match or If-Unmodified-Since is 412, a
matching If-None-Match is 304 for GET and HEAD and 412 for other methods,
and If-Modified-Since counts only for GET and HEAD.
"""

from __future__ import annotations

from collections.abc import Mapping

from objectstore.proxy.conditional import etag_set
from objectstore.proxy.conditional import evaluate as judge


def evaluate(
    method: str, headers: Mapping[str, str], etag: str, last_modified: float
) -> int | None:
    """304 or 412 when a precondition stops the request, else None (go ahead)."""
    reading = method in ("GET", "HEAD")
    verdict = judge(
        etag,
        last_modified,
        if_match=headers.get("If-Match"),
        if_unmodified_since=headers.get("If-Unmodified-Since"),
        if_none_match=headers.get("If-None-Match"),
        if_modified_since=headers.get("If-Modified-Since") if reading else None,
    )
    if verdict is None:
        return None
    return 304 if verdict.not_modified and reading else 412


def missing_object_status(headers: Mapping[str, str]) -> int:
    """Status for a missing object: Swift answers ``If-Match: *`` with 412, else 404."""
    tags = etag_set(headers.get("If-Match"))
    return 412 if tags is not None and "*" in tags else 404
