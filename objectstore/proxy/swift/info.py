"""``GET /info``: the cluster's capabilities and limits, as Swift publishes them.

The ``swift`` section has exactly the keys of Swift 2.38's proxy (its
constraints and flags, less the two its ``disallowed_sections`` hides by default:
``valid_api_versions`` and ``auto_create_account_prefix``); other sections
appear only for features Stratus implements (``tempauth`` without account ACLs,
and each pipeline feature's own section, see ``pipeline``).
"""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from objectstore.proxy.swift import constraints as c
from objectstore.proxy.swift import cors, pipeline
from objectstore.proxy.swift.errors import SwiftError


def capabilities(max_file_size: int = c.MAX_FILE_SIZE, strict_cors: bool = True) -> dict[str, Any]:
    """What python-swiftclient's ``swift capabilities`` shows."""
    return {
        "swift": {
            "version": "stratus-0.1",
            "strict_cors_mode": strict_cors,
            "policies": [{"name": "Policy-0", "aliases": "Policy-0", "default": True}],
            "allow_account_management": False,
            "account_autocreate": True,
            "allow_open_expired": False,
            "max_file_size": max_file_size,
            "max_meta_name_length": c.MAX_META_NAME_LENGTH,
            "max_meta_value_length": c.MAX_META_VALUE_LENGTH,
            "max_meta_count": c.MAX_META_COUNT,
            "max_meta_overall_size": c.MAX_META_OVERALL_SIZE,
            "max_header_size": c.MAX_HEADER_SIZE,
            "max_request_line": c.MAX_REQUEST_LINE,
            "max_object_name_length": c.MAX_OBJECT_NAME_LENGTH,
            "container_listing_limit": c.CONTAINER_LISTING_LIMIT,
            "account_listing_limit": c.ACCOUNT_LISTING_LIMIT,
            "max_account_name_length": c.MAX_ACCOUNT_NAME_LENGTH,
            "max_container_name_length": c.MAX_CONTAINER_NAME_LENGTH,
            "extra_header_count": c.EXTRA_HEADER_COUNT,
        },
        **pipeline.info_sections(),
    }


async def handle_info(request: web.Request) -> web.Response:
    """Swift's InfoController: GET/HEAD the document, OPTIONS the methods, CORS for Origin.

    Admin requests (``swiftinfo_sig``) need an admin key Stratus does not
    have: 403, as Swift without ``admin_key``.
    """
    if request.method == "OPTIONS":
        return web.Response(
            headers={"Allow": "HEAD, GET, OPTIONS", "Content-Type": "text/html; charset=UTF-8"}
        )
    if request.method not in ("GET", "HEAD"):
        raise SwiftError(405, headers={"Allow": "GET, HEAD, OPTIONS"})
    query = request.rel_url.query
    if query.get("swiftinfo_sig", "") or query.get("swiftinfo_expires", ""):
        raise SwiftError(403)
    from objectstore.proxy.swift.app import CORE

    headers = {"Content-Type": "application/json; charset=UTF-8"}
    origin = request.headers.get("Origin")
    if origin is not None:
        headers["Access-Control-Allow-Origin"] = origin
        headers["Access-Control-Expose-Headers"] = "x-trans-id"
    caps = capabilities(request.app[CORE].max_object_size, request.app[cors.POLICY].strict)
    body = json.dumps(caps).encode("ascii")
    return web.Response(body=body, headers=headers)
