"""What the console ships: every asset in the package (no CDN), and every form control labelled.

Read from the templates and static files themselves, so a new page that loads a
script from elsewhere or adds an unlabelled input fails here, before a browser.
"""

from __future__ import annotations

import re
import tomllib
from html.parser import HTMLParser
from pathlib import Path

import pytest

from stratus.console.app import CSP, STATIC

ROOT = Path(__file__).resolve().parents[4]
TEMPLATES = STATIC.parent / "templates"
PAGES = sorted(TEMPLATES.rglob("*.html"))
OURS = [STATIC / "console.css", STATIC / "console.js", STATIC / "compute.js"]
# A reference that leaves the console: a scheme, or a protocol-relative //host.
EXTERNAL = re.compile(
    r"""(?:src|href|action|hx-get|hx-post)\s*=\s*["']\s*(?:[a-z][a-z0-9+.-]*:|//)"""
    r"""|url\(\s*["']?\s*(?:https?:|//)|@import|fetch\(\s*["']https?:""",
    re.I,
)


def test_the_templates_and_static_files_exist() -> None:
    assert len(PAGES) >= 20 and all(p.is_file() for p in OURS)
    assert (STATIC / "htmx.min.js").stat().st_size > 10_000, "htmx is vendored, not fetched"
    assert "BSD" in (STATIC / "htmx.LICENSE").read_text(), "its licence ships beside it"


@pytest.mark.parametrize("path", PAGES + OURS, ids=lambda p: p.name)
def test_nothing_is_loaded_from_elsewhere(path: Path) -> None:
    text = path.read_text()
    found = [m.group(0) for m in EXTERNAL.finditer(text)]
    assert found == [], f"{path.name} refers outside the console: {found}"


def test_every_static_reference_ships_in_the_package() -> None:
    referenced = set()
    for page in PAGES:
        referenced |= set(re.findall(r"""["']/static/([\w.-]+)["']""", page.read_text()))
    assert {"console.css", "console.js", "htmx.min.js", "compute.js"} <= referenced
    for name in referenced:
        assert (STATIC / name).is_file(), name
    data = tomllib.loads((ROOT / "pyproject.toml").read_text())
    package_data = data["tool"]["setuptools"]["package-data"]["stratus.console"]
    assert "static/*" in package_data and "templates/*/*.html" in package_data


def test_the_policy_allows_the_console_only() -> None:
    directives: dict[str, str] = {}
    for part in CSP.split(";"):
        name, _, value = part.strip().partition(" ")
        directives[name] = value
    for name in ("default-src", "script-src", "style-src", "connect-src"):
        assert directives[name] == "'self'", name
    assert directives["frame-ancestors"] == "'none'"


class _Controls(HTMLParser):
    """Form controls of one template, and the ids its labels name."""

    def __init__(self) -> None:
        super().__init__()
        self.controls: list[dict[str, str | None]] = []
        self.label_for: set[str] = set()
        self.in_label = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "label":
            self.in_label += 1
            if a.get("for"):
                self.label_for.add(str(a["for"]))
        elif tag in ("input", "select", "textarea"):
            if a.get("type") in ("hidden", "submit", "button"):
                return
            a["_wrapped"] = "1" if self.in_label else None
            a["_tag"] = tag
            self.controls.append(a)

    def handle_endtag(self, tag: str) -> None:
        if tag == "label" and self.in_label:
            self.in_label -= 1


@pytest.mark.parametrize("path", PAGES, ids=lambda p: str(p.relative_to(TEMPLATES)))
def test_every_form_control_has_a_label(path: Path) -> None:
    """A screen reader names every input: a <label for>, a wrapping label, or aria-label."""
    parser = _Controls()
    parser.feed(path.read_text())
    for c in parser.controls:
        named = c.get("aria-label") or c.get("aria-labelledby") or c.get("_wrapped")
        assert named or (c.get("id") in parser.label_for), (path.name, c)


def test_the_palette_follows_the_system_and_focus_shows() -> None:
    """Dark and light from the system's choice; the browser test checks both render, and
    that no page scrolls sideways on a laptop screen."""
    css = (STATIC / "console.css").read_text()
    assert "@media (prefers-color-scheme: dark)" in css and "color-scheme: light dark" in css
    assert ":focus-visible" in css, "keyboard focus is visible"
