"""Glue for workflow scripts: log to the rule's log file, cap threads, turn LbrError into one clear line."""

from __future__ import annotations

import logging
import sys
from typing import Any, Callable

from lbr.device import set_threads
from lbr.errors import LbrError

log = logging.getLogger("lbr")


def setup_logging(logfile: str | None = None, level: int = logging.INFO) -> None:
    """One plain line per event, to the log file when given and to stderr."""
    handlers: list[logging.Handler] = [logging.StreamHandler(sys.stderr)]
    if logfile:
        handlers.append(logging.FileHandler(logfile, mode="w"))
    logging.basicConfig(
        level=level,
        format="%(asctime)s %(levelname)s %(message)s",
        datefmt="%H:%M:%S",
        handlers=handlers,
        force=True,
    )


def run(main: Callable[[Any], None], smk: Any) -> None:
    """Run `main(snakemake)`; a LbrError exits 1 with its message and no traceback."""
    setup_logging(smk.log[0] if len(smk.log) else None)
    set_threads(getattr(smk, "threads", None))
    try:
        main(smk)
    except LbrError as err:
        log.error("%s", err)
        sys.exit(1)
