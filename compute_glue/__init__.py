"""Compute glue: images, networks and servers."""
