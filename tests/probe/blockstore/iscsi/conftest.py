"""The same real target and logical unit as the functional tests."""

from tests.functional.blockstore.iscsi.conftest import server, target, unit

__all__ = ["server", "target", "unit"]
