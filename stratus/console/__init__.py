"""The web console: the cloud seen and driven from a browser.

Server-rendered pages (Jinja2) on the same aiohttp stack as every other
service, with a little progressive enhancement (vendored htmx, and a small
vanilla script for uploads). The console keeps no data of its own beyond
in-memory sessions: every page is drawn from the public APIs called with the
logged-in user's own token, so it shows and does exactly what the API allows
that user (see :mod:`stratus.console.auth` and :mod:`stratus.console.services`).

Adding a section (volumes, compute...) is adding a module under
``stratus/console/views/`` with a ``setup(app)`` that registers its routes
and its navigation entry, and naming it in :data:`stratus.console.app.SECTIONS`.
"""
