"""Stratus foundations: configuration, identity, logging, shared HTTP helpers."""

__version__ = "0.1.0"
