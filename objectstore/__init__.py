"""The object store: storage nodes and the proxy (native Swift API)."""
