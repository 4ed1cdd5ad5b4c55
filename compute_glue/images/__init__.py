"""Images: Glance v2 records with their bytes kept as objects in the object store."""
