"""Multipart uploads (to come)."""

from __future__ import annotations

from s3compat.context import S3Context


async def abort_all(ctx: S3Context) -> None:
    """Abort every upload in progress in the request's bucket."""
    return None
