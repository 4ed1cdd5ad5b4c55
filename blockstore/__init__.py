"""Volumes: the volume service, backends and iSCSI export."""
