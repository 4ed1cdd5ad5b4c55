"""``GET /info``: the cluster's capabilities and limits, as Swift publishes them."""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from objectstore.proxy.swift import constraints as c
from objectstore.proxy.swift.errors import SwiftError


def capabilities(max_file_size: int = c.MAX_FILE_SIZE) -> dict[str, Any]:
    """What python-swiftclient's ``swift capabilities`` shows."""
    return {
        "swift": {
            "version": "stratus-0.1",
            "max_file_size": max_file_size,
            "max_meta_name_length": c.MAX_META_NAME_LENGTH,
            "max_meta_value_length": c.MAX_META_VALUE_LENGTH,
            "max_meta_count": c.MAX_META_COUNT,
            "max_meta_overall_size": c.MAX_META_OVERALL_SIZE,
            "max_header_size": c.MAX_HEADER_SIZE,
            "max_object_name_length": c.MAX_OBJECT_NAME_LENGTH,
            "container_listing_limit": c.CONTAINER_LISTING_LIMIT,
            "account_listing_limit": c.ACCOUNT_LISTING_LIMIT,
            "max_account_name_length": c.MAX_ACCOUNT_NAME_LENGTH,
            "max_container_name_length": c.MAX_CONTAINER_NAME_LENGTH,
            "extra_header_count": c.EXTRA_HEADER_COUNT,
            "valid_api_versions": list(c.VALID_API_VERSIONS),
            "account_autocreate": True,
            "allow_account_management": False,
            "strict_cors_mode": True,
            "policies": [{"name": "Policy-0", "aliases": "Policy-0", "default": True}],
        },
        "tempauth": {"account_acls": False},
    }


async def handle_info(request: web.Request) -> web.Response:
    if request.method not in ("GET", "HEAD"):
        raise SwiftError(405, headers={"Allow": "GET, HEAD"})
    from objectstore.proxy.swift.app import CORE

    body = json.dumps(capabilities(request.app[CORE].max_object_size)).encode()
    return web.Response(body=body, content_type="application/json", charset="utf-8")
