"""Saving figures: a PDF (one or several pages) and a PNG of the first page, each written atomically."""

from __future__ import annotations

import os

import matplotlib.pyplot as plt
from matplotlib.backends.backend_pdf import PdfPages

from lbr.figures.style import style
from lbr.io import atomic_path


def save_figure(figs, pdf_path: str | os.PathLike, png_path: str | os.PathLike | None = None, dpi: int = 150) -> None:
    """Save a figure, or a list of figures as the pages of one PDF, without ever leaving a half-written file."""
    pages = figs if isinstance(figs, (list, tuple)) else [figs]
    with style():
        if png_path:
            with atomic_path(png_path) as tmp:
                pages[0].savefig(tmp, format="png", dpi=dpi)
        with atomic_path(pdf_path) as tmp, PdfPages(tmp) as pdf:
            for fig in pages:
                pdf.savefig(fig)
    for fig in pages:
        plt.close(fig)
