"""float32 means float32 whatever the process set before: a user's model module may switch the whole process to
TF32 through torch's newer API (`torch.backends.fp32_precision = "tf32"`), and torch refuses to read the legacy
switches after that ("mix of legacy and new APIs"). Each scenario runs in a fresh process, so that its settings
cannot leak into the other tests."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest
import torch

from repo_copy import ROOT

pytestmark = pytest.mark.skipif(
    not hasattr(torch.backends.cuda.matmul, "fp32_precision"), reason="this torch has only the legacy switches"
)

SCENARIO = textwrap.dedent(
    """
    import json, sys
    import numpy as np
    import torch
    sys.path[:0] = [sys.argv[1], sys.argv[2]]
    torch.set_num_threads(1)
    torch.backends.fp32_precision = "tf32"  # as a user's model module might, before lbr sets anything

    from lbr.machine.device import float32_math_now
    from lbr.spectral import filtering
    from lbr.spectral.subspaces import Subspace
    from lbr.training.classifier import ClassificationTask
    from lbr.training.policy import resolve

    def leaves():
        b = torch.backends
        return {"cuda_matmul": b.cuda.matmul.fp32_precision, "cudnn_conv": b.cudnn.conv.fp32_precision,
                "mkldnn_matmul": b.mkldnn.matmul.fp32_precision, "mkldnn_conv": b.mkldnn.conv.fp32_precision}

    seen = {"before": leaves()}
    loss = ClassificationTask.loss
    def spy(self, *args):  # the switches in force at a training step of a float32 job
        seen.setdefault("training", leaves())
        return loss(self, *args)
    ClassificationTask.loss = spy
    project = filtering.project
    def spy_project(*args):  # ... and at the filter's projections
        seen.setdefault("filter", leaves())
        return project(*args)
    filtering.project = spy_project

    from conftest import job_settings
    from lbr.config.settings import ClassifierSettings
    from lbr.training.classifier import train_classifier

    out = sys.argv[3]
    rng = np.random.default_rng(0)
    x = {s: rng.integers(0, 256, (n, 8, 8, 3), dtype=np.uint8) for s, n in (("train", 64), ("test", 16))}
    spectrum = {"mean": x["train"].reshape(64, -1).mean(0) / 255, "eigenvectors": np.eye(192),
                "eigenvalues": np.linspace(2, 1, 192)}
    sub = Subspace("top", "1", 192, 192, 1.0, 1.0, 1.0, 192)
    paths = {}
    for split in ("train", "test"):
        files = {split: f"{out}/{split}.npy", f"{split}_info": f"{out}/{split}.json"}
        filtering.filter_split(x[split], spectrum, sub, files[split], torch.device("cpu"))
        json.dump({"side": "top", "level": "1"}, open(files[f"{split}_info"], "w"))
        from lbr.data import save_split
        save_split(f"{out}/{split}_labels.npz", x[split], rng.integers(0, 4, len(x[split])), list("abcd"))
        paths |= files | {f"{split}_labels": f"{out}/{split}_labels.npz"}
    wc = {"dataset": "synthetic", "arch": "resnet9", "aug": "1", "seed": "0"}
    s = job_settings(ClassifierSettings, wc, epochs=1, batch_size=16, width=1 / 16, device="cpu", autocast="off")
    metrics = train_classifier(paths, s, f"{out}/m.json", f"{out}/h.csv")
    seen["metrics"] = {k: metrics[k] for k in ("matmul_precision", "conv_precision", "float32_ops")}
    with resolve(s, torch.device("cuda"), "float16").precision():  # the same job's policy on a GPU
        seen["gpu_float32"] = leaves()
    bf16 = resolve(job_settings(ClassifierSettings, wc, autocast="bf16"), torch.device("cuda"), "float16")
    with bf16.precision():
        seen["gpu_bf16"] = leaves()
    sys.path.insert(0, sys.argv[4])
    import gpu_check
    seen["numeric_state"] = gpu_check.numeric_state()  # gpu_check reads the switches without raising
    seen["after"] = leaves()
    seen["now"] = float32_math_now()
    print(json.dumps(seen))
    """
)


def test_a_float32_job_runs_ieee_after_a_user_switched_the_process_to_tf32(tmp_path):
    """After `torch.backends.fp32_precision = "tf32"`: a float32 classifier job trains (and the filter projects)
    with IEEE float32 matmuls and convolutions on a GPU (cuBLAS, cuDNN) and on a CPU (oneDNN), its metrics say
    float32, the bf16 policy's float32 ops are TF32 as documented, gpu_check reads the switches without torch's
    'mix of legacy and new APIs' error, and the user's setting is back afterwards. (On a CPU torch computes IEEE
    whatever the switches say, so the switches in force are what is checked: they are what cuBLAS, cuDNN and
    inductor read on a GPU.)"""
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    command = [sys.executable, "-c", SCENARIO, str(ROOT / "workflow"), str(ROOT / "tests"), str(tmp_path)]
    command.append(str(ROOT / "bench"))
    done = subprocess.run(command, capture_output=True, text=True, timeout=300, env=env)
    assert done.returncode == 0, done.stderr[-3000:]
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    tf32 = {"cuda_matmul": "tf32", "cudnn_conv": "tf32", "mkldnn_matmul": "tf32", "mkldnn_conv": "tf32"}
    ieee = {k: "ieee" for k in tf32}
    assert seen["before"] == tf32 and seen["after"] == tf32
    assert seen["training"] == ieee and seen["filter"] == ieee and seen["gpu_float32"] == ieee
    assert seen["gpu_bf16"]["cuda_matmul"] == "tf32" and seen["gpu_bf16"]["cudnn_conv"] == "tf32"
    assert seen["metrics"] == {"matmul_precision": "float32", "conv_precision": "float32", "float32_ops": "float32"}
    assert seen["numeric_state"]["matmul_tf32"] is True and seen["now"] == {"matmul_tf32": True, "cudnn_tf32": True}


TF32_OVERRIDE = """
import sys, torch
sys.path.insert(0, sys.argv[1])
from lbr.machine.device import float32_math
before = torch.backends.cuda.matmul.fp32_precision
with float32_math():
    inside = torch.backends.cuda.matmul.fp32_precision
print(before, inside, torch.backends.cuda.matmul.fp32_precision)
"""


def test_float32_math_overrides_the_cublas_tf32_environment_override():
    """TORCH_ALLOW_TF32_CUBLAS_OVERRIDE=1 starts a process with TF32 matmuls; inside float32_math they are IEEE
    (the per-backend setting, which torch's matmuls consult), and TF32 again after it."""
    env = {**os.environ, "TORCH_ALLOW_TF32_CUBLAS_OVERRIDE": "1"}
    done = subprocess.run(
        [sys.executable, "-c", TF32_OVERRIDE, str(ROOT / "workflow")], capture_output=True, text=True, env=env
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split() == ["tf32", "ieee", "tf32"]
