"""Make the lbr package importable from Snakemake scripts (also under --sdm conda, where it is not
installed) and re-export the script runner."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from lbr.machine.runner import run  # noqa: E402

__all__ = ["run"]
