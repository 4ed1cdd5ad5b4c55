"""Volume backends: where a volume's bytes live (a sparse file per volume by default)."""

from blockstore.backend.files import BackendStats, FileBackend
from blockstore.backend.seam import VolumeFiles

__all__ = ["BackendStats", "FileBackend", "VolumeFiles"]
