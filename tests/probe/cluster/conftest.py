"""One cluster of three hosts (network namespaces, built as README says) for every probe here.

Building it takes most of a minute, so the scenarios share it: each test
works in its own container, heals what it broke, and the ring tests (which
change the rings and one host's configuration) run last, file order.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.helpers.hosts import HostCluster, host_cluster, netns_available
from tests.helpers.tools import missing_tool

TUNING = {
    # The tests run the replication passes; the workers only keep quiet in between.
    "durability": {"replicator_interval": 3600.0, "auditor_interval": 3600.0},
    "proxy": {"node_timeout": 3.0},
}


@pytest.fixture(scope="package")
def hosts(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HostCluster]:
    why = netns_available()
    if why is not None:
        missing_tool(why)
    with host_cluster(tmp_path_factory.mktemp("hosts"), hosts=3, tuning=TUNING) as cluster:
        yield cluster
