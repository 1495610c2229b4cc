"""Replug: a self-hosted server for social DJ rooms that speaks plug.dj's protocol."""

__version__ = "0.1.0"
