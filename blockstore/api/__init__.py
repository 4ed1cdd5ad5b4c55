"""The volume service's HTTP API in Cinder v3 shapes (``make_app``)."""

from blockstore.api.app import make_app

__all__ = ["make_app"]
