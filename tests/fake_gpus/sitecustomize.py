"""Loaded at start-up by every Python process whose PYTHONPATH begins with this folder (the tests' jobs, and the
jobs Snakemake starts for them): the process sees a machine without GPU device files, so the fake GPU ids the
tests give (LBR_GPUS, CUDA_VISIBLE_DEVICES) are never checked against real GPUs. The tests therefore pass on a
GPU box as on a CPU."""

from lbr.machine import gpuslots

gpuslots.nvidia_device_files = lambda: []
gpuslots.amd_device_file = lambda: False
