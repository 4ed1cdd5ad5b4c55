"""Object Lock state: what a bucket and a version hold, parsed and shown as AWS does.

A bucket with Object Lock keeps ``s3-object-lock: Enabled`` (and its
default retention, ``s3-object-lock-rule``: ``"GOVERNANCE Days 30"``) in its
container's system metadata. A version's retention is in its own system
entries: the core's ``retain-until`` and ``legal-hold``
(:mod:`objectstore.common.retention`: the core refuses to delete a retained
version whichever API asks, and a retained version never expires) and
S3's ``s3-lock-mode`` (GOVERNANCE or COMPLIANCE). The handlers are in
:mod:`s3compat.object_lock`; this module holds what writes and reads of
objects need (no import of versioning, which calls it).
"""

from __future__ import annotations

import calendar
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta

from objectstore.common import retention
from s3compat import xmlio
from s3compat.context import S3Context
from s3compat.errors import S3Error

LOCK = "s3-object-lock"
RULE = "s3-object-lock-rule"
MODE = "s3-lock-mode"
ENABLED = "Enabled"
MODES = ("GOVERNANCE", "COMPLIANCE")
HOLDS = ("ON", "OFF")
MAX_DAYS = 36500
MAX_YEARS = 100

MODE_HEADER = "x-amz-object-lock-mode"
DATE_HEADER = "x-amz-object-lock-retain-until-date"
HOLD_HEADER = "x-amz-object-lock-legal-hold"
BYPASS_HEADER = "x-amz-bypass-governance-retention"
MISSING_CONFIG = "Bucket is missing Object Lock Configuration"
#: ``ctx.extra`` flag: deleting the request's retained version was judged allowed (a bypass).
BYPASSED = "lock_bypassed"


def enabled(system: Mapping[str, str]) -> bool:
    """Whether the bucket with these system entries has Object Lock."""
    return system.get(LOCK) == ENABLED


def require_enabled(ctx: S3Context) -> None:
    """InvalidRequest, as AWS, for a lock operation on a bucket without Object Lock."""
    assert ctx.bucket is not None
    if not enabled(ctx.bucket.system):
        raise S3Error("InvalidRequest", MISSING_CONFIG)


def require_digest(ctx: S3Context, message: str) -> None:
    """Object Lock requests must carry Content-MD5 or a checksum (AWS)."""
    body = ctx.body
    if body is None or (body.content_md5 is None and body.checksum_algorithm is None):
        raise S3Error("InvalidRequest", message)


def parse_date(value: str) -> float:
    """An ISO 8601 date and time (UTC when no zone is given) as epoch seconds."""
    try:
        when = datetime.fromisoformat(value.strip())
    except ValueError:
        raise S3Error(
            "InvalidArgument", "The retain until date must be provided in ISO 8601 format"
        ) from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.timestamp()


def show_date(seconds: float) -> str:
    return xmlio.iso8601(datetime.fromtimestamp(seconds, UTC))


def check_future(ctx: S3Context, until: float) -> None:
    if until <= ctx.settings.clock().timestamp():
        raise S3Error("InvalidArgument", "The retain until date must be in the future!")


def retention_entries(mode: str, until: float) -> dict[str, str]:
    return {MODE: mode, retention.RETAIN_UNTIL: f"{until:.3f}"}


def entries_from_headers(ctx: S3Context) -> dict[str, str]:
    """The retention and legal hold a write asks for in its ``x-amz-object-lock-*`` headers."""
    h = ctx.headers
    mode, date, hold = h.get(MODE_HEADER), h.get(DATE_HEADER), h.get(HOLD_HEADER)
    if mode is None and date is None and hold is None:
        return {}
    assert ctx.bucket is not None
    if not enabled(ctx.bucket.system):
        raise S3Error("InvalidRequest", MISSING_CONFIG)
    if ctx.s3.op.name == "PutObject":
        require_digest(
            ctx,
            "Content-MD5 OR x-amz-checksum- HTTP header is required for Put Object requests "
            "with Object Lock parameters",
        )
    out: dict[str, str] = {}
    if (mode is None) != (date is None):
        raise S3Error(
            "InvalidArgument",
            "x-amz-object-lock-retain-until-date and x-amz-object-lock-mode must both be supplied",
        )
    if mode is not None and date is not None:
        if mode not in MODES:
            raise S3Error("InvalidArgument", "Unknown wormMode directive.")
        until = parse_date(date)
        check_future(ctx, until)
        out.update(retention_entries(mode, until))
    if hold is not None:
        if hold not in HOLDS:
            raise S3Error("InvalidArgument", "Legal Hold must be either of 'ON' or 'OFF'")
        out[retention.LEGAL_HOLD] = hold
    return out


def add_years(start: datetime, years: int) -> datetime:
    """``start`` ``years`` later on the calendar (29 February becomes the 28th)."""
    year = start.year + years
    day = min(start.day, calendar.monthrange(year, start.month)[1])
    return start.replace(year=year, day=day)


def with_default(ctx: S3Context, system: dict[str, str] | None) -> dict[str, str]:
    """A new version's system entries, with the bucket's default retention if it asked none."""
    out = dict(system or {})
    assert ctx.bucket is not None
    rule = ctx.bucket.system.get(RULE)
    if not rule or not enabled(ctx.bucket.system) or MODE in out:
        return out
    mode, unit, count = rule.split()
    now = ctx.settings.clock()
    n = int(count)
    until = now + timedelta(days=n) if unit == "Days" else add_years(now, n)
    out.update(retention_entries(mode, until.timestamp()))
    return out


def response_headers(system: Mapping[str, str]) -> dict[str, str]:
    """What GET and HEAD say about a version's lock (nothing when it has none)."""
    out: dict[str, str] = {}
    until = retention.retain_until(system)
    if system.get(MODE) in MODES and until is not None:
        out[MODE_HEADER] = system[MODE]
        out[DATE_HEADER] = show_date(until)
    if system.get(retention.LEGAL_HOLD) in HOLDS:
        out[HOLD_HEADER] = system[retention.LEGAL_HOLD]
    return out
