"""Swift's middleware pipeline: each API feature is a filter around the handlers.

Swift builds its proxy from WSGI middlewares (``bulk tempurl ... slo dlo
versioned_writes symlink proxy-server``); each sees the request before the
ones after it, may answer it, change it, or call the rest and change what
comes back. Stratus keeps that shape, so a feature lives in one module and
the handlers stay plain: a filter is ``async handle(ctx, next)`` where
``next`` runs the rest of the pipeline (ending in the account, container
and object handlers). Work a filter does on its own (reading segments,
writing a version) goes straight to the proxy core.

A feature also owns its ``GET /info`` section: ``info()`` returns it (keys
and limits exactly as Swift publishes them), or None while it is off.
``middleware.ORDER`` lists the filters in Swift's pipeline order.
"""

from __future__ import annotations

import importlib
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Any

from aiohttp import web

if TYPE_CHECKING:
    from objectstore.proxy.swift.app import Ctx

Next = Callable[["Ctx"], Awaitable[web.StreamResponse]]
FilterFn = Callable[["Ctx", Next], Awaitable[web.StreamResponse]]


@dataclass(frozen=True)
class Feature:
    """One middleware: its Swift name (the /info key), its filter, its /info section."""

    name: str
    handle: FilterFn | None = None
    info: Callable[[], dict[str, Any] | None] | None = None
    # Further /info sections of the same middleware, by key (Swift's bulk publishes
    # bulk_upload and bulk_delete).
    extra: tuple[tuple[str, Callable[[], dict[str, Any] | None]], ...] = ()


@cache
def features() -> Sequence[Feature]:
    """The features in Swift's pipeline order (``middleware.ORDER``).

    Imported here, not at the top: the middlewares import the handlers.
    """
    from objectstore.proxy.swift import middleware

    found: list[Feature] = []
    for name in middleware.ORDER:
        module = importlib.import_module(f"objectstore.proxy.swift.middleware.{name}")
        feature = module.FEATURE
        assert isinstance(feature, Feature), name
        found.append(feature)
    return tuple(found)


def build(end: Next, chain: Sequence[Feature] | None = None) -> Next:
    """``end`` wrapped by every feature's filter, the first feature outermost."""
    run = end
    for feature in reversed(chain if chain is not None else features()):
        if feature.handle is not None:
            run = _wrap(feature.handle, run)
    return run


def _wrap(handle: FilterFn, rest: Next) -> Next:
    async def call(ctx: Ctx) -> web.StreamResponse:
        return await handle(ctx, rest)

    return call


def info_sections() -> dict[str, dict[str, Any]]:
    """The /info sections of the features that are on."""
    sections: dict[str, dict[str, Any]] = {}
    for feature in features():
        own = ((feature.name, feature.info),) if feature.info is not None else ()
        for name, info in own + feature.extra:
            section = info()
            if section is not None:
                sections[name] = section
    return sections
