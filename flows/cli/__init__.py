"""The command line (`flows run | animate | compare | list`), its config schema and the registry
of the names a config may use."""

from .commands import main

__all__ = ["main"]
