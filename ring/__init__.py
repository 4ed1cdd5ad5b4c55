"""Placement: the ring builder and ring lookup.

``RingBuilder`` balances partitions over devices and writes ring files;
``Ring`` loads one and answers where a path's replicas live. This package
imports only the standard library and xxhash.
"""

from ring.builder import RingBuilder
from ring.cluster import build_cluster_rings
from ring.device import Device
from ring.errors import RingBuilderError, RingError, RingFileError
from ring.hashing import hash_path, part_of
from ring.install import Installed, Outcome, RingRefused, install_ring
from ring.report import RebalanceReport
from ring.ring import Ring

__all__ = [
    "Device",
    "Installed",
    "Outcome",
    "RebalanceReport",
    "Ring",
    "RingBuilder",
    "RingBuilderError",
    "RingError",
    "RingFileError",
    "RingRefused",
    "build_cluster_rings",
    "hash_path",
    "install_ring",
    "part_of",
]
