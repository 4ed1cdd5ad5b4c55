"""Every HTTP server of the product starts through :mod:`stratus.http.server`.

That module is where the slowloris limits live (header and body timeouts,
the connection cap). A service that built its own aiohttp runner or site, or
called ``web.run_app``, would have none of them; the functional tests prove
the limits on a few services, this check keeps the others from dodging them.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[4]
PACKAGES = ("ring", "objectstore", "s3compat", "blockstore", "compute_glue", "stratus")
THE_SERVER = ROOT / "stratus" / "http" / "server.py"
# aiohttp's ways to serve an app without our limits
UNLIMITED = {"AppRunner", "ServerRunner", "TCPSite", "SockSite", "UnixSite", "run_app"}
# our ways in: the limits are their third positional argument (or ``limits=``)
LIMITED = {"serving", "start"}


def _sources() -> list[Path]:
    return sorted(p for pkg in PACKAGES for p in (ROOT / pkg).rglob("*.py"))


def _name(node: ast.expr) -> str:
    if isinstance(node, ast.Attribute):
        return node.attr
    return node.id if isinstance(node, ast.Name) else ""


def _offences(source: str, name: str) -> list[str]:
    tree = ast.parse(source, name)
    found: list[str] = []
    for node in ast.walk(tree):
        where = f"{name}:{getattr(node, 'lineno', 0)}"
        if isinstance(node, ast.Attribute | ast.Name) and _name(node) in UNLIMITED:
            found.append(f"{where}: {_name(node)} serves without the [http] limits")
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("aiohttp"):
            found += [f"{where}: imports {a.name}" for a in node.names if a.name in UNLIMITED]
        elif isinstance(node, ast.Call) and _ours(node.func) and not _limited(node):
            found.append(f"{where}: {_name(node.func)} without limits")
    return found


def _limited(call: ast.Call) -> bool:
    return len(call.args) >= 3 or any(k.arg == "limits" for k in call.keywords)


def _ours(func: ast.expr) -> bool:
    """``httpserver.serving/start(...)`` or ``serving(...)`` imported from the module."""
    if isinstance(func, ast.Attribute):
        base = func.value
        return func.attr in LIMITED and isinstance(base, ast.Name) and base.id == "httpserver"
    return isinstance(func, ast.Name) and func.id == "serving"


def test_no_service_serves_http_around_the_limits() -> None:
    sources = [p for p in _sources() if p != THE_SERVER]
    assert len(sources) > 200  # the walk really found the product
    offences = [o for p in sources for o in _offences(p.read_text(), str(p.relative_to(ROOT)))]
    assert offences == []


def test_the_check_sees_servers_without_limits() -> None:
    """The check itself can fail: each way round the limits is caught."""
    bad = """
from aiohttp import web
from aiohttp.web import TCPSite
web.run_app(app)
runner = web.AppRunner(app)
async with httpserver.serving(app, sock):
    pass
async with serving(app, sock):
    pass
"""
    found = _offences(bad, "bad.py")
    assert sorted(o.split(": ", 1)[0] for o in found) == [f"bad.py:{n}" for n in (3, 4, 5, 6, 8)]
    good = "async with serving(app, sock, limits):\n    await httpserver.start(a, s, limits=x)"
    assert _offences(good, "good.py") == []
