"""Backups of volumes into the object store: chunks (deduplicated by xxh3_128,
compressed, framed), versioned manifests, the byte-moving engine, and the
backup and image services over the manager's context (create, restore, delete,
verify; volumes from images)."""
