"""Progress of long work: in job logs, a line at least every 30 s (or per step, when steps are slower) with
the share done and the time left; on an interactive terminal, a one-line bar instead of those lines.

    with Progress("covariance of 100000 images", total=100000, unit="images") as p:
        for chunk in chunks:
            ...
            p.advance(len(chunk))

    for step in track(range(steps), "gradient descent", steps, "steps"):   # the same, for a plain loop
        ...

    with heartbeat("eigendecomposition of a 12288 x 12288 matrix"):   # one opaque call
        torch.linalg.eigh(m)
"""

from __future__ import annotations

import contextlib
import logging
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from typing import TypeVar

T = TypeVar("T")

log = logging.getLogger("lbr.machine.progress")
EVERY_SECONDS = 30.0


def _duration(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"


class Progress:
    """Counts work done out of `total`; reports when `every` seconds (default EVERY_SECONDS, read when the
    count starts) have passed since the last report. The bar redraws at most ten times a second."""

    def __init__(self, what: str, total: float, unit: str = "", every: float | None = None, logger=None):
        self.what, self.total, self.unit = what, float(total), unit
        self.every = EVERY_SECONDS if every is None else every
        self.log = logger or log
        self.done = 0.0
        self.start = self.last = self.drawn = time.monotonic()
        self.bar = sys.stderr.isatty()

    def __enter__(self) -> Progress:
        self.log.info("%s: started (%s %s)", self.what, f"{self.total:g}", self.unit)
        return self

    def advance(self, amount: float = 1) -> None:
        self.done += amount
        now = time.monotonic()
        if self.bar:
            if now - self.drawn >= 0.1 or self.done >= self.total:
                self._draw(now)
                self.drawn = now
        elif now - self.last >= self.every:
            self.log.info("%s: %s", self.what, self.status(now))
            self.last = now

    def status(self, now: float | None = None) -> str:
        """'37% (370 of 1000 images), 1.2 min elapsed, about 2.0 min left'."""
        now = time.monotonic() if now is None else now
        elapsed = now - self.start
        share = self.done / self.total if self.total else 1.0
        left = elapsed * (1 - share) / share if share > 0 else float("nan")
        count = f"{self.done:g} of {self.total:g}{' ' + self.unit if self.unit else ''}"
        eta = f", about {_duration(left)} left" if share < 1 and share > 0 else ""
        return f"{100 * share:.0f}% ({count}), {_duration(elapsed)} elapsed{eta}"

    def _draw(self, now: float) -> None:
        share = min(1.0, self.done / self.total) if self.total else 1.0
        filled = int(30 * share)
        sys.stderr.write(f"\r{self.what}: [{'#' * filled}{'.' * (30 - filled)}] {self.status(now)}   ")
        sys.stderr.flush()

    def __exit__(self, kind, value, tb) -> None:
        if self.bar:
            sys.stderr.write("\n")
        if kind is None:
            self.log.info("%s: done in %s", self.what, _duration(time.monotonic() - self.start))


def track(
    items: Iterable[T], what: str, total: float, unit: str = "", amount: Callable[[T], float] | None = None
) -> Iterator[T]:
    """Yield `items`, counting each one done (by `amount(item)`, default 1) once the loop body has run on it."""
    with Progress(what, total, unit) as p:
        for item in items:
            yield item
            p.advance(1 if amount is None else amount(item))


@contextlib.contextmanager
def heartbeat(what: str, every: float | None = None, logger=None) -> Iterator[None]:
    """Log `what` when it starts, every `every` seconds (default EVERY_SECONDS) while it runs (one opaque call:
    an eigendecomposition, a solve) and when it ends."""
    out = logger or log
    every = max(EVERY_SECONDS if every is None else every, 0.05)  # 0 would spin
    start = time.monotonic()
    stop = threading.Event()

    def beat() -> None:
        while not stop.wait(every):
            out.info("%s: still running, %s elapsed", what, _duration(time.monotonic() - start))

    out.info("%s: started", what)
    thread = threading.Thread(target=beat, daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()
    out.info("%s: done in %s", what, _duration(time.monotonic() - start))  # not reached after an exception
