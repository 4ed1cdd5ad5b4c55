"""Placement: the ring builder and ring lookup."""
