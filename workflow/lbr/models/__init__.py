"""Model zoo: `build(name, **kwargs)` returns a fresh nn.Module; each module registers its own names."""

from lbr.models.registry import build, names, register
from lbr.models import classifiers  # noqa: F401,E402  (registers resnet9, mlp)

__all__ = ["build", "names", "register"]
