"""lakestack: an open, local-first MLOps platform on a Delta lakehouse.

The public API lives in the capability packages (`lakestack.config`, `lakestack.lake`, ...);
this module only carries the version and the exception base, and imports nothing heavy.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from lakestack.errors import LakestackError

try:
    __version__ = version("lakestack")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0"

__all__ = ["LakestackError", "__version__"]
