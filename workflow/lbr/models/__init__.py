"""Network architectures of the paper's experiments."""

from lbr.models.resnet_ae import GuidedAutoencoder, Probes, ResNetDecoder, ResNetEncoder, latent_grid

__all__ = ["GuidedAutoencoder", "Probes", "ResNetDecoder", "ResNetEncoder", "latent_grid"]
