"""Shared fixtures: repository paths, small threads, a tiny synthetic dataset."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "workflow"))
torch.set_num_threads(1)


def job_settings(kind, wildcards=None, **section):
    """Settings of one job as the workflow builds them: config.yaml with the schema's defaults, then `section`
    over the kind's config section (e.g. job_settings(ClassifierSettings, {...}, epochs=3, device="cpu"))."""
    from lbr.config.load import load

    return kind.from_config(load(overrides={kind.SECTION: section}, checked=False), wildcards)


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return ROOT


@pytest.fixture()
def http_server(tmp_path):
    """A local HTTP server on 127.0.0.1 serving tmp_path/'www'; yields (base_url, folder, truncate set)."""
    import functools
    import http.server
    import threading

    www = tmp_path / "www"
    www.mkdir()
    truncate: set[str] = set()

    class Handler(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_GET(self):
            name = self.path.lstrip("/")
            if name in truncate:
                data = (www / name).read_bytes()
                self.send_response(200)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data[: len(data) // 2])
                self.wfile.flush()
                self.close_connection = True
                return
            super().do_GET()

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Handler, directory=str(www)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", www, truncate
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture()
def workflow_dir(tmp_path):
    """A throw-away copy of the workflow (no results), where Snakemake runs as a user would."""
    from repo_copy import copy_workflow

    return copy_workflow(tmp_path / "wf")


@pytest.fixture
def close_figures():
    """Close every matplotlib figure a figure test drew (use: pytestmark = pytest.mark.usefixtures(...))."""
    yield
    import matplotlib.pyplot as plt

    plt.close("all")
