"""Shared test helpers (free ports, system tools, subprocess servers)."""
