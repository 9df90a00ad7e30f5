"""Cost of one guided-autoencoder epoch (Figs. 5-6) on this machine, and an estimate for the paper grid.

Times a few training steps (augmentation + forward + backward + Adam) of the ResNet-34 autoencoder with
L = 512 at 224x224, and of the DESIGN.md anchor model (ResNet9, authors' widths, 32x32) in the same run, and
prints their per-image ratio. FLOPs per image come from torch's FlopCounterMode (2 per multiply-add,
forward + backward), the unit of the anchor's 3.18 GFLOP. The GPU estimate scales the measured H100
anchor (45.4k ResNet9 images/s with data on the GPU, DESIGN.md) by the FLOP ratio; it is an estimate, not a
measurement.

    PYTHONPATH=workflow python bench/guidance_epoch.py [--batch 8] [--steps 2] [--threads 2]
"""

from __future__ import annotations

import argparse
import time

import torch
import torch.nn.functional as F
from torch.utils.flop_counter import FlopCounterMode

from lbr import models
from lbr.models import GuidedAutoencoder
from lbr.training import resized_views as aug

IMAGENETTE_TRAIN, IMAGENETTE_VALID = 9469, 3925
H100_RESNET9_IMG_S, RESNET9_GFLOP = 45_400, 3.18  # DESIGN.md anchor (bf16, channels_last, data on GPU)
LATENTS = (128, 256, 512, 640, 1024, 2048, 3072, 4096)


def resnet9(n_classes: int = 10) -> torch.nn.Module:
    """The anchor model of DESIGN.md: the project's ResNet9 at the authors' widths on 32x32 images."""
    return models.build("resnet9", in_shape=(3, 32, 32), n_classes=n_classes)


def ae_step(model, opt, x_u8, y, gen):
    x = aug.train_view(x_u8.float() / 255, (224, 224), gen)
    recon, _, lin, mlp = model(x)
    loss = F.mse_loss(recon, x) + 0.01 * (F.cross_entropy(lin, y) + F.cross_entropy(mlp, y))
    opt.zero_grad(set_to_none=True)
    loss.backward()
    opt.step()


def r9_step(model, opt, x, y, gen):
    loss = F.cross_entropy(model(x), y)
    opt.zero_grad(set_to_none=True)
    loss.backward()
    opt.step()


def seconds_per_image(step, model, batch, steps, inputs):
    opt = torch.optim.Adam(model.parameters(), 2e-4)
    gen = torch.Generator().manual_seed(0)
    step(model, opt, *inputs, gen)  # warm-up
    t0 = time.perf_counter()
    for _ in range(steps):
        step(model, opt, *inputs, gen)
    return (time.perf_counter() - t0) / (steps * batch)


def gflop_per_image(model, x, y) -> float:
    with FlopCounterMode(display=False) as counter:
        out = model(x)
        loss = (
            out[0].float().mean() + out[2].float().sum() + out[3].float().sum() if isinstance(out, tuple) else out.sum()
        )
        loss.backward()
    return counter.get_total_flops() / len(x) / 1e9


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--steps", type=int, default=2)
    ap.add_argument("--threads", type=int, default=torch.get_num_threads())
    ap.add_argument("--epochs", type=int, default=1000)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    y = torch.arange(args.batch) % 10

    ae = GuidedAutoencoder(512, 10, 224, guidance=0.01)
    x_u8 = torch.randint(0, 256, (args.batch, 3, 256, 256), dtype=torch.uint8)
    ae_s = seconds_per_image(ae_step, ae, args.batch, args.steps, (x_u8, y))
    r9 = resnet9()
    r9_s = seconds_per_image(r9_step, r9, args.batch, args.steps, (torch.rand(args.batch, 3, 32, 32), y))
    r9_gflop = gflop_per_image(resnet9(), torch.rand(2, 3, 32, 32), y[:2])
    ae_gflop = {
        L: gflop_per_image(GuidedAutoencoder(L, 10, 224, guidance=0.01), torch.rand(2, 3, 224, 224), y[:2])
        for L in LATENTS
    }

    steps = IMAGENETTE_TRAIN // 128
    images = steps * 128 + IMAGENETTE_VALID / 3 / 5  # + validation every 5 epochs (forward only ~ 1/3)
    print(f"machine: {torch.get_num_threads()} CPU threads, torch {torch.__version__}")
    print(f"ResNet34-AE L=512 224px: {ae_s:.3f} s/image on CPU (batch {args.batch}, {args.steps} timed steps)")
    print(f"ResNet9 anchor 32px:     {r9_s * 1e3:.2f} ms/image on CPU; time ratio AE/ResNet9 = {ae_s / r9_s:.1f}")
    print(
        f"FLOPs (fwd+bwd): ResNet9 {r9_gflop:.2f} GFLOP/image (DESIGN.md: {RESNET9_GFLOP}); "
        f"AE L=512 {ae_gflop[512]:.1f} GFLOP/image; FLOP ratio = {ae_gflop[512] / r9_gflop:.1f}"
    )
    print(f"CPU epoch (Imagenette, {steps} steps of 128 + validation/5): {ae_s * images / 3600:.2f} h extrapolated")
    total = 0.0
    for L, gf in ae_gflop.items():
        sec_img = gf / RESNET9_GFLOP / H100_RESNET9_IMG_S
        epoch_s = sec_img * images
        total += 2 * epoch_s * args.epochs / 3600  # both guidance weights
        print(f"  L={L:5d}: {gf:.1f} GFLOP/image -> H100 estimate {epoch_s:.1f} s/epoch at anchor efficiency")
    via_cpu = ae_s / r9_s / H100_RESNET9_IMG_S * images
    print(f"H100 estimate L=512 via the CPU time ratio instead: {via_cpu:.1f} s/epoch")
    print(
        f"grid (8 latents x 2 weights x {args.epochs} epochs): ~{total:.0f} H100-hours at the anchor's FLOP "
        f"efficiency (estimate; slower if the AE's 112x112 layers run below it)"
    )


if __name__ == "__main__":
    main()
