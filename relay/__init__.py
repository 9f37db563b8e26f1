"""Relay: a self-hosted release hub for small mobile teams."""

__version__ = "0.1.0"
