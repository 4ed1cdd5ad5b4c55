"""How the suite shares a machine with itself under pytest-xdist (scripts/test.sh: ``-n 4``).

Most of the suite's time is waiting (replication passes, VMs under TCG, processes
starting), so several workers pay even on two cores. Three rules keep that safe:

- **Groups** (``--dist loadgroup``, :func:`scheduler`): every test belongs to a group
  (:func:`group_of`); a worker runs a whole group, in file order. By default the group
  is the test's file, so
  module-scoped fixtures are built once. Tests sharing a package-scoped fixture (the
  cluster of network namespaces, one ``stratus up``) form one group, so the fixture
  is built once per group and the tests run in the order they were written for.
  The longest groups are queued first (:func:`arrange`), so no worker starts a long
  group at the end.
- **VM slots**: at most :data:`VM_SLOTS` tests that boot TCG guests run at once
  (a run-wide file lock each), so boots keep inside their time limits.
- **Ports**: each worker picks loopback ports from its own slice of the range
  (:mod:`tests.helpers.net`), so two workers never race for the same free port.

A serial run (no ``-n``) sees none of this: the groups are inert, the slots free.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

VM_SLOTS = 2
# The user property that carries a power-loss probe's summary line (tests/probe/power) from a
# worker to the controller, which prints the lines (tests/conftest.py).
POWER_REPORT = "power-report"

# Tests sharing a package-scoped fixture: one group each (path prefixes, longest first).
# The shared `stratus up` of tests/e2e (tests/e2e/conftest.py) is split in two: each
# test makes its own projects and names on it, so two clouds prove the same.
SHARED: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("probe-cluster", ("tests/probe/cluster/",)),
    (
        "e2e-cloud-1",
        (
            "tests/e2e/stratus/cli/test_openstack_tour.py",
            "tests/e2e/stratus/cli/test_openstack_network.py",
        ),
    ),
    (
        "e2e-cloud-2",
        (
            "tests/e2e/blockstore/test_openstack_volume_cli.py",
            "tests/e2e/stratus/cli/test_openstack_identity_cli.py",
            "tests/e2e/compute_glue/test_openstack_compute_cli.py",
        ),
    ),
    ("e2e-console", ("tests/e2e/stratus/console/",)),
    ("e2e-objectstore", ("tests/e2e/objectstore/",)),
    ("e2e-s3compat", ("tests/e2e/s3compat/",)),
)

# Queued before the rest (after the shared groups): the directories of long tests.
EARLY = (
    "tests/probe/",
    "tests/e2e/",
    "tests/functional/compute_glue/",
    "tests/functional/blockstore/",
)

# Tests that boot TCG guests: slow-marked tests under these paths, and these tests.
VM_PATHS = (
    "tests/functional/compute_glue/",
    "tests/e2e/compute_glue/",
    "tests/e2e/blockstore/test_qemu_iscsi.py",
    "tests/e2e/stratus/cli/test_openstack_tour.py",
)
VM_TESTS = (
    "tests/e2e/stratus/console/test_console_compute_forms.py::test_a_server_from_the_form",
    "tests/e2e/stratus/console/test_console_cloud_browser.py::"
    "test_volumes_servers_and_cluster_in_a_browser",
)


def group_of(nodeid: str) -> str:
    """The xdist group of a test: its shared fixture's group, else its file."""
    path = nodeid.split("::", 1)[0]
    for name, prefixes in SHARED:
        if path.startswith(prefixes):
            return name
    return path


def _rank(nodeid: str) -> int:
    path = nodeid.split("::", 1)[0]
    for i, (_name, prefixes) in enumerate(SHARED):
        if path.startswith(prefixes):
            return i
    for i, prefix in enumerate(EARLY):
        if path.startswith(prefix):
            return len(SHARED) + i
    return len(SHARED) + len(EARLY)


def boots_vms(item: pytest.Item) -> bool:
    nodeid = item.nodeid
    if nodeid.startswith(VM_TESTS):
        return True
    return nodeid.startswith(VM_PATHS) and item.get_closest_marker("slow") is not None


def arrange(config: pytest.Config, items: list[pytest.Item]) -> None:
    """On an xdist worker: the longest groups first (a stable sort: file order kept within).

    Every worker sorts alike, and the scheduler queues groups in collection order.
    """
    if "PYTEST_XDIST_WORKER" in os.environ:
        items.sort(key=lambda item: _rank(item.nodeid))


def scheduler(config: pytest.Config, log: Any) -> Any:
    """The xdist scheduler of ``--dist loadgroup``: one work unit per :func:`group_of`.

    xdist's own loadgroup reads ``xdist_group`` marks through node ids it rewrites, which
    pytest 9.2 no longer lets it do (pytest-xdist issue 1386: every test becomes its own
    unit). The group follows from the node id alone here, so nothing is rewritten.
    """
    from xdist.scheduler import LoadScopeScheduling  # only under xdist

    class GroupScheduling(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return group_of(nodeid)

    config.option.loadscopereorder = False  # keep the order arrange() gave the collection
    return GroupScheduling(config, log)


def worker() -> tuple[int, int]:
    """This process's worker index and the number of workers ((0, 1) when not under xdist)."""
    name = os.environ.get("PYTEST_XDIST_WORKER", "")
    count = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1") or 1)
    if not name.startswith("gw"):
        return 0, 1
    return int(name[2:]) % max(count, 1), max(count, 1)


def _run_dir(config: pytest.Config) -> Path:
    """A directory every worker of this run shares (the parent of the workers' basetemps)."""
    factory: pytest.TempPathFactory = getattr(config, "_tmp_path_factory")  # noqa: B009
    base = factory.getbasetemp()
    return base.parent if worker()[1] > 1 else base


@contextlib.contextmanager
def vm_slot(config: pytest.Config) -> Iterator[None]:
    """Hold one of the run's VM slots (blocks while all are taken); free without xdist."""
    if worker()[1] <= 1:
        yield
        return
    locks = _run_dir(config) / "vm-slots"
    locks.mkdir(exist_ok=True)
    fd = -1
    for i in range(VM_SLOTS):
        fd = os.open(locks / f"slot-{i}", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            break
        except BlockingIOError:
            os.close(fd)
            fd = -1
    if fd < 0:  # all taken: wait for one (by worker index, which spreads the waiters)
        fd = os.open(locks / f"slot-{worker()[0] % VM_SLOTS}", os.O_RDWR | os.O_CREAT, 0o600)
        fcntl.flock(fd, fcntl.LOCK_EX)
    try:
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)
