"""What listing a custom image folder costs the plan: `snakemake -n` of one dataset's prepare job, the dataset a
folder of N tiny image files (listed and fingerprinted while planning, `lbr.data.content`) against the same plan
with the dataset an npz pair (nothing listed), in the same run, interleaved, median of `--repeats` plans each.

Also times the listing itself in this process. The files are 1-byte stand-ins (planning never opens an image),
built under a temporary folder in /tmp and deleted at the end; the page cache is warm, as it is for a plan that
follows another. Goal: at most 1 s more per plan for 100,000 images.
usage: python bench/listing.py [--images 100000] [--classes 10] [--repeats 5]
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "workflow"))


def build_folder(root: Path, images: int, classes: int) -> None:
    """root/{train,test}/c<k>/<i>.png, 80% train, 20% test, spread over the classes."""
    for split, share in (("train", 0.8), ("test", 0.2)):
        per_class = round(images * share / classes)
        for k in range(classes):
            folder = root / split / f"c{k}"
            folder.mkdir(parents=True)
            for i in range(per_class):
                with open(folder / f"{i:06d}.png", "wb") as fh:
                    fh.write(b"x")


def copy_workflow(dest: Path) -> None:
    for name in ("Snakefile", "config.yaml", "workflow"):
        src = ROOT / name
        if src.is_dir():
            shutil.copytree(src, dest / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(src, dest / name)


def plan_seconds(repo: Path, configfile: str) -> tuple[float, float]:
    """(wall, CPU) seconds of one `snakemake -n` of results/data/pets/train.npz; CPU (user + system of the child)
    is what a plan costs whatever else runs on the machine, wall what its user waits."""
    env = {**os.environ, "PYTHONPATH": str(repo / "workflow")}
    target = "results/data/pets/train.npz"
    cmd = [sys.executable, "-m", "snakemake", "-n", target, "--quiet", "all", "--configfile", configfile]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    out = subprocess.run(cmd, cwd=repo, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if out.returncode != 0:
        raise SystemExit(f"snakemake -n failed:\n{out.stdout[-3000:]}\n{out.stderr[-3000:]}")
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--images", type=int, default=100_000)
    parser.add_argument("--classes", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()

    import numpy as np

    from lbr.data.content import list_image_folder

    work = Path(tempfile.mkdtemp(prefix="lbr-listing-", dir="/tmp"))
    try:
        t0 = time.perf_counter()
        build_folder(work / "pets", args.images, args.classes)
        built = time.perf_counter() - t0
        repo = work / "wf"
        repo.mkdir()
        copy_workflow(repo)
        for split in ("train", "test"):
            np.savez(work / f"{split}.npz", x=np.zeros((2, 4, 4), np.uint8), y=np.arange(2))
        (repo / "folder.yaml").write_text(f"custom_datasets:\n  pets: {{format: folder, root: {work / 'pets'}}}\n")
        (repo / "npz.yaml").write_text(
            f"custom_datasets:\n  pets: {{format: npz, train: {work / 'train.npz'}, test: {work / 'test.npz'}}}\n"
        )

        listing = []
        for _ in range(args.repeats):
            t0, c0 = time.perf_counter(), time.process_time()
            found = list_image_folder(work / "pets", "pets")
            fingerprint = found.fingerprint()
            listing.append((time.perf_counter() - t0, time.process_time() - c0))
        assert fingerprint["images"] == sum(len(v) for split in found.images.values() for v in split.values())

        plan_seconds(repo, "npz.yaml")  # first plan: Python's bytecode caches of the copy
        times: dict[str, list[tuple[float, float]]] = {"folder.yaml": [], "npz.yaml": []}
        for _ in range(args.repeats):
            for configfile in times:
                times[configfile].append(plan_seconds(repo, configfile))

        def median(values: list[tuple[float, float]], i: int) -> float:
            return statistics.median(v[i] for v in values)

        print(f"folder: {fingerprint['images']} images in {args.classes} classes ({built:.1f} s to create)")
        print(f"medians of {args.repeats}         wall s    CPU s")
        print(f"listing + fingerprint       {median(listing, 0):7.2f}  {median(listing, 1):7.2f}   (in-process)")
        for name, configfile in (("plan, folder (listed)", "folder.yaml"), ("plan, npz pair (no list)", "npz.yaml")):
            print(f"{name:<27} {median(times[configfile], 0):7.2f}  {median(times[configfile], 1):7.2f}")
        for i, what in ((0, "wall"), (1, "CPU")):
            listed, plain = median(times["folder.yaml"], i), median(times["npz.yaml"], i)
            print(f"planning overhead ({what}): {listed - plain:+.2f} s ({listed / plain:.2f}x); goal <= 1 s")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
