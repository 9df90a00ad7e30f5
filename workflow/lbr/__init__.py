"""lbr: the library behind the workflow that rebuilds Balestriero & LeCun (ICML 2024)."""

from lbr.errors import LbrError

__all__ = ["LbrError"]
__version__ = "0.1.0"
