"""Shared fixtures: repository paths, small threads, a tiny synthetic dataset."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "workflow"))
torch.set_num_threads(1)


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


WORKFLOW_FILES = ("Snakefile", "config.yaml", "workflow", "profiles", "envs")


@pytest.fixture()
def workflow_dir(tmp_path):
    """A throw-away copy of the workflow (no results), where Snakemake runs as a user would."""
    import shutil

    dest = tmp_path / "wf"
    dest.mkdir()
    for name in WORKFLOW_FILES:
        src = ROOT / name
        if src.is_dir():
            shutil.copytree(src, dest / name, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
        else:
            shutil.copy2(src, dest / name)
    return dest


def run_snakemake(cwd, *args, timeout=900):
    """Run the Snakemake CLI of this interpreter in `cwd`; return the CompletedProcess."""
    import os
    import subprocess

    env = dict(os.environ, PYTHONPATH=str(Path(cwd) / "workflow"), PYTHONWARNINGS="ignore")
    return subprocess.run(
        [sys.executable, "-m", "snakemake", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
