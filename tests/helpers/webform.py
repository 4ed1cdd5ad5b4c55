"""A plain HTTP client for server-rendered pages: a cookie jar, forms, no redirect following.

Enough to drive the web console the way a browser's network layer does (or an
attacker's script does), without a browser.
"""

from __future__ import annotations

import http.cookiejar
import re
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from email.message import Message


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


@dataclass
class Answer:
    status: int
    headers: Message
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")

    @property
    def location(self) -> str:
        return self.headers.get("Location", "")

    def hidden(self, name: str) -> str:
        """The value of the first ``<input name=NAME value=...>`` of the page."""
        m = re.search(rf'name="{re.escape(name)}" value="([^"]*)"', self.text)
        assert m, f"no {name} field in the page"
        return m.group(1)


class WebClient:
    """Cookies kept across requests, like one browser."""

    def __init__(self, base: str) -> None:
        self.base = base.rstrip("/")
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(self.jar), _NoRedirect()
        )

    def request(
        self,
        method: str,
        path: str,
        *,
        form: dict[str, str | list[str]] | None = None,
        data: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> Answer:
        body = data
        hdrs = dict(headers or {})
        if form is not None:
            body = urllib.parse.urlencode(form, doseq=True).encode()
            hdrs["Content-Type"] = "application/x-www-form-urlencoded"
        req = urllib.request.Request(self.base + path, data=body, method=method, headers=hdrs)
        try:
            with self.opener.open(req, timeout=30) as resp:
                return Answer(resp.status, resp.headers, resp.read())
        except urllib.error.HTTPError as err:
            return Answer(err.code, err.headers, err.read())

    def get(self, path: str, **kw: object) -> Answer:
        return self.request("GET", path, **kw)  # type: ignore[arg-type]

    def post(self, path: str, **kw: object) -> Answer:
        return self.request("POST", path, **kw)  # type: ignore[arg-type]

    def cookie(self, name: str) -> str | None:
        return next((c.value for c in self.jar if c.name == name), None)
