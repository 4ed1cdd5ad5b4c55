"""Bucket CORS: Get/Put/DeleteBucketCors, preflight (OPTIONS) and response headers.

The rules are kept as compact JSON in the container's metadata
(``s3-cors``). A preflight is answered from the first rule that allows the
origin, the requested method and every requested header; an actual request
carrying ``Origin`` gets the matching rule's headers on its response,
whatever its status.
"""

from __future__ import annotations

import json
import re
from functools import lru_cache
from typing import Any

from aiohttp import web

from s3compat import namespace, system_text, xmlio
from s3compat.context import S3Context, empty, xml_response
from s3compat.errors import S3Error
from stratus.digits import ascii_uint

CORS_KEY = "s3-cors"
MAX_DOCUMENT = 64 * 1024  # AWS: "The document is limited to 64 KB in size."
METHODS = ("GET", "PUT", "POST", "DELETE", "HEAD")
MAX_RULES = 100


@lru_cache(maxsize=1024)
def _wild(pattern: str) -> re.Pattern[str]:
    return re.compile(".*".join(re.escape(p) for p in pattern.split("*")), re.I)


def _matches(pattern: str, value: str) -> bool:
    return _wild(pattern).fullmatch(value) is not None


@lru_cache(maxsize=1024)
def _rules(text: str) -> list[dict[str, Any]]:
    return json.loads(text)


def rules_of(system: dict[str, str]) -> list[dict[str, Any]] | None:
    text = system_text.text_of(system, CORS_KEY)
    return _rules(text) if text else None


def find_rule(
    rules: list[dict[str, Any]], origin: str, method: str, headers: list[str]
) -> dict[str, Any] | None:
    for rule in rules:
        if not any(_matches(o, origin) for o in rule["origins"]):
            continue
        if method not in rule["methods"]:
            continue
        if all(any(_matches(h, want) for h in rule["headers"]) for want in headers):
            return rule
    return None


def _headers_for(rule: dict[str, Any], origin: str) -> dict[str, str]:
    wildcard = "*" in rule["origins"]
    out = {
        "Access-Control-Allow-Origin": "*" if wildcard else origin,
        "Access-Control-Allow-Methods": ", ".join(rule["methods"]),
        "Vary": "Origin, Access-Control-Request-Headers, Access-Control-Request-Method",
    }
    if not wildcard:
        out["Access-Control-Allow-Credentials"] = "true"
    if rule.get("expose"):
        out["Access-Control-Expose-Headers"] = ", ".join(rule["expose"])
    if rule.get("max_age") is not None:
        out["Access-Control-Max-Age"] = str(rule["max_age"])
    return out


def response_headers(ctx: S3Context) -> dict[str, str]:
    """CORS headers for an actual (non-preflight) request with an Origin."""
    assert ctx.bucket is not None
    rules = rules_of(ctx.bucket.system)
    if not rules:
        return {}
    origin = ctx.headers["origin"]
    rule = find_rule(rules, origin, ctx.method, [])
    return _headers_for(rule, origin) if rule is not None else {}


def _forbidden(message: str) -> S3Error:
    return S3Error("AccessForbidden", message)


async def handle_preflight(ctx: S3Context) -> web.StreamResponse:
    origin = ctx.headers.get("origin")
    method = ctx.headers.get("access-control-request-method")
    if not origin or not method:
        raise S3Error(
            "InvalidRequest",
            "Insufficient information. Origin request header needed."
            if not origin
            else "Invalid Access-Control-Request-Method: null",
        )
    ctx.bucket = await namespace.find_bucket(ctx, ctx.bucket_name)
    rules = rules_of(ctx.bucket.system)
    if not rules:
        raise _forbidden("CORSResponse: CORS is not enabled for this bucket.")
    wanted = [
        h.strip().lower()
        for h in ctx.headers.get("access-control-request-headers", "").split(",")
        if h.strip()
    ]
    rule = find_rule(rules, origin, method.upper(), wanted)
    if rule is None:
        raise _forbidden(
            "CORSResponse: This CORS request is not allowed. This is usually because the "
            "evaluation of Origin, request method / Access-Control-Request-Method or "
            "Access-Control-Request-Headers are not whitelisted by the resource's CORS spec."
        )
    headers = _headers_for(rule, origin)
    if wanted:
        headers["Access-Control-Allow-Headers"] = ", ".join(wanted)
    return empty(200, headers)


def _parse_rule(elem: Any) -> dict[str, Any]:
    origins = [e.text or "" for e in elem.findall("AllowedOrigin")]
    methods = [e.text or "" for e in elem.findall("AllowedMethod")]
    if not origins or not methods:
        raise S3Error("MalformedXML", "A CORSRule needs AllowedOrigin and AllowedMethod")
    for m in methods:
        if m not in METHODS:
            raise S3Error(
                "InvalidRequest", f"Found unsupported HTTP method in CORS config. Method: {m}"
            )
    for o in origins:
        if o.count("*") > 1:
            raise S3Error(
                "InvalidRequest", f'AllowedOrigin "{o}" can not have more than one wildcard.'
            )
    max_age = xmlio.text(elem, "MaxAgeSeconds")
    seconds = ascii_uint(max_age.strip()) if max_age is not None else None
    if max_age is not None and seconds is None:
        raise S3Error("MalformedXML", "MaxAgeSeconds must be an integer")
    return {
        "id": xmlio.text(elem, "ID"),
        "origins": origins,
        "methods": methods,
        "headers": [(e.text or "").lower() for e in elem.findall("AllowedHeader")],
        "expose": [e.text or "" for e in elem.findall("ExposeHeader")],
        "max_age": seconds,
    }


async def handle_put_bucket_cors(ctx: S3Context) -> web.StreamResponse:
    body = await ctx.read_body()
    if len(body) > MAX_DOCUMENT:
        raise S3Error("MaxMessageLengthExceeded")
    root = xmlio.parse_xml(body, "CORSConfiguration")
    rules = [_parse_rule(e) for e in root.findall("CORSRule")]
    if not rules or len(rules) > MAX_RULES:
        raise S3Error("MalformedXML", f"A CORS configuration holds 1 to {MAX_RULES} rules")
    text = json.dumps(rules, separators=(",", ":"))
    assert ctx.bucket is not None
    await system_text.write(
        ctx.core, ctx.account, ctx.bucket_name, CORS_KEY, text, ctx.bucket.system
    )
    await namespace.claim(ctx.core, ctx.bucket_name, ctx.account)
    return empty(200)


async def handle_get_bucket_cors(ctx: S3Context) -> web.StreamResponse:
    assert ctx.bucket is not None
    rules = rules_of(ctx.bucket.system)
    if not rules:
        raise S3Error("NoSuchCORSConfiguration", extra={"BucketName": ctx.bucket_name})
    out = []
    for r in rules:
        out.append(
            {
                "ID": r.get("id"),
                "AllowedHeader": r["headers"],
                "AllowedMethod": r["methods"],
                "AllowedOrigin": r["origins"],
                "ExposeHeader": r["expose"],
                "MaxAgeSeconds": r.get("max_age"),
            }
        )
    return xml_response("CORSConfiguration", {"CORSRule": out})


async def handle_delete_bucket_cors(ctx: S3Context) -> web.StreamResponse:
    assert ctx.bucket is not None
    system = ctx.bucket.system
    await system_text.write(ctx.core, ctx.account, ctx.bucket_name, CORS_KEY, "", system)
    return empty(204)
