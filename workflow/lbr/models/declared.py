"""Models of the user's own, in the job: import the factory a `models` entry names, build the model for its role,
and check it on one batch before training, so that a missing method or a wrong output shape stops the job with
one sentence naming the entry instead of a traceback from deep inside training.

The entry's form, its module and (for plain Python files) its attribute were checked while Snakemake planned
(`lbr.config.declared_models`); the import happens here. Roles (see `lbr.config.declared_models`):
- classifier: factory(in_shape=(C, H, W), n_classes=K, **kwargs), images -> N x K logits;
- autoencoder: factory(in_shape, latent=L, **kwargs) (+ depth= for Fig. 3 when the factory has that parameter),
  with encode(x) -> code and decode(code) -> N x C x H x W; forward is decode(encode(x)) when the module has none;
- guidance autoencoder: as an autoencoder, its codes N x L, and two probes on them (`ProbedAutoencoder`).
The trainers pass the models to the same loop as the paper's, so the numeric policy applies to them alike.
"""

from __future__ import annotations

import importlib
import inspect
import logging
import os
import sys
import time
import traceback
from collections.abc import Callable

import torch
from torch import nn

from lbr.errors import LbrError
from lbr.models.guided_autoencoder import Probes

log = logging.getLogger(__name__)

CHECK_IMAGES = 2
"""Images of the one-batch check (eval mode, no gradients: it changes no state of the model)."""


TORCH_DIR = os.path.dirname(torch.__file__)


def _where(err: BaseException) -> str:
    """file:line where an exception was raised: the innermost frame outside torch (the user's line that called into
    torch), else the innermost."""
    if isinstance(err, SyntaxError) and err.filename:
        return f"{err.filename}:{err.lineno}"
    frames = traceback.extract_tb(err.__traceback__)
    outside = [f for f in frames if not f.filename.startswith(TORCH_DIR)]
    frame = (outside or frames or [None])[-1]
    return f"{frame.filename}:{frame.lineno}" if frame else "?"


def _said(err: BaseException) -> str:
    return f"{type(err).__name__}: {err}".strip().rstrip(".")


def load_factory(name: str, factory: str) -> Callable:
    """The function or class `module.sub:attr` of models.<name>.factory, imported with the working directory at
    the end of the module search path (as the plan-time check looked for it)."""
    key = f"models.{name}.factory"
    module_name, _, attr = factory.partition(":")
    if os.getcwd() not in sys.path:
        sys.path.append(os.getcwd())
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as err:
        if err.name and (err.name == module_name or module_name.startswith(f"{err.name}.")):
            raise LbrError(
                f"{key} names module '{module_name}', which is not on the Python path nor in the working directory "
                f"{os.getcwd()}; put its folder on PYTHONPATH or install its package."
            ) from None
        raise LbrError(f"importing '{module_name}' for {key} failed at {_where(err)} ({_said(err)}).") from None
    except Exception as err:  # noqa: BLE001 - any error of the user's module gets the same sentence
        raise LbrError(f"importing '{module_name}' for {key} failed at {_where(err)} ({_said(err)}).") from None
    if not hasattr(module, attr):
        raise LbrError(
            f"{key} names '{attr}', which module '{module_name}' ({getattr(module, '__file__', '?')}) does not "
            "define; fix the name after the colon."
        )
    built = getattr(module, attr)
    if not callable(built):
        raise LbrError(
            f"{key} names '{factory}', a {type(built).__name__}, not a function or class that returns a model."
        )
    return built


def accepts(factory: Callable, parameter: str) -> bool:
    """Whether `factory` has a parameter of that name (a class: its __init__)."""
    try:
        params = inspect.signature(factory).parameters
    except (TypeError, ValueError):
        return False
    kinds = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
    return parameter in params and params[parameter].kind in kinds


def build(name: str, model: dict, passed: dict, depth: int | None = None) -> nn.Module:
    """models.<name> built: its factory called with the role's arguments `passed`, depth= when given and the factory
    has that parameter, and the entry's kwargs."""
    factory = load_factory(name, model["factory"])
    if depth is not None and accepts(factory, "depth"):
        passed = {**passed, "depth": int(depth)}
    kwargs = dict(model.get("kwargs") or {})
    call = ", ".join(f"{k}={v!r}" for k, v in {**passed, **kwargs}.items())
    try:
        module = factory(**passed, **kwargs)
    except Exception as err:  # noqa: BLE001 - the user's constructor: one sentence with where it failed
        raise LbrError(f"models.{name}: {model['factory']}({call}) failed at {_where(err)} ({_said(err)}).") from None
    if not isinstance(module, nn.Module):
        raise LbrError(
            f"models.{name}: {model['factory']}({call}) returned a {type(module).__name__}, not a torch.nn.Module."
        )
    return module


def _shape(value) -> str:
    if torch.is_tensor(value):
        return "shape (" + ", ".join(str(s) for s in value.shape) + ")"
    return f"a {type(value).__name__}"


def _run(name: str, what: str, fn: Callable[[], object]):
    try:
        return fn()
    except Exception as err:  # noqa: BLE001
        raise LbrError(
            f"models.{name}: {what} failed on a batch of {CHECK_IMAGES} at {_where(err)} ({_said(err)})."
        ) from None


class _Checking:
    """Eval mode and no gradients for the one-batch check; the model's mode is restored afterwards."""

    def __init__(self, model: nn.Module):
        self.model, self.training = model, model.training

    def __enter__(self):
        self.grad = torch.no_grad()
        self.grad.__enter__()
        self.model.eval()

    def __exit__(self, *exc):
        self.model.train(self.training)
        self.grad.__exit__(*exc)


def _expect(name: str, what: str, value, shape: tuple[int, ...]) -> None:
    if not (torch.is_tensor(value) and tuple(value.shape) == shape and value.is_floating_point()):
        dtype = f" of dtype {value.dtype}" if torch.is_tensor(value) and not value.is_floating_point() else ""
        raise LbrError(
            f"models.{name}: {what} must give a float tensor of shape {shape}; it gave {_shape(value)}{dtype}."
        )


def classifier(
    name: str, model: dict, in_shape: tuple[int, int, int], n_classes: int, batch: torch.Tensor
) -> nn.Module:
    """A classifier of the user's for Fig. 4, checked on `batch` (images as the trainer feeds them) on its device."""
    t0 = time.perf_counter()
    net = build(name, model, {"in_shape": tuple(in_shape), "n_classes": int(n_classes)}).to(batch.device)
    x = batch[:CHECK_IMAGES]
    with _Checking(net):
        logits = _run(name, "the classifier's forward", lambda: net(x))
    _expect(name, f"a classifier (images {_dims(x)} -> logits)", logits, (len(x), int(n_classes)))
    _checked(name, model, t0)
    return net


def _dims(x: torch.Tensor) -> str:
    return "N x " + " x ".join(str(s) for s in x.shape[1:])


def _checked(name: str, model: dict, t0: float) -> None:
    seconds = time.perf_counter() - t0
    log.info(f"models.{name}: {model['factory']} imported, built and checked on one batch in {seconds:.3f} s")


class Autoencoder(nn.Module):
    """A user's module with encode and decode but no forward of its own: forward(x) = decode(encode(x))."""

    def __init__(self, inner: nn.Module):
        super().__init__()
        self.inner = inner

    def encode(self, x):
        return self.inner.encode(x)

    def decode(self, code):
        return self.inner.decode(code)

    def forward(self, x):
        return self.inner.decode(self.inner.encode(x))


def has_forward(module: nn.Module) -> bool:
    return type(module).forward is not nn.Module.forward


def autoencoder(
    name: str,
    model: dict,
    in_shape: tuple[int, int, int],
    latent: int,
    batch: torch.Tensor,
    depth: int | None = None,
    code_shape: tuple[int, ...] | None = None,
) -> nn.Module:
    """An autoencoder of the user's (Fig. 3, or the guidance one when `code_shape` fixes its codes to N x L),
    checked on `batch`: encode and decode exist, decode(encode(x)) and forward(x) have the shape of x. `depth` is
    passed when the factory has a `depth` parameter."""
    t0 = time.perf_counter()
    net = build(name, model, {"in_shape": tuple(in_shape), "latent": int(latent)}, depth).to(batch.device)
    missing = [m for m in ("encode", "decode") if not callable(getattr(net, m, None))]
    if missing:
        raise LbrError(
            f"models.{name}: an autoencoder needs methods encode(x) -> code and decode(code) -> reconstruction; "
            f"{type(net).__name__} has no {' and no '.join(missing)}."
        )
    x = batch[:CHECK_IMAGES]
    with _Checking(net):
        code = _run(name, "encode(x)", lambda: net.encode(x))
        if code_shape is not None:
            _expect(name, f"encode (images {_dims(x)} -> codes for the probes)", code, (len(x), *code_shape))
        elif not (torch.is_tensor(code) and code.ndim >= 1 and len(code) == len(x)):
            raise LbrError(f"models.{name}: encode(x) must give a tensor with one code per image, not {_shape(code)}.")
        recon = _run(name, "decode(encode(x))", lambda: net.decode(code))
        _expect(name, f"decode (codes -> images {_dims(x)})", recon, tuple(x.shape))
        if has_forward(net):
            out = _run(name, "forward(x)", lambda: net(x))
            _expect(name, f"forward (images {_dims(x)} -> reconstructions)", out, tuple(x.shape))
    _checked(name, model, t0)
    return net if has_forward(net) else Autoencoder(net)


class ProbedAutoencoder(nn.Module):
    """Any autoencoder with encode/decode plus the two online probes of Figs. 5-6 on its N x L code, detached at
    guidance 0, with `GuidedAutoencoder`'s forward: (reconstruction, code, linear logits, MLP logits)."""

    def __init__(self, autoencoder: nn.Module, latent: int, n_classes: int, guidance: float = 0.0):
        super().__init__()
        self.guidance = float(guidance)
        self.autoencoder = autoencoder
        self.probes = Probes(latent, n_classes)

    def encode(self, x):
        return self.autoencoder.encode(x)

    def decode(self, code):
        return self.autoencoder.decode(code)

    def forward(self, x):
        h = self.autoencoder.encode(x)
        recon = self.autoencoder.decode(h)
        logits_linear, logits_mlp = self.probes(h if self.guidance > 0 else h.detach())
        return recon, h, logits_linear, logits_mlp
