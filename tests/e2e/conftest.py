"""The `stratus up` the OpenStack e2e files share: started once, it is the costly part.

A test on it makes its own projects, users and resource names, and looks only at those,
so no test depends on what another did or left.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.e2e.cloud import Cloud


@pytest.fixture(scope="package")
def shared_cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cloud]:
    """One cloud for tests/e2e (package scope: stopped before the rest of the suite runs)."""
    c = Cloud(tmp_path_factory.mktemp("shared-cloud"))
    c.env["STRATUS_COMPUTE_SHUTDOWN_TIMEOUT"] = "2"  # the test guest ignores ACPI power-off
    c.start()
    try:
        yield c
    finally:
        c.stop()
