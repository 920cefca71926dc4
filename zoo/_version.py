"""The installed package's version, from its metadata (pyproject.toml is the one place it is written)."""

from __future__ import annotations

import importlib.metadata

try:
    __version__ = importlib.metadata.version("keras-seq-zoo")
except importlib.metadata.PackageNotFoundError:  # a source tree on sys.path, not installed
    __version__ = "0+unknown"
