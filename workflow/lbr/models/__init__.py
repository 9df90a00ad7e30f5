"""Neural network architectures of the paper."""

from lbr.models.autoencoders import ARCHS as AE_ARCHS
from lbr.models.autoencoders import DCAE, MLPAE, build_autoencoder

__all__ = ["AE_ARCHS", "DCAE", "MLPAE", "build_autoencoder"]
