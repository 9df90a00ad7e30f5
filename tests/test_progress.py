"""Progress of long work: lines with the share done and the time left, and a heartbeat during opaque calls."""

import logging
import time

from lbr.progress import Progress, heartbeat


def test_progress_reports_share_and_time_left(caplog):
    with caplog.at_level(logging.INFO, logger="lbr.progress"), Progress("work", total=4, unit="chunks", every=0) as p:
        for _ in range(4):
            time.sleep(0.01)
            p.advance()
    lines = [r.getMessage() for r in caplog.records]
    assert lines[0] == "work: started (4 chunks)" and lines[-1].startswith("work: done in")
    assert "work: 50% (2 of 4 chunks)" in lines[2] and "left" in lines[2]
    assert len(lines) == 6


def test_progress_stays_quiet_between_reports(caplog):
    with caplog.at_level(logging.INFO, logger="lbr.progress"), Progress("work", total=1000, every=60) as p:
        for _ in range(1000):
            p.advance()
    assert len(caplog.records) == 2  # started, done


def test_heartbeat_logs_while_a_call_runs(caplog):
    with caplog.at_level(logging.INFO, logger="lbr.progress"), heartbeat("eigh", every=0.05):
        time.sleep(0.3)
    lines = [r.getMessage() for r in caplog.records]
    assert lines[0] == "eigh: started" and lines[-1].startswith("eigh: done in")
    assert sum("still running" in line for line in lines) >= 3
