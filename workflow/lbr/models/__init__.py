"""Model zoo: `build(name, **kwargs)` returns a fresh nn.Module; each module registers its own names."""

from lbr.models import classifiers  # noqa: F401  (registers resnet9, mlp)
from lbr.models.autoencoders import ARCHS as AE_ARCHS
from lbr.models.autoencoders import DCAE, MLPAE, build_autoencoder
from lbr.models.guided_autoencoder import GuidedAutoencoder, Probes, ResNetDecoder, ResNetEncoder, latent_grid
from lbr.models.registry import build, names, register

__all__ = [
    "AE_ARCHS",
    "DCAE",
    "GuidedAutoencoder",
    "MLPAE",
    "Probes",
    "ResNetDecoder",
    "ResNetEncoder",
    "build",
    "build_autoencoder",
    "latent_grid",
    "names",
    "register",
]
