"""Requests a filter makes through the rest of the pipeline (Swift's ``make_subrequest``).

A subrequest acts as the original caller (same principal, same referrer),
so it passes the same authorization and the same later filters (quotas,
versioning...) a request of the caller's own would; only its status is
kept. Errors the handlers raise become their Swift status here, since no
error middleware stands between a filter and the rest of the pipeline.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterable, AsyncIterator, Mapping
from dataclasses import replace
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from multidict import CIMultiDict, CIMultiDictProxy

from objectstore.proxy import errors as core_errors
from objectstore.proxy.swift import pipeline
from objectstore.proxy.swift.constraints import split_path
from objectstore.proxy.swift.errors import SwiftError, from_core

if TYPE_CHECKING:
    from objectstore.proxy.swift.app import Ctx

log = logging.getLogger(__name__)

#: Request headers a subrequest keeps from its parent, as Swift's make_env does.
INHERITED = ("Referer", "User-Agent", "Origin")


async def _nothing() -> AsyncIterator[bytes]:
    return
    yield b""


async def status(
    ctx: Ctx,
    next: pipeline.Next,
    method: str,
    path: str,
    headers: Mapping[str, str] | None = None,
    body: AsyncIterable[bytes] | None = None,
) -> int:
    """The status of ``method path`` (an unquoted ``/v1/...`` path) run as ``ctx``'s caller."""
    merged: CIMultiDict[str] = CIMultiDict()
    for name in INHERITED:
        if name in ctx.headers:
            merged[name] = ctx.headers[name]
    merged.update(headers or {})
    merged.setdefault("Content-Length", "0")
    try:
        _version, account, container, obj = split_path(quote(path))
        sub = replace(
            ctx,
            method=method,
            account=account,
            container=container,
            obj=obj,
            params={},
            headers=CIMultiDictProxy(merged),
            environ=dict[str, Any](),
            on_prepare=[],
            body=body if body is not None else _nothing(),
        )
        response = await next(sub)
    except SwiftError as exc:
        return exc.status
    except core_errors.ProxyError as exc:
        mapped = from_core(exc)
        return mapped.status if mapped is not None else 500
    except Exception:
        log.exception("subrequest %s failed", method)
        return 500
    return response.status
