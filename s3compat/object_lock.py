"""Object Lock: Get/PutObjectLockConfiguration, Get/PutObjectRetention, Get/PutObjectLegalHold.

AWS's model (see :mod:`s3compat.lock_state` for where the state lives). A
bucket created with ``x-amz-bucket-object-lock-enabled: true`` (or given a
configuration while versioning is Enabled) has Object Lock for good, and
its versioning can no longer be suspended. A version under retention or a
legal hold cannot be deleted: DeleteObject with a version id (and the
entries of DeleteObjects) answer AccessDenied, while a delete without a
version id only adds a delete marker and an overwrite a new version, as
on AWS. A GOVERNANCE retention gives way (shortened, removed, or its
version deleted) to a request with ``x-amz-bypass-governance-retention:
true`` from a caller with ``s3:BypassGovernanceRetention``: the owning
project's members and admins, or another project a policy allows; a policy
Deny of that action wins over both. A COMPLIANCE retention is never
shortened and its mode never changes, whoever asks. Below S3, the core
refuses to delete a retained version through any API
(:mod:`objectstore.common.retention`).
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from objectstore.common import retention
from objectstore.proxy import errors as core_errors
from objectstore.proxy.models import ObjectInfo, ObjectRow
from s3compat import access, lock_state, meta, namespace, segment_lock, versioning, xmlio
from s3compat.context import S3Context, empty, xml_response
from s3compat.errors import S3Error
from s3compat.router import Permission
from stratus.digits import ascii_uint

BYPASS_ACTION = "s3:BypassGovernanceRetention"
CREATE_HEADER = "x-amz-bucket-object-lock-enabled"
LOCKED_MESSAGE = "Access Denied because object protected by object lock."
_DIGEST_MESSAGE = "Content-MD5 OR x-amz-checksum- HTTP header is required for this request"


def locked_denied() -> S3Error:
    return S3Error("AccessDenied", LOCKED_MESSAGE)


def bucket_system_for_create(ctx: S3Context) -> dict[str, str]:
    """CreateBucket's ``x-amz-bucket-object-lock-enabled``: the new bucket's lock entries."""
    raw = ctx.headers.get(CREATE_HEADER)
    if raw is None or raw.strip().lower() == "false":
        return {}
    if raw.strip().lower() != "true":
        raise S3Error("InvalidArgument", f"Invalid value for {CREATE_HEADER}: {raw[:64]}")
    return {
        lock_state.LOCK: lock_state.ENABLED,
        versioning.STATUS: "Enabled",
        retention.CONTAINER_FLAG: "on",
    }


async def flag_versions_container(ctx: S3Context, account: str, bucket: str) -> None:
    """The hidden versions container holds retained versions too: the core must know."""
    await ctx.core.put_container(
        account, versioning.container_for(bucket), system={retention.CONTAINER_FLAG: "on"}
    )


def may_bypass(ctx: S3Context) -> bool:
    """``x-amz-bypass-governance-retention: true`` from a caller with the permission."""
    if (ctx.headers.get(lock_state.BYPASS_HEADER) or "").strip().lower() != "true":
        return False
    assert ctx.bucket is not None
    try:
        return access.check(ctx, ctx.bucket, Permission.OWNER, BYPASS_ACTION, ctx.s3.key)
    except S3Error:
        return False


def _active(ctx: S3Context, system: dict[str, str]) -> float | None:
    """The retain-until date of a retention still running, else None."""
    until = retention.retain_until(system)
    if until is None or until <= ctx.settings.clock().timestamp():
        return None
    return until


def check_delete(ctx: S3Context, system: dict[str, str]) -> None:
    """May this request delete the version with these entries for good? (AccessDenied)."""
    if system.get(retention.LEGAL_HOLD) == retention.HOLD_ON:
        raise locked_denied()
    if _active(ctx, system) is None:
        return
    if system.get(lock_state.MODE) == "GOVERNANCE" and may_bypass(ctx):
        ctx.extra[lock_state.BYPASSED] = True
        return
    raise locked_denied()


async def check_version_delete(ctx: S3Context) -> None:
    """DeleteObject (or one DeleteObjects entry) with a version id, in a lock bucket."""
    vid = ctx.query.get("versionId")
    assert ctx.bucket is not None
    if vid is None or not lock_state.enabled(ctx.bucket.system):
        return
    versioning.check_version_id(vid)
    info = await _version_info(ctx, vid)
    if info is not None:
        check_delete(ctx, info.system)


async def _version_info(ctx: S3Context, vid: str) -> ObjectInfo | None:
    """The stored info of version ``vid`` (None: absent, or a delete marker)."""
    cur = await versioning.current(ctx)
    if cur is not None and versioning.version_of(cur) == vid:
        return cur
    entry = await versioning.find_entry(ctx, ctx.key, vid)
    if entry is None or versioning.is_marker(entry):
        return None
    if isinstance(entry, ObjectInfo):
        return entry
    assert isinstance(entry, ObjectRow)
    cont = versioning.container_for(ctx.bucket_name)
    try:
        return await ctx.core.head_object(ctx.account, cont, entry.name, raw=True)
    except core_errors.NotFound:
        return None


# --- bucket configuration -------------------------------------------------------


def _rule_xml(rule: str) -> dict[str, Any]:
    mode, unit, count = rule.split()
    return {"DefaultRetention": {"Mode": mode, unit: count}}


async def handle_get_object_lock_configuration(ctx: S3Context) -> web.StreamResponse:
    assert ctx.bucket is not None
    system = ctx.bucket.system
    if not lock_state.enabled(system):
        raise S3Error("ObjectLockConfigurationNotFoundError", extra={"BucketName": ctx.bucket_name})
    doc: dict[str, Any] = {"ObjectLockEnabled": lock_state.ENABLED}
    if system.get(lock_state.RULE):
        doc["Rule"] = _rule_xml(system[lock_state.RULE])
    return xml_response("ObjectLockConfiguration", doc)


def _period(value: str | None, limit: int) -> int:
    text = value.strip() if value is not None else ""
    digits = ascii_uint(text.removeprefix("-"))  # not isdigit(): "²" is a digit int() refuses
    if digits is None:
        raise S3Error("MalformedXML")
    n = -digits if text.startswith("-") else digits
    if n <= 0:
        raise S3Error(
            "InvalidArgument", "Default retention period must be a positive integer value"
        )
    if n > limit:
        raise S3Error("InvalidArgument", "Default retention period too large")
    return n


def parse_rule(root: Any) -> str:
    """The default retention of a configuration (``""``: none), as stored."""
    rule = root.find("Rule")
    if rule is None:
        return ""
    default = rule.find("DefaultRetention")
    if default is None:
        raise S3Error("MalformedXML")
    mode = xmlio.text(default, "Mode")
    if mode not in lock_state.MODES:
        raise S3Error("MalformedXML")
    days, years = xmlio.text(default, "Days"), xmlio.text(default, "Years")
    if (days is None) == (years is None):
        raise S3Error("MalformedXML")
    if days is not None:
        return f"{mode} Days {_period(days, lock_state.MAX_DAYS)}"
    return f"{mode} Years {_period(years, lock_state.MAX_YEARS)}"


async def handle_put_object_lock_configuration(ctx: S3Context) -> web.StreamResponse:
    assert ctx.bucket is not None
    lock_state.require_digest(ctx, _DIGEST_MESSAGE)
    root = await ctx.read_xml("ObjectLockConfiguration")
    if xmlio.text(root, "ObjectLockEnabled") != lock_state.ENABLED:
        raise S3Error("MalformedXML")
    rule = parse_rule(root)
    if not lock_state.enabled(ctx.bucket.system) and versioning.status(ctx) != "Enabled":
        raise S3Error(
            "InvalidBucketState",
            "Versioning must be 'Enabled' on the bucket to apply a Object Lock configuration",
        )
    await flag_versions_container(ctx, ctx.account, ctx.bucket_name)
    system = {
        lock_state.LOCK: lock_state.ENABLED,
        lock_state.RULE: rule,
        retention.CONTAINER_FLAG: "on",
    }
    await ctx.core.post_container(ctx.account, ctx.bucket_name, system=system)
    await namespace.refresh(ctx)
    return empty(200)


# --- retention and legal hold of one version ------------------------------------


def _version_header(info: ObjectInfo) -> dict[str, str]:
    vid = info.system.get(meta.VERSION_ID)
    return {"x-amz-version-id": vid} if vid else {}


def _parse_retention(root: Any) -> tuple[str, float] | None:
    mode = xmlio.text(root, "Mode")
    date = xmlio.text(root, "RetainUntilDate")
    if mode is None and date is None:
        return None  # an empty Retention removes it (GOVERNANCE, with the bypass)
    if mode not in lock_state.MODES or date is None:
        raise S3Error("MalformedXML")
    try:
        return mode, lock_state.parse_date(date)
    except S3Error:
        raise S3Error("MalformedXML") from None


def _check_change(ctx: S3Context, system: dict[str, str], new: tuple[str, float] | None) -> None:
    """A running retention may be extended; weakened only GOVERNANCE, with the bypass."""
    until = _active(ctx, system)
    if until is None:
        return
    mode = system.get(lock_state.MODE)
    weaker = new is None or new[1] < until
    if mode == "COMPLIANCE":
        if weaker or new is None or new[0] != "COMPLIANCE":
            raise locked_denied()
        return
    if weaker and not may_bypass(ctx):
        raise locked_denied()


async def handle_put_object_retention(ctx: S3Context) -> web.StreamResponse:
    lock_state.require_enabled(ctx)
    lock_state.require_digest(ctx, _DIGEST_MESSAGE)
    new = _parse_retention(await ctx.read_xml("Retention"))
    if new is not None:
        lock_state.check_future(ctx, new[1])
    info = await versioning.head_for_request(ctx)
    system = dict(info.system)
    _check_change(ctx, system, new)
    for name in (lock_state.MODE, retention.RETAIN_UNTIL):
        system.pop(name, None)
    if new is not None:
        system.update(lock_state.retention_entries(*new))
    await versioning.set_system(ctx, info, system)
    await segment_lock.follow(ctx, *await versioning.location(ctx), system, info.system)
    return empty(200, _version_header(info))


async def handle_get_object_retention(ctx: S3Context) -> web.StreamResponse:
    lock_state.require_enabled(ctx)
    info = await versioning.head_for_request(ctx)
    until = retention.retain_until(info.system)
    mode = info.system.get(lock_state.MODE)
    if until is None or mode is None:
        raise _no_lock_configuration()
    doc = {"Mode": mode, "RetainUntilDate": lock_state.show_date(until)}
    return xml_response("Retention", doc)


def _no_lock_configuration() -> S3Error:
    return S3Error("NoSuchObjectLockConfiguration")


async def handle_put_object_legal_hold(ctx: S3Context) -> web.StreamResponse:
    lock_state.require_enabled(ctx)
    lock_state.require_digest(ctx, _DIGEST_MESSAGE)
    status = xmlio.text(await ctx.read_xml("LegalHold"), "Status")
    if status not in lock_state.HOLDS:
        raise S3Error("MalformedXML")
    info = await versioning.head_for_request(ctx)
    system = {**info.system, retention.LEGAL_HOLD: status}
    await versioning.set_system(ctx, info, system)
    await segment_lock.follow(ctx, *await versioning.location(ctx), system, info.system)
    return empty(200, _version_header(info))


async def handle_get_object_legal_hold(ctx: S3Context) -> web.StreamResponse:
    lock_state.require_enabled(ctx)
    info = await versioning.head_for_request(ctx)
    status = info.system.get(retention.LEGAL_HOLD)
    if status not in lock_state.HOLDS:
        raise _no_lock_configuration()
    return xml_response("LegalHold", {"Status": status})
