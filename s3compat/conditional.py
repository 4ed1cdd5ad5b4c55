"""Conditional requests as S3 answers them (GetObject, HeadObject, CopyObject sources).

The conditions are judged by :mod:`objectstore.proxy.conditional` (RFC
order, which is also S3's documented special cases); S3's part is the
answer. A stopped read is NotModified (304) or PreconditionFailed (412)
naming the condition; If-Modified-Since counts on every request, and a
current copy on a write or a copy source is a 412 naming If-None-Match.
"""

from __future__ import annotations

from collections.abc import Mapping

from objectstore.proxy.conditional import evaluate as judge
from s3compat.errors import S3Error


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
    verdict = judge(
        etag,
        last_modified,
        if_match=headers.get(prefix + "if-match"),
        if_unmodified_since=headers.get(prefix + "if-unmodified-since"),
        if_none_match=headers.get(prefix + "if-none-match"),
        if_modified_since=headers.get(prefix + "if-modified-since"),
    )
    if verdict is None:
        return
    if not verdict.not_modified:
        raise _failed(prefix + verdict.value)
    if reading and not prefix:
        raise S3Error("NotModified", headers=extra_headers)
    raise _failed(prefix + "If-None-Match")


def _failed(condition: str) -> S3Error:
    return S3Error("PreconditionFailed", extra={"Condition": condition})
