"""reclaim_ext: a userland laboratory for Linux memory reclaim."""

from reclaim_ext.api import RunFailed, run

__all__ = ["RunFailed", "run"]
