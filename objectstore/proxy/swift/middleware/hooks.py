"""Helpers for filters that change what the handlers behind them answer.

Handlers stream their own responses, so a filter cannot edit a response
after ``next`` returns it if it was already sent: :class:`ResponseEdit`
applies a change either way (through ``ctx.on_prepare`` while the filter's
call runs, or to the returned response not yet sent), and stops applying
it when the call is over, so a later subrequest of the same request is not
touched. :func:`inspecting` installs an ``obj.INSPECT`` hook for one call.
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from aiohttp import web

from objectstore.proxy.models import ObjectInfo
from objectstore.proxy.swift import obj

if TYPE_CHECKING:
    from objectstore.proxy.swift.app import Ctx

Change = Callable[[web.StreamResponse], None]


class ResponseEdit:
    """``change`` applied to the response of one ``next`` call, whenever it is prepared."""

    def __init__(self, ctx: Ctx, change: Change) -> None:
        self.change = change
        self.live = True
        ctx.on_prepare.append(self._on_prepare)

    def _on_prepare(self, resp: web.StreamResponse) -> None:
        if self.live:
            self.change(resp)

    def finish(self, resp: web.StreamResponse) -> web.StreamResponse:
        """The call returned ``resp``: change it if it is not sent yet; stop."""
        self.live = False
        if not resp.prepared:
            self.change(resp)
        return resp

    def stop(self) -> None:
        self.live = False


@contextmanager
def inspecting(ctx: Ctx, hook: Callable[[ObjectInfo], None]) -> Generator[None]:
    """``hook`` sees the objects GET/HEAD handlers find while the block runs."""
    hooks: list[Any] = ctx.environ.setdefault(obj.INSPECT, [])
    hooks.append(hook)
    try:
        yield
    finally:
        hooks.remove(hook)
