"""Swift's staticweb middleware: a public container served as a web site.

For anonymous GET/HEAD requests (and authenticated ones that send
``X-Web-Mode: true``) a container's metadata turns it into a site:
``Web-Index`` serves ``<dir>/<index>`` for ``<dir>/`` (and redirects
``<dir>`` to ``<dir>/`` with a 301), ``Web-Listings`` renders an HTML
listing where there is no index (styled by ``Web-Listings-CSS``, titled by
``Web-Listings-Label``), ``Web-Error`` serves ``<status><suffix>`` objects
for 401 and 404 answers, and zero-byte objects of ``Web-Directory-Type``
(``application/directory``) count as directories, not files. Every read
keeps the reader's rights: the container's ACLs (``.r:*`` to read,
``.rlistings`` to list) decide, as they do for the plain API. Pages,
statuses and redirects are Swift 2.38's.
"""

from __future__ import annotations

import dataclasses
import html
from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from aiohttp import web

from objectstore.proxy import errors as core_errors
from objectstore.proxy.models import ContainerInfo, ListParams, ObjectInfo, ObjectRow, SubdirRow
from objectstore.proxy.swift import auth, obj
from objectstore.proxy.swift.constraints import name_too_long
from objectstore.proxy.swift.errors import HTML, SwiftError, from_core, status_response
from objectstore.proxy.swift.headers import truthy
from objectstore.proxy.swift.middleware.hooks import ResponseEdit, inspecting
from objectstore.proxy.swift.middleware.symlink import split_params
from objectstore.proxy.swift.pipeline import Feature, Next

if TYPE_CHECKING:
    from objectstore.proxy.swift.app import Ctx

DIRECTORY_TYPE = "application/directory"
LISTING_LIMIT = 10000  # the container listing's default page, as Swift's subrequest gets
DEFAULT_STYLE = (
    '  <style type="text/css">\n'
    "   h1 {font-size: 1em; font-weight: bold;}\n"
    "   th {text-align: left; padding: 0px 1em 0px 1em;}\n"
    "   td {padding: 0px 1em 0px 1em;}\n"
    "   a {text-decoration: none;}\n"
    "  </style>\n"
)


@dataclass(frozen=True)
class Site:
    """A container's web settings (its ``X-Container-Meta-Web-*`` metadata)."""

    index: str = ""
    error: str = ""
    listings: str = ""
    label: str = ""
    css: str = ""
    dir_type: str = ""

    @classmethod
    def of(cls, info: ContainerInfo | None) -> Site:
        if info is None:
            return cls()
        meta = info.user
        return cls(
            *(
                meta.get(f"web-{key}", "").strip()
                for key in ("index", "error", "listings", "listings-label", "listings-css")
            ),
            dir_type=meta.get("web-directory-type", "").strip(),
        )


class _Directory(Exception):
    """The object found is a directory marker: staticweb treats it as missing."""


class _Found(Exception):
    """The index exists (raised before its body is sent: the answer is a redirect)."""


def human_readable(value: int) -> str:
    """Swift's utils.human_readable: 1048576 -> "1Mi"."""
    number = float(value)
    index = -1
    suffixes = "KMGTPEZY"
    while number >= 1024 and index + 1 < len(suffixes):
        index += 1
        number = round(number / 1024)
    if index == -1:
        return f"{int(number)}"
    return f"{round(number)}{suffixes[index]}i"


def _status(exc: Exception) -> int:
    mapped = from_core(exc) if isinstance(exc, core_errors.ProxyError) else exc
    return mapped.status if isinstance(mapped, SwiftError) else 500


class _Web:
    """One request served as a web site (Swift's _StaticWebContext)."""

    def __init__(self, ctx: Ctx, next: Next, site: Site) -> None:
        self.ctx = ctx
        self.next = next
        self.site = site
        self.path = ctx.request.path  # decoded, with its trailing slash

    async def call(self, ctx: Ctx) -> web.StreamResponse:
        return await self.next(ctx)

    async def error(self, exc: Exception) -> web.StreamResponse:
        """The error answer, with the site's ``<status><suffix>`` page as its body."""
        if not self.site.error:
            raise exc
        ctx = self.ctx
        assert ctx.container is not None
        name = f"{_status(exc)}{self.site.error}"
        try:
            await obj.authorize(ctx, ctx.account, ctx.container, "GET")
            info, body = await ctx.core.get_object(ctx.account, ctx.container, name)
        except (SwiftError, core_errors.ProxyError):
            raise exc from None
        try:
            resp = web.StreamResponse(status=_status(exc), headers=obj.object_headers(info))
            resp.content_length = info.size
            await resp.prepare(ctx.request)
            if ctx.method != "HEAD":
                async for chunk in body.chunks():
                    await resp.write(chunk)
            await resp.write_eof()
            return resp
        finally:
            body.close()

    def redirect(self) -> web.Response:
        """301 to the same path with a slash (Location absolute, as swob makes it)."""
        request = self.ctx.request
        location = f"{request.scheme}://{request.host}{quote(self.path + '/')}"
        return status_response(301, headers={"Location": location})

    async def rows(self, prefix: str, limit: int) -> list[ObjectRow | SubdirRow]:
        """The container's listing under ``prefix``, with the reader's listing rights."""
        ctx = self.ctx
        assert ctx.container is not None
        await self._authorize_listing()
        params = ListParams(limit=limit, prefix=prefix, delimiter="/")
        _info, rows = await ctx.core.list_objects(ctx.account, ctx.container, params)
        return list(rows)

    def label(self) -> str:
        if not self.site.label:
            return self.path
        return "{}/{}".format(self.site.label, "/".join(self.path.split("/")[4:]))

    def css_path(self, prefix: str) -> str:
        css = self.site.css
        if css.startswith(("/", "http://", "https://")):
            return quote(css, safe=":/")
        return "../" * prefix.count("/") + quote(css)

    async def listing(self, prefix: str = "") -> web.StreamResponse:
        """The HTML listing of ``prefix`` (or the page saying listings are off)."""
        label = html.escape(self.label())
        if not truthy(self.site.listings):
            return await self.error(_Page(self._disabled_page(label, prefix)))
        try:
            rows = await self.rows(prefix, LISTING_LIMIT)
        except (SwiftError, core_errors.ProxyError) as exc:
            return await self.error(exc)
        if prefix and not rows:
            return await self.error(SwiftError(404))
        head = self._css(prefix) if self.site.css else DEFAULT_STYLE
        body = [
            "<!DOCTYPE html>\n<html>\n <head>\n",
            f"  <title>Listing of {label}</title>\n",
            head,
            " </head>\n <body>\n",
            f'  <h1 id="title">Listing of {label}</h1>\n',
            '  <table id="listing">\n   <tr id="heading">\n',
            '    <th class="colname">Name</th>\n    <th class="colsize">Size</th>\n',
            '    <th class="coldate">Date</th>\n   </tr>\n',
        ]
        if prefix:
            body.append(
                '   <tr id="parent" class="item">\n'
                '    <td class="colname"><a href="../">../</a></td>\n'
                '    <td class="colsize">&nbsp;</td>\n'
                '    <td class="coldate">&nbsp;</td>\n'
                "   </tr>\n"
            )
        body.extend(_rows_html(rows, prefix))
        body.append("  </table>\n </body>\n</html>\n")
        resp = web.Response(body="".join(body).encode(), headers={"Content-Type": HTML})
        if self.ctx.obj is None:
            _vary(self.ctx, resp)
        return resp

    def _css(self, prefix: str) -> str:
        return f'  <link rel="stylesheet" type="text/css" href="{self.css_path(prefix)}" />\n'

    def _disabled_page(self, label: str, prefix: str) -> str:
        page = f"<!DOCTYPE html>\n<html>\n<head>\n<title>Listing of {label}</title>\n"
        if self.site.css:
            page += self._css(prefix)
        else:
            page += (
                '  <style type="text/css">\n'
                "   h1 {font-size: 1em; font-weight: bold;}\n"
                "   p {font-size: 2}\n"
                "  </style>\n"
            )
        page += (
            "</head>\n<body>  <h1>Web Listing Disabled</h1>"
            "   <p>The owner of this web site has disabled web listing."
            "   <p>If you are the owner of this web site, you can enable"
            "   web listing by setting X-Container-Meta-Web-Listings.</p>"
        )
        if self.site.index:
            page += (
                "<h1>Index File Not Found</h1>"
                " <p>The owner of this web site has set "
                f" <b>X-Container-Meta-Web-Index: {self.site.index}</b>. "
                " However, this file is not found.</p>"
            )
        return page + " </body>\n</html>\n"

    async def container(self) -> web.StreamResponse:
        """``/v1/a/c[/]``: the index, a listing, or the plain API's answer."""
        ctx, site = self.ctx, self.site
        try:
            await self._authorize_listing()
        except SwiftError as exc:
            return await self.error(exc)
        if not site.listings and not site.index:
            if truthy(ctx.headers.get("X-Web-Mode")):
                raise SwiftError(404)
            return await self.call(ctx)
        if not self.path.endswith("/"):
            return self.redirect()
        if not site.index:
            return await self.listing()
        edit = ResponseEdit(ctx, partial(_vary, ctx))
        try:
            return edit.finish(await self.call(dataclasses.replace(ctx, obj=site.index)))
        except (SwiftError, core_errors.ProxyError) as exc:
            edit.stop()
            if _status(exc) == 404:
                return await self.listing()
            return await self.error(exc)

    async def _authorize_listing(self) -> None:
        """Swift asks its authorize hook with the container's read ACL."""
        ctx = self.ctx
        assert ctx.container is not None
        access = auth.owner_access(ctx.principal, ctx.account)
        if access is not None:
            auth.check_owner(access, ctx.principal, "GET")
            return
        if auth.signed_access(ctx.environ, ctx.account, ctx.container) is not None:
            return
        info = await ctx.core.container_info(ctx.account, ctx.container)
        auth.acl_access(ctx.principal, info, "GET", obj=False, referer=ctx.headers.get("Referer"))

    async def object(self) -> web.StreamResponse:
        """``/v1/a/c/path[/]``: the object, else its directory's index or listing."""
        ctx, site = self.ctx, self.site
        dir_type = site.dir_type or DIRECTORY_TYPE

        def not_a_directory(info: ObjectInfo) -> None:
            if info.content_type == dir_type and info.size <= 1:
                raise _Directory()

        try:
            with inspecting(ctx, not_a_directory):
                return await self.call(ctx)
        except _Directory:
            if not site.listings and not site.index:
                return await self.call(ctx)  # served as it is
        except (SwiftError, core_errors.ProxyError) as exc:
            if _status(exc) != 404 or (not site.listings and not site.index):
                raise
        if site.index:
            found = await self._index()
            if found is not None:
                return found
        if not self.path.endswith("/"):
            assert ctx.obj is not None
            try:
                rows = await self.rows(ctx.obj + "/", 1)
            except (SwiftError, core_errors.ProxyError):
                rows = []
            if not rows:
                return await self.error(SwiftError(404))
            return self.redirect()
        assert ctx.obj is not None
        return await self.listing(ctx.obj)

    async def _index(self) -> web.StreamResponse | None:
        """The directory's index (a redirect when the path lacks its slash); None: 404."""
        ctx = self.ctx
        assert ctx.obj is not None
        name = (ctx.obj if ctx.obj.endswith("/") else ctx.obj + "/") + self.site.index
        index = dataclasses.replace(ctx, obj=name)
        slash = self.path.endswith("/")

        def found(info: ObjectInfo) -> None:
            raise _Found()

        try:
            if slash:
                return await self.call(index)
            with inspecting(ctx, found):
                await self.call(dataclasses.replace(index, method="HEAD"))
        except _Found:
            return self.redirect()
        except (SwiftError, core_errors.ProxyError) as exc:
            if _status(exc) != 404:
                return None
        return None


class _Page(SwiftError):
    """A 404 with staticweb's own page as its body."""

    def __init__(self, page: str) -> None:
        super().__init__(404, page, content_type=HTML)


def _rows_html(rows: Sequence[ObjectRow | SubdirRow], prefix: str) -> list[str]:
    out: list[str] = []
    for row in rows:
        if isinstance(row, SubdirRow):
            subdir = row.subdir[len(prefix) :]
            out.append(
                '   <tr class="item subdir">\n'
                f'    <td class="colname"><a href="./{_href(subdir)}">{html.escape(subdir)}</a>'
                "</td>\n"
                '    <td class="colsize">&nbsp;</td>\n'
                '    <td class="coldate">&nbsp;</td>\n'
                "   </tr>\n"
            )
    for row in rows:
        if isinstance(row, ObjectRow):
            name = row.name[len(prefix) :]
            ctype = split_params(row.content_type)[0]
            classes = " ".join("type-" + html.escape(t.lower()) for t in ctype.split("/"))
            date = html.escape(row.last_modified.isoformat).split(".")[0].replace("T", " ")
            out.append(
                f'   <tr class="item {classes}">\n'
                f'    <td class="colname"><a href="./{_href(name)}">{html.escape(name)}</a>'
                "</td>\n"
                f'    <td class="colsize">{human_readable(row.size)}</td>\n'
                f'    <td class="coldate">{date}</td>\n'
                "   </tr>\n"
            )
    return out


def _vary(ctx: Ctx, resp: web.StreamResponse) -> None:
    """Swift's listing_formats marks every 200/204 answer to a container GET or HEAD
    without ``format`` as chosen by Accept (even a page staticweb served there)."""
    if "format" not in ctx.params and resp.status in (200, 204):
        resp.headers["Vary"] = "Accept"


def _href(name: str) -> str:
    return quote(name).replace(".", "%2E")


async def handle(ctx: Ctx, next: Next) -> web.StreamResponse:
    if ctx.method not in ("GET", "HEAD") or ctx.container is None:
        return await next(ctx)
    if ctx.principal is not None and not truthy(ctx.headers.get("X-Web-Mode")):
        return await next(ctx)
    if name_too_long(ctx.container):
        return await next(ctx)  # no such container can exist: the handlers answer as Swift
    info = await ctx.core.container_info(ctx.account, ctx.container)
    site = _Web(ctx, next, Site.of(info))
    if ctx.obj is None:
        return await site.container()
    return await site.object()


def info() -> dict[str, Any]:
    return {}


FEATURE = Feature("staticweb", handle, info)
