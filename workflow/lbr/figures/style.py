"""The figures' style: lbr.mplstyle, applied while a figure is drawn and saved (rcParams stay untouched)."""

from __future__ import annotations

import functools
from pathlib import Path

import matplotlib.pyplot as plt

STYLE = Path(__file__).with_name("lbr.mplstyle")


def style():
    """Context manager: matplotlib's rcParams set to the project style inside the block."""
    return plt.style.context(STYLE)


def styled(draw):
    """Decorator: draw the figure under the project style."""

    @functools.wraps(draw)
    def wrapper(*args, **kwargs):
        with style():
            return draw(*args, **kwargs)

    return wrapper
