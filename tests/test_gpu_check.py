"""bench/gpu_check.py, the one script a GPU session runs, at toy size on a CPU so that it cannot rot."""

import json
import subprocess
import sys

from repo_copy import ROOT


def test_gpu_check_smoke_runs_every_part_and_writes_its_table(tmp_path):
    out = tmp_path / "gpu_check.json"
    run = subprocess.run(
        [sys.executable, str(ROOT / "bench/gpu_check.py"), "--smoke", "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    result = json.loads(out.read_text())
    assert set(result["part_seconds"]) == {
        "a training speed",
        "b spectrum and masking",
        "c MNIST slice",
        "d autoencoder epochs",
    }
    assert result["a_training"]["resnet9_images_per_s"] > 0 and result["a_training"]["resnet9_ratio"] > 0
    assert result["b_closed_forms"]["D"] == 192 and result["c_mnist"]["dataset"] == "digits"
    assert {"full", "top-0.9", "bottom-0.2"} <= set(result["c_mnist"])
    for line in ("ResNet9 images/s", "spectrum + eigh", "masking solve", "guidance epoch", "versions"):
        assert line in run.stdout
