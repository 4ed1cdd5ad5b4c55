"""The Swift compatibility table, generated from the code.

``python -m objectstore.proxy.swift.compat > docs/swift-compat.md`` writes the
page; a unit test keeps it in step. A middleware's status comes from the
pipeline itself: it is *supported* when its module is in
``middleware.ORDER`` and publishes every ``GET /info`` section Swift
publishes for it (DLO publishes none, in Swift too); in the pipeline without
its sections it is *partial*; otherwise *not implemented*, or done by another
part of Stratus. The core rows are the API's own behaviours, with what the
side-by-side check (``bench/swift_conformance.py``) still finds different.
"""

from __future__ import annotations

from dataclasses import dataclass

from objectstore.proxy.swift import middleware, pipeline


@dataclass(frozen=True)
class Middleware:
    """One of Swift's proxy middlewares and where Stratus stands with it."""

    name: str  # Swift's filter name (egg:swift#<name>)
    module: str | None  # Stratus's module in objectstore.proxy.swift.middleware
    info: tuple[str, ...]  # the /info sections Swift publishes for it
    notes: str
    elsewhere: str | None = None  # done by another part of Stratus (status text)


MIDDLEWARES: tuple[Middleware, ...] = (
    Middleware(
        "bulk",
        "bulk",
        ("bulk_upload", "bulk_delete"),
        "`?bulk-delete` (plain, JSON, XML answers) and `?extract-archive=tar|tar.gz|tar.bz2` "
        "with the per-file error list; see swift-bulk-quotas.md.",
    ),
    Middleware(
        "tempurl",
        "tempurl",
        ("tempurl",),
        "Account and container keys (two each), GET/HEAD/PUT/POST/DELETE, "
        "`temp_url_prefix`, `temp_url_ip_range`, `inline`/`filename`, SHA-1/256/512 in hex "
        "or base64, ISO 8601 expiry; see swift-tempurl.md.",
    ),
    Middleware(
        "formpost",
        "formpost",
        ("formpost",),
        "Signed HTML form uploads with `max_file_size`, `max_file_count`, `redirect`, "
        "expiry, TempURL's keys; see swift-tempurl.md.",
    ),
    Middleware(
        "staticweb",
        "staticweb",
        ("staticweb",),
        "`X-Container-Meta-Web-Index`, `-Web-Error`, `-Web-Listings` (CSS, label), "
        "`-Web-Directory-Type`; see swift-symlink-staticweb.md.",
    ),
    Middleware(
        "container_quotas",
        "container_quotas",
        ("container_quotas",),
        "`X-Container-Meta-Quota-Bytes` / `-Quota-Count`, 413 when exceeded.",
    ),
    Middleware(
        "account_quotas",
        "account_quotas",
        ("account_quotas",),
        "`X-Account-Meta-Quota-Bytes`, set by the reseller admin (the `admin` project's "
        "admins) only.",
    ),
    Middleware(
        "slo",
        "slo",
        ("slo",),
        "Static large objects: `?multipart-manifest=put|get|delete` (heartbeat, async), "
        "validation with Swift's error bodies, ranges, inline data, nested manifests, "
        "copies, listings' `slo_etag`; see swift-large-objects.md.",
    ),
    Middleware(
        "dlo",
        "dlo",
        (),
        "Dynamic large objects (`X-Object-Manifest`): ranges, copies, ETag and length of "
        "the whole, the segment container's ACLs; see swift-large-objects.md. Swift "
        "publishes no /info section for it either.",
    ),
    Middleware(
        "versioned_writes",
        "versioned_writes",
        ("versioned_writes",),
        "Legacy versioning: `X-Versions-Location` (stack) and `X-History-Location` "
        "(history) with their delete semantics; see swift-versioning.md.",
    ),
    Middleware(
        "object_versioning",
        "object_versioning",
        ("object_versioning",),
        "`X-Versions-Enabled`, `?versions` listings, `version-id`, delete markers; see "
        "swift-versioning.md.",
    ),
    Middleware(
        "symlink",
        "symlink",
        ("symlink",),
        "`X-Symlink-Target` (+`-Account`, `-Etag` static links), `?symlink=get`, "
        "`symlink_path` in listings; see swift-symlink-staticweb.md.",
    ),
    Middleware(
        "tempauth",
        "tempauth",
        ("tempauth",),
        "`/auth/v1.0` (`X-Auth-User` / `X-Auth-Key`) against Stratus's identity store; "
        "`account_acls` is false: no `X-Account-Access-Control`.",
    ),
    Middleware(
        "keystoneauth",
        None,
        (),
        "Tokens come from Stratus's own Keystone v3 API (`stratus identity`); roles map to "
        "owner / writer / reader rights as documented in docs/security.md.",
        elsewhere="by Stratus identity",
    ),
    Middleware(
        "s3api",
        None,
        ("s3api",),
        "Stratus serves S3 itself, over the same data (docs/s3-compat.md).",
        elsewhere="by Stratus's S3 API",
    ),
    Middleware(
        "listing_formats",
        None,
        (),
        "`format=` and `Accept` negotiation for listings (plain, JSON, XML).",
        elsewhere="supported (core)",
    ),
    Middleware(
        "copy",
        None,
        (),
        "`COPY` with `Destination`, `PUT` with `X-Copy-From`, `X-Fresh-Metadata`, "
        "`Destination-Account`.",
        elsewhere="supported (core)",
    ),
    Middleware("healthcheck", None, (), "`GET /healthcheck`.", elsewhere="supported (core)"),
    Middleware(
        "gatekeeper",
        None,
        (),
        "Clients never reach system metadata: it is kept apart from user metadata in the core.",
        elsewhere="supported (core)",
    ),
    Middleware(
        "catch_errors", None, (), "Errors answer as swob's pages.", elsewhere="supported (core)"
    ),
    Middleware(
        "ratelimit",
        None,
        ("ratelimit",),
        "No per-account request rate limits; failed logins are limited per address.",
    ),
    Middleware("container_sync", None, ("container_sync",), "Not implemented."),
    Middleware("domain_remap", None, ("domain_remap",), "Not implemented."),
    Middleware("cname_lookup", None, ("cname_lookup",), "Not implemented."),
    Middleware("crossdomain", None, ("crossdomain",), "Not implemented."),
    Middleware(
        "encryption",
        None,
        ("encryption",),
        "No at-rest encryption through the native API (keymaster, encryption); the S3 API "
        "has SSE-C and SSE-S3.",
    ),
    Middleware("etag_quoter", None, ("etag_quoter",), "ETags are sent unquoted, as by default."),
    Middleware("name_check", None, ("name_check",), "Not implemented."),
    Middleware("read_only", None, ("read_only",), "Not implemented."),
    Middleware("proxy_logging", None, (), "No access log (no per-request logging)."),
    Middleware("list_endpoints", None, (), "Not implemented."),
)

# The API's own behaviours: (feature, status, notes).
CORE: tuple[tuple[str, str, str], ...] = (
    (
        "Account, container, object CRUD",
        "supported",
        "Statuses and bodies as Swift's; 204/304 answers carry no `Content-Length: 0` "
        "(aiohttp never sends one).",
    ),
    (
        "Listings",
        "supported",
        "`format=json|xml|plain`, `Accept`, `marker`, `end_marker`, `reverse`, `prefix`, "
        "multi-character `delimiter`, `limit` (412 over 10000), byte-order sorting.",
    ),
    (
        "Paths and names",
        "supported",
        "`/v1` alone 412 Bad URL, bad UTF-8 / NUL 412, overlong names 400 on PUT and 404 "
        "on reads; an overlong account name of another user is 400 where tempauth says 403.",
    ),
    (
        "Metadata limits",
        "supported",
        "Count, name, value and overall limits from /info with Swift's 400 bodies. An "
        "object's non-UTF-8 metadata is accepted (as Swift) and stored with U+FFFD; a "
        "non-UTF-8 header name is refused by the HTTP parser.",
    ),
    (
        "Request and header line limits",
        "supported",
        "A request line of 8192 bytes or more is 414, a header line 400 `Header Line Too "
        "Long`, over 64 KiB of headers 400 `Headers Too Large`.",
    ),
    (
        "Ranges",
        "supported",
        "Single, suffix, multiple (`multipart/byteranges`); swob's limits (50 ranges, 2 "
        "overlapping pairs, 8 out of order); the 416 keeps the object's headers.",
    ),
    (
        "Conditional requests",
        "supported",
        "`If-Match`, `If-None-Match`, `If-(Un)Modified-Since`; `If-None-Match: *` on PUT.",
    ),
    (
        "Server-side copy",
        "supported",
        "COPY and X-Copy-From across containers and accounts, `X-Fresh-Metadata`; a `Range` "
        "copies only the range (the source's 416 when none is satisfiable; several ranges "
        "store the `multipart/byteranges` answer, where Swift 2.38 stores a corrupt object).",
    ),
    (
        "Expiring objects",
        "supported",
        "`X-Delete-At` / `X-Delete-After` with Swift's validation messages.",
    ),
    (
        "Container ACLs",
        "supported",
        "`X-Container-Read` / `-Write` (referrers, `.rlistings`, users, write-only "
        "containers); `project:*` grants every user of a project (tempauth has no such "
        "wildcard).",
    ),
    (
        "CORS",
        "supported",
        "`X-Container-Meta-Access-Control-Allow-Origin`, `-Max-Age`, `-Expose-Headers`; "
        "`OPTIONS` preflights (200, or 401 for an origin or method not allowed) and `Allow` "
        "without `Origin`; `Access-Control-Allow-Origin` / `-Expose-Headers` on container and "
        "object answers, errors included; `strict_cors_mode` on. No proxy-wide "
        "`cors_allow_origin` / `cors_expose_headers` (Swift's default: none).",
    ),
    (
        "/auth/v1.0",
        "supported",
        "tempauth's 401 and realm; a good login also carries a JSON body naming the storage "
        "URL (Swift's has none).",
    ),
    ("/info", "supported", "Swift's constraints; each middleware's section once it works."),
)


def published(mw: Middleware) -> bool:
    """The middleware's module is in the pipeline and publishes Swift's /info sections."""
    if mw.module is None or mw.module not in middleware.ORDER:
        return False
    sections = pipeline.info_sections()
    return all(key in sections for key in mw.info)


def status(mw: Middleware) -> str:
    if mw.elsewhere is not None:
        return mw.elsewhere
    if published(mw):
        return "supported"
    if mw.module is not None and mw.module in middleware.ORDER:
        return "partial (not in /info yet)"
    return "not implemented"


_HEADER = """# Swift compatibility

Stratus serves OpenStack Swift's native API (`/v1`, `/auth/v1.0`, `/info`) as
Swift 2.38 answers it: statuses, headers and bodies. Swift's behaviour is the
specification; what still differs is written in the notes below.

`bench/swift_conformance.py` sends the same scripted requests
(`bench/swift_scenarios.py`) to Stratus and to a Swift all-in-one, as equivalent
users (the account's admin, an ACL-only user, another account, the reseller
admin, anonymous), and reports every difference in status, the headers that
matter and the normalized bodies; `tests/functional/objectstore/proxy/swift/
test_swift_recorded.py` replays the core scenarios against Stratus and checks the
answers recorded from Swift.

This page is generated (`python -m objectstore.proxy.swift.compat`); a test keeps it
in step with the code. A middleware is *supported* when it is in the pipeline
(`objectstore.proxy.swift.middleware.ORDER`) and publishes in `GET /info` the
sections Swift publishes for it.
"""


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def render() -> str:
    lines = [_HEADER, "## Core API", "", "| feature | status | notes |", "|---|---|---|"]
    lines += [f"| {name} | {state} | {_cell(notes)} |" for name, state, notes in CORE]
    lines += [
        "",
        "## Middlewares",
        "",
        "In Swift's pipeline order where Stratus has them.",
        "",
        "| middleware | /info | status | notes |",
        "|---|---|---|---|",
    ]
    for mw in MIDDLEWARES:
        keys = ", ".join(f"`{k}`" for k in mw.info) or "-"
        lines.append(f"| {mw.name} | {keys} | {status(mw)} | {_cell(mw.notes)} |")
    done = sum(1 for mw in MIDDLEWARES if mw.module is not None and published(mw))
    planned = sum(1 for mw in MIDDLEWARES if mw.module is not None)
    lines += ["", f"{done} of the {planned} middlewares of issue 15 supported.", ""]
    return "\n".join(lines)


if __name__ == "__main__":
    print(render(), end="")
