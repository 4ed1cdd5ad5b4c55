"""Volume backends: where a volume's bytes live (a sparse file per volume by default)."""

from blockstore.backend.files import BackendStats, FileBackend

__all__ = ["BackendStats", "FileBackend"]
