"""Pages: one Jinja2 environment, a base template with the navigation, and :func:`render`.

Autoescaping is on for every template, so names of containers and objects
(which users choose) are always text, never markup. Sections add their
entries to the navigation with :func:`add_nav`; an entry is shown only to
roles that may use it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import jinja2
from aiohttp import web

from .auth import VIEWER, Viewer

NAV: web.AppKey[list[Any]] = web.AppKey("console_nav", list)
ENV: web.AppKey[jinja2.Environment] = web.AppKey("console_jinja", jinja2.Environment)


@dataclass(frozen=True)
class NavEntry:
    """One link of the top navigation: shown to ``role`` and above, active under ``prefix``."""

    title: str
    href: str
    role: str = "reader"
    prefix: str = ""

    def active(self, path: str) -> bool:
        return path.startswith(self.prefix or self.href)


def add_nav(app: web.Application, entry: NavEntry) -> None:
    app[NAV].append(entry)


def human_bytes(n: int | float | None) -> str:
    """1536 -> "1.5 KiB": what people read in a listing."""
    if n is None:
        return ""
    value = float(n)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if value < 1024 or unit == "TiB":
            return f"{int(value)} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} PiB"


def query(**params: Any) -> str:
    """``?a=1&b=2`` of the non-empty params (for links that keep the listing's state)."""
    kept = {k: v for k, v in params.items() if v not in (None, "", False)}
    return "?" + urlencode(kept) if kept else ""


def make_env() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("stratus.console", "templates"),
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=jinja2.StrictUndefined,
    )
    env.filters["bytes"] = human_bytes
    env.globals["query"] = query
    return env


def render(
    request: web.Request,
    template: str,
    *,
    status: int = 200,
    headers: dict[str, str] | None = None,
    **context: Any,
) -> web.Response:
    """A page for the request's viewer (or for nobody, on the login page)."""
    who: Viewer | None = request.get(VIEWER)
    flashes = who.session.take_flashes() if who is not None else []
    nav = [e for e in request.app[NAV] if who is not None and who.may(e.role)]
    html = (
        request.app[ENV]
        .get_template(template)
        .render(
            request=request,
            viewer=who,
            nav=nav,
            flashes=flashes,
            csrf=who.csrf if who is not None else "",
            **context,
        )
    )
    resp = web.Response(text=html, status=status, content_type="text/html", headers=headers)
    return resp


def fragment(request: web.Request, template: str, **context: Any) -> str:
    """A template rendered alone (htmx swaps), with the same globals as a page."""
    who: Viewer | None = request.get(VIEWER)
    return (
        request.app[ENV]
        .get_template(template)
        .render(request=request, viewer=who, csrf=who.csrf if who is not None else "", **context)
    )
