"""Bucket lifecycle configuration: Get/Put/DeleteBucketLifecycleConfiguration.

The rules are validated as AWS does, then kept as compact JSON in the
bucket's system metadata (``s3-lifecycle``), so they live and replicate with
the bucket. Buckets with rules are also named in an index container of the
S3 registry account, so that a lifecycle pass (:mod:`s3compat.lifecycle_run`)
finds them without walking every bucket. This module also tells which rule
expires a current object and when (the ``x-amz-expiration`` header).

Days. AWS counts a rule's days from the object's creation and rounds the
result up to the next midnight UTC. With ``s3.lifecycle_debug_day_seconds``
set, a "day" lasts that many seconds and nothing is rounded (as Ceph's
``rgw_lc_debug_interval``), so tests see rules act within seconds.
"""

from __future__ import annotations

import contextlib
import json
import math
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime
from functools import lru_cache
from typing import TYPE_CHECKING, Any
from xml.etree.ElementTree import Element

from aiohttp import web

from objectstore.proxy import errors as core_errors
from objectstore.proxy.models import ObjectMetadata
from s3compat import meta, namespace, system_text, xmlio
from s3compat.context import S3Context, empty, xml_response
from s3compat.errors import S3Error
from stratus.digits import ascii_uint

if TYPE_CHECKING:
    from objectstore.proxy.core import ProxyCore

LIFECYCLE_KEY = "s3-lifecycle"
INDEX_CONTAINER = "lifecycle"  # in namespace.REGISTRY_ACCOUNT: "<account>/<bucket>"
MAX_RULES = 1000
MAX_ID = 255
MAX_STORED = 1024 * 1024  # as large as the request body may be (context.MAX_XML_REQUEST)
DAY = 86400
ACTIONS = ("Expiration", "NoncurrentVersionExpiration", "AbortIncompleteMultipartUpload")
UNSUPPORTED = ("Transition", "NoncurrentVersionTransition")


@dataclass
class Filter:
    """Which objects a rule applies to; ``form`` remembers how it was written."""

    form: str = "none"  # none | legacy | empty | prefix | tag | gt | lt | and
    prefix: str = ""
    tags: list[tuple[str, str]] = field(default_factory=list[tuple[str, str]])
    gt: int | None = None  # ObjectSizeGreaterThan
    lt: int | None = None  # ObjectSizeLessThan

    def matches(self, key: str, size: int, tags: list[tuple[str, str]] | None) -> bool:
        if not key.startswith(self.prefix):
            return False
        if self.gt is not None and not size > self.gt:
            return False
        if self.lt is not None and not size < self.lt:
            return False
        if self.tags:
            have = set(tags or [])
            return all(t in have for t in self.tags)
        return True


@dataclass
class Rule:
    id: str
    enabled: bool
    filter: Filter
    days: int | None = None
    date: float | None = None  # epoch seconds (midnight UTC)
    expired_marker: bool = False
    noncurrent_days: int | None = None
    newer_noncurrent: int | None = None
    abort_days: int | None = None


# -- parsing -------------------------------------------------------------


def _malformed(message: str | None = None) -> S3Error:
    return S3Error("MalformedXML", message)


def _positive(value: str | None, what: str, action: str) -> int:
    number = ascii_uint(value.strip()) if value is not None else None
    if number is None or number <= 0:
        raise S3Error("InvalidArgument", f"'{what}' for {action} action must be a positive integer")
    return number


def _size(value: str | None) -> int:
    number = ascii_uint(value.strip()) if value is not None else None
    if number is None:
        raise _malformed()
    return number


def _tag(elem: Element) -> tuple[str, str]:
    key, value = xmlio.text(elem, "Key"), xmlio.text(elem, "Value")
    if key is None or value is None:
        raise _malformed()
    return key, value


def _parse_filter(elem: Element) -> Filter:
    children = list(elem)
    if not children:
        return Filter(form="empty")
    if len(children) > 1:
        raise _malformed()
    child = children[0]
    if child.tag == "Prefix":
        return Filter(form="prefix", prefix=child.text or "")
    if child.tag == "Tag":
        return Filter(form="tag", tags=[_tag(child)])
    if child.tag == "ObjectSizeGreaterThan":
        return Filter(form="gt", gt=_size(child.text))
    if child.tag == "ObjectSizeLessThan":
        return Filter(form="lt", lt=_size(child.text))
    if child.tag != "And":
        raise _malformed()
    f = Filter(form="and")
    for part in child:
        if part.tag == "Prefix":
            f.prefix = part.text or ""
        elif part.tag == "Tag":
            f.tags.append(_tag(part))
        elif part.tag == "ObjectSizeGreaterThan":
            f.gt = _size(part.text)
        elif part.tag == "ObjectSizeLessThan":
            f.lt = _size(part.text)
        else:
            raise _malformed()
    if len({k for k, _v in f.tags}) != len(f.tags):
        raise S3Error("InvalidRequest", "Duplicate Tag Keys are not allowed.")
    return f


def _parse_date(value: str) -> float:
    text = value.strip()
    try:
        when = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise _malformed() from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    seconds = when.timestamp()
    if seconds % DAY:
        raise S3Error("InvalidRequest", "'Date' must be at midnight GMT")
    return seconds


def _parse_expiration(rule: Rule, elem: Element) -> None:
    days, date = xmlio.text(elem, "Days"), xmlio.text(elem, "Date")
    marker = xmlio.text(elem, "ExpiredObjectDeleteMarker")
    if sum(v is not None for v in (days, date, marker)) != 1:
        raise _malformed()
    if days is not None:
        rule.days = _positive(days, "Days", "Expiration")
    elif date is not None:
        rule.date = _parse_date(date)
    else:
        assert marker is not None
        flag = marker.strip().lower()
        if flag not in ("true", "false"):
            raise _malformed()
        rule.expired_marker = flag == "true"


def _parse_rule(elem: Element) -> Rule:
    rule_id = xmlio.text(elem, "ID") or ""
    if len(rule_id) > MAX_ID:
        raise S3Error("InvalidArgument", "ID length should not exceed allowed limit of 255")
    status = xmlio.text(elem, "Status")
    if status not in ("Enabled", "Disabled"):
        raise _malformed()
    legacy, filt = elem.find("Prefix"), elem.find("Filter")
    if (legacy is None) == (filt is None):
        raise _malformed()
    if legacy is not None:
        f = Filter(form="legacy", prefix=legacy.text or "")
    else:
        assert filt is not None
        f = _parse_filter(filt)
    if f.gt is not None and f.lt is not None and f.gt >= f.lt:
        raise S3Error(
            "InvalidRequest", "ObjectSizeGreaterThan must be less than ObjectSizeLessThan"
        )
    rule = Rule(id=rule_id, enabled=status == "Enabled", filter=f)
    for name in UNSUPPORTED:
        if elem.find(name) is not None:
            raise S3Error("InvalidStorageClass", "The storage class you specified is not valid")
    for name in ACTIONS:
        if len(elem.findall(name)) > 1:
            raise _malformed()
    exp = elem.find("Expiration")
    if exp is not None:
        _parse_expiration(rule, exp)
        if rule.expired_marker and f.tags:
            raise S3Error(
                "InvalidRequest", "ExpiredObjectDeleteMarker cannot be specified with tags."
            )
    nc = elem.find("NoncurrentVersionExpiration")
    if nc is not None:
        action = "NoncurrentVersionExpiration"
        rule.noncurrent_days = _positive(xmlio.text(nc, "NoncurrentDays"), "NoncurrentDays", action)
        newer = xmlio.text(nc, "NewerNoncurrentVersions")
        if newer is not None:
            rule.newer_noncurrent = _positive(newer, "NewerNoncurrentVersions", action)
    abort = elem.find("AbortIncompleteMultipartUpload")
    if abort is not None:
        rule.abort_days = _positive(
            xmlio.text(abort, "DaysAfterInitiation"),
            "DaysAfterInitiation",
            "AbortIncompleteMultipartUpload",
        )
        if f.tags:
            raise S3Error(
                "InvalidRequest", "AbortIncompleteMultipartUpload cannot be specified with Tags."
            )
    if exp is None and nc is None and abort is None:
        raise S3Error("InvalidRequest", "At least one action needs to be specified in a rule")
    return rule


def parse_configuration(root: Element) -> list[Rule]:
    """The rules of a ``LifecycleConfiguration`` document, validated as AWS does."""
    elems = root.findall("Rule")
    if not elems or len(elems) > MAX_RULES or len(elems) != len(list(root)):
        raise _malformed()
    rules = [_parse_rule(e) for e in elems]
    seen: set[str] = set()
    for rule in rules:
        if rule.id and rule.id in seen:
            raise S3Error(
                "InvalidArgument", "Rule ID must be unique. Found same ID for more than one rule"
            )
        seen.add(rule.id)
    return rules


# -- storage -------------------------------------------------------------


def dump(rules: list[Rule]) -> str:
    return json.dumps([asdict(r) for r in rules], separators=(",", ":"))


@lru_cache(maxsize=1024)
def _load(text: str) -> tuple[Rule, ...]:
    out: list[Rule] = []
    for raw in json.loads(text):
        f = raw.pop("filter")
        f["tags"] = [(k, v) for k, v in f["tags"]]
        out.append(Rule(filter=Filter(**f), **raw))
    return tuple(out)


def rules_of(system: dict[str, str]) -> tuple[Rule, ...]:
    """The bucket's rules (empty when it has no lifecycle configuration)."""
    text = system_text.text_of(system, LIFECYCLE_KEY)
    return _load(text) if text else ()


def index_name(account: str, bucket: str) -> str:
    return f"{account}/{bucket}"


async def set_indexed(core: ProxyCore, account: str, bucket: str, on: bool) -> None:
    """Name the bucket in (or drop it from) the index a lifecycle pass walks."""
    name = index_name(account, bucket)
    reg, cont = namespace.REGISTRY_ACCOUNT, INDEX_CONTAINER
    if not on:
        with contextlib.suppress(core_errors.NotFound):
            await core.delete_object(reg, cont, name)
        return
    md = ObjectMetadata(content_type="application/x-s3-lifecycle")
    try:
        await core.put_object(reg, cont, name, b"", md)
    except core_errors.ContainerNotFound:
        await core.put_container(reg, cont)
        await core.put_object(reg, cont, name, b"", md)


# -- handlers ------------------------------------------------------------


async def handle_put_bucket_lifecycle(ctx: S3Context) -> web.StreamResponse:
    rules = parse_configuration(await ctx.read_xml("LifecycleConfiguration"))
    text = dump(rules)
    if len(text.encode()) > MAX_STORED:
        raise S3Error("InvalidRequest", "The lifecycle configuration is too large")
    assert ctx.bucket is not None
    await system_text.write(
        ctx.core, ctx.account, ctx.bucket_name, LIFECYCLE_KEY, text, ctx.bucket.system
    )
    await set_indexed(ctx.core, ctx.account, ctx.bucket_name, True)
    return empty(200)


def _render_filter(f: Filter) -> dict[str, Any]:
    tags = [{"Key": k, "Value": v} for k, v in f.tags]
    if f.form == "legacy":
        return {"Prefix": f.prefix}
    if f.form == "empty":
        return {"Filter": {}}
    if f.form == "prefix":
        return {"Filter": {"Prefix": f.prefix}}
    if f.form == "tag":
        return {"Filter": {"Tag": tags[0]}}
    if f.form == "gt":
        return {"Filter": {"ObjectSizeGreaterThan": f.gt}}
    if f.form == "lt":
        return {"Filter": {"ObjectSizeLessThan": f.lt}}
    body: dict[str, Any] = {"Prefix": f.prefix or None, "Tag": tags}
    body["ObjectSizeGreaterThan"] = f.gt
    body["ObjectSizeLessThan"] = f.lt
    return {"Filter": {"And": body}}


def _render_rule(rule: Rule) -> dict[str, Any]:
    out: dict[str, Any] = {"ID": rule.id or None, **_render_filter(rule.filter)}
    out["Status"] = "Enabled" if rule.enabled else "Disabled"
    if rule.days is not None:
        out["Expiration"] = {"Days": rule.days}
    elif rule.date is not None:
        out["Expiration"] = {"Date": xmlio.iso8601(datetime.fromtimestamp(rule.date, UTC))}
    elif rule.expired_marker:
        out["Expiration"] = {"ExpiredObjectDeleteMarker": "true"}
    if rule.noncurrent_days is not None:
        out["NoncurrentVersionExpiration"] = {
            "NoncurrentDays": rule.noncurrent_days,
            "NewerNoncurrentVersions": rule.newer_noncurrent,
        }
    if rule.abort_days is not None:
        out["AbortIncompleteMultipartUpload"] = {"DaysAfterInitiation": rule.abort_days}
    return out


async def handle_get_bucket_lifecycle(ctx: S3Context) -> web.StreamResponse:
    assert ctx.bucket is not None
    rules = rules_of(ctx.bucket.system)
    if not rules:
        raise S3Error("NoSuchLifecycleConfiguration", extra={"BucketName": ctx.bucket_name})
    return xml_response("LifecycleConfiguration", {"Rule": [_render_rule(r) for r in rules]})


async def handle_delete_bucket_lifecycle(ctx: S3Context) -> web.StreamResponse:
    assert ctx.bucket is not None
    system = ctx.bucket.system
    await system_text.write(ctx.core, ctx.account, ctx.bucket_name, LIFECYCLE_KEY, "", system)
    await set_indexed(ctx.core, ctx.account, ctx.bucket_name, False)
    return empty(204)


# -- when rules act --------------------------------------------------------


def due(start: float, days: int, day_seconds: int) -> float:
    """When ``days`` after ``start`` have passed: AWS rounds up to the next midnight UTC;
    a debug day (``day_seconds`` other than a real day) is counted exactly."""
    end = start + days * day_seconds
    if day_seconds != DAY:
        return end
    return math.ceil(end / DAY) * DAY


def expiry_of(
    rules: tuple[Rule, ...],
    key: str,
    created: float,
    size: int,
    tags: list[tuple[str, str]],
    day_seconds: int,
) -> tuple[float, str] | None:
    """(when, rule id) of the earliest Expiration that applies to a current object."""
    best: tuple[float, str] | None = None
    for rule in rules:
        if not rule.enabled or not rule.filter.matches(key, size, tags):
            continue
        if rule.days is not None:
            when = due(created, rule.days, day_seconds)
        elif rule.date is not None:
            when = rule.date
        else:
            continue
        if best is None or when < best[0]:
            best = (when, rule.id)
    return best


def day_seconds(ctx: S3Context) -> int:
    return ctx.settings.lifecycle_debug_day_seconds or DAY


def expiration_headers(
    ctx: S3Context, key: str, created: float, size: int, system: dict[str, str]
) -> dict[str, str]:
    """``x-amz-expiration`` for a current object a rule expires (else nothing)."""
    assert ctx.bucket is not None
    rules = rules_of(ctx.bucket.system)
    if not rules:
        return {}
    tags = meta.decode_tags(system.get(meta.TAGS))
    found = expiry_of(rules, key, created, size, tags, day_seconds(ctx))
    if found is None:
        return {}
    when = format_datetime(datetime.fromtimestamp(found[0], UTC), usegmt=True)
    return {"x-amz-expiration": f'expiry-date="{when}", rule-id="{found[1]}"'}
