"""The staticweb middleware's pure parts: sizes and a container's web settings."""

from __future__ import annotations

from objectstore.proxy.models import ContainerInfo
from objectstore.proxy.swift.middleware.staticweb import Site, human_readable


def test_human_readable_as_swift() -> None:
    assert [human_readable(n) for n in (0, 1023, 1024, 1536, 2000, 1048576, 5 * 1024**4)] == [
        "0",
        "1023",
        "1Ki",
        "2Ki",
        "2Ki",
        "1Mi",
        "5Ti",
    ]


def test_site_reads_the_web_metadata() -> None:
    info = ContainerInfo(
        "c",
        0,
        0,
        user={
            "web-index": " index.html ",
            "web-listings": "true",
            "web-listings-label": "example.com",
            "web-listings-css": "s.css",
            "web-directory-type": "text/directory",
            "web-error": "err.html",
        },
    )
    assert Site.of(info) == Site(
        "index.html", "err.html", "true", "example.com", "s.css", "text/directory"
    )
    assert Site.of(None) == Site()
