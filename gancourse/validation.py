"""Checks at the public boundary: a learner's mistake gets gancourse's words, not a torch traceback.

The training loop (:func:`gancourse.training.train`) and the metrics that run the
classifier (:mod:`gancourse.metrics`) call these on what they are given, once per call;
the functions they call trust their inputs. Each check says what was wrong and what to
do: images as bytes or in [0, 255], NaN in the data or in G's samples (a diverged G),
data at an absurd scale, data, G and D that do not fit together, a sampler or callback
with the wrong signature, a device that is not there. Every chapter that trains or
measures goes through them.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable

import torch
from torch import Tensor, nn

IMAGE_RANGE_TOLERANCE = 1e-3
"""How far outside [-1, 1] an image value may lie (rounding) before it counts as out of range."""

DATA_SCALE_LIMIT = 1e4
"""Largest |value| accepted in training data: the course's nets expect values of order 1."""


def as_tensor(x: object, name: str) -> Tensor:
    """``x`` as a tensor: NumPy arrays are converted (float64 to float32); anything else must already be one."""
    if isinstance(x, Tensor):
        return x
    if type(x).__module__ == "numpy" and hasattr(x, "dtype"):
        tensor = torch.as_tensor(x)
        return tensor.float() if tensor.dtype == torch.float64 else tensor
    raise TypeError(f"{name} must be a torch tensor (or a NumPy array), got {type(x).__name__}")


def _where(bad: Tensor) -> str:
    n = int(bad.sum())
    first = int(bad.flatten(1).any(1).nonzero()[0]) if bad.dim() > 1 else int(bad.nonzero()[0])
    return f"{n} value{'s' if n > 1 else ''}, the first in sample {first}"


def check_finite(x: Tensor, name: str, cause: str) -> None:
    """Raise ``ValueError`` if ``x`` holds NaN or Inf, naming how many, where, and the likely ``cause``.

    Tensors on the ``meta`` device carry shapes but no values: there is nothing to check.
    """
    if x.device.type == "meta":
        return
    lo, hi = torch.aminmax(x.detach()) if x.numel() else (x.new_zeros(()), x.new_zeros(()))
    if torch.isfinite(lo) and torch.isfinite(hi):  # NaN propagates into both: one pass over the data
        return
    nan, inf = torch.isnan(x), torch.isinf(x)
    parts = [f"NaN in {_where(nan)}" if nan.any() else "", f"Inf in {_where(inf)}" if inf.any() else ""]
    raise ValueError(f"{name} contains {' and '.join(p for p in parts if p)}: {cause}")


def check_images(x: object, name: str, what_for: str, diverged_hint: bool = False,
                 allow_unit_range: bool = False) -> Tensor:
    """Images ``(N, C, H, W)`` as floats in ``[-1, 1]``, or a ``TypeError``/``ValueError`` that says how to get there.

    Catches bytes (uint8 pixels), NaN/Inf (``diverged_hint``: name a diverged G as the likely
    cause), ``[0, 255]`` floats and, unless ``allow_unit_range``, ``[0, 1]`` images (``ToTensor``'s
    range: the classifier was trained on ``[-1, 1]``). ``what_for`` names the user ("FID",
    "training"). Used by FID, the class histograms and ``train``.
    """
    x = as_tensor(x, name)
    if not x.is_floating_point():
        fix = "x.float() / 127.5 - 1" if x.dtype == torch.uint8 else "x.float() (then scale it into [-1, 1])"
        raise TypeError(f"{name} has dtype {x.dtype}, but {what_for} needs float images in [-1, 1]: convert with "
                        f"{fix}")
    cause = ("G has diverged (its samples became NaN or infinite): look at the training run's history "
             "(TrainingDiverged, HealthMonitor) and retrain with a lower learning rate" if diverged_hint else
             "remove or replace those images")
    check_finite(x, name, cause)
    if x.numel() == 0:
        return x
    lo, hi = (float(v) for v in torch.aminmax(x.detach()))
    tol = IMAGE_RANGE_TOLERANCE
    if lo >= -1 - tol and hi <= 1 + tol and (lo < 0 or allow_unit_range):
        return x
    if lo >= 0 and hi > 2:
        guess, fix = "[0, 255] (pixel values)", "x / 127.5 - 1"
    elif lo >= -tol and hi <= 1 + tol:
        guess, fix = "[0, 1] (as torchvision's ToTensor makes them)", "x * 2 - 1"
    else:
        guess, fix = "a range other than [-1, 1]", "(x - x.min()) / (x.max() - x.min()) * 2 - 1"
    raise ValueError(f"{name} holds values in [{lo:.3g}, {hi:.3g}], which looks like {guess}; {what_for} needs "
                     f"images in [-1, 1] (as datasets.fashion_mnist() and a tanh G give them): use {fix}")


def check_device(device: torch.device) -> None:
    """Raise ``ValueError`` if ``device`` names an accelerator this machine does not have."""
    available = {"cpu": True, "meta": True, "cuda": torch.cuda.is_available(),
                 "mps": getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available()}
    if not available.get(device.type, True):
        raise ValueError(f"device {str(device)!r} is not available on this machine; leave device=None to use "
                         f"gancourse.runtime.default_device() (here: CUDA, then Apple MPS, then the CPU)")


def check_callback(callback: Callable | None) -> None:
    """Raise ``TypeError`` unless ``callback`` can be called as ``callback(step, history, G, D)``."""
    if callback is None:
        return
    if not callable(callback):
        raise TypeError(f"callback must be a function callback(step, history, G, D), got {type(callback).__name__}")
    try:
        signature = inspect.signature(callback)
    except (TypeError, ValueError):  # some builtins have no signature: nothing to check
        return
    try:
        signature.bind(0, None, None, None)
    except TypeError:
        raise TypeError(f"callback{signature} cannot be called as callback(step, history, G, D), which is how "
                        f"train calls it at every flush; e.g. def callback(step, history, G, D): ...") from None


def _sampler_batch(sample_real: Callable, n: int, device: torch.device) -> Tensor:
    """``n`` samples from ``sample_real(n, generator)`` drawn with a generator of its own (the run's are untouched)."""
    try:
        inspect.signature(sample_real).bind(n, None)
    except TypeError:
        raise TypeError(f"data must be a tensor of samples or a function sample_real(n, generator) -> (n, ...) "
                        f"samples (e.g. datasets.ring().sample); {getattr(sample_real, '__name__', 'it')}"
                        f"{inspect.signature(sample_real)} cannot be called that way") from None
    except ValueError:  # no signature to inspect (a builtin): call it and see
        pass
    with torch.random.fork_rng(devices=[]):  # a sampler that ignores its generator draws from the global one
        batch = sample_real(n, torch.Generator(device=device).manual_seed(0))
    return as_tensor(batch, "sample_real(n, generator)'s result")


def _rejects(D: nn.Module, x: Tensor) -> str | None:
    """D's error message for input ``x``, or None if D takes it."""
    try:
        D(x)
    except (ValueError, RuntimeError, TypeError, IndexError) as error:
        return str(error).splitlines()[0][:200]
    return None


def check_train_data(data: object) -> Tensor | Callable:
    """The training data as :func:`~gancourse.training.train` uses it: a float tensor ``(N, ...)`` or a sampler.

    Tensors (and NumPy arrays, converted) must be non-empty, float (uint8 images are refused with
    the conversion to use), finite, within :data:`DATA_SCALE_LIMIT`, and 4-D images within
    ``[-1, 1]``; float64 becomes float32, the models' precision. A sampler must take ``(n, generator)``.
    """
    if callable(data) and not isinstance(data, Tensor):
        return data
    try:
        data = as_tensor(data, "data")
    except TypeError:
        raise TypeError(f"data must be a tensor of samples (N, ...) or a function sample_real(n, generator), "
                        f"got {type(data).__name__}") from None
    if data.dim() == 0 or len(data) == 0:
        raise ValueError(f"data is empty (shape {tuple(data.shape)}): pass at least one sample, e.g. "
                         f"datasets.ring().sample(10_000)")
    if data.dim() == 4:  # images: the course's G ends in tanh, so they must lie in [-1, 1] (finite too)
        data = check_images(data, "data", "training", allow_unit_range=True)
        return data.float() if data.dtype == torch.float64 else data
    if not data.is_floating_point():
        raise TypeError(f"data has dtype {data.dtype}; training needs float samples: convert with x.float()")
    check_finite(data, "data", "remove or replace those samples before training")
    scale = float(data.detach().abs().max())
    if scale > DATA_SCALE_LIMIT:
        raise ValueError(f"data reach |x| = {scale:.3g}, far beyond the scale the course's nets are built for "
                         f"(values of order 1: the ring has radius 1, the grid reaches 4, images lie in [-1, 1]); "
                         f"standardise them first, e.g. x = (x - x.mean(0)) / x.std(0)")
    if data.dtype == torch.float64:
        data = data.float()  # NumPy's default precision; the course's nets are float32
    return data


def check_models_fit(G: nn.Module, D: nn.Module, data: Tensor | Callable, config, n_models: int) -> None:
    """Raise ``ValueError`` naming which of data, G and D is the odd one out when their sample shapes disagree.

    Runs copies of ``G`` on a few ``z = 0`` and of ``D`` on a few samples of each, in eval mode and
    without gradients: the nets themselves are not called (nothing about them changes) and the run's
    random numbers are untouched.
    """
    from gancourse.models.minibatch import pack
    from gancourse.training.threads import _eval_mode, private_copies

    z_dim = config.z_dim or getattr(G, "z_dim", None)
    if z_dim is None:
        if getattr(D, "z_dim", None) is not None:
            raise ValueError("G has no z_dim but D has one: train(G, D, data, config) takes the generator first; "
                             "did you swap G and D?")
        raise ValueError("G has no z_dim attribute; set TrainConfig.z_dim")
    m = config.pack
    copies = private_copies(G, D)
    if copies is None:
        return  # nets that cannot be copied are not probed; their first step reports any mismatch
    G, D = copies
    param = next(G.parameters(), None)
    device = param.device if param is not None else torch.device("cpu")
    stacked = n_models > 1
    if isinstance(data, Tensor):
        if len(data) < m:
            raise ValueError(f"data has {len(data)} samples, fewer than pack={m} that D judges at once")
        x_data = data[: 2 * m if len(data) >= 2 * m else m]
    else:
        x_data = _sampler_batch(data, 2 * m, device)
    if x_data.dim() == 1:
        raise ValueError(f"data holds single numbers (shape ({'N' if isinstance(data, Tensor) else 'n'},)): give "
                         f"each sample its own row, data of shape (N, 1), e.g. data.unsqueeze(1)")
    x_data = x_data.to(device=device, dtype=param.dtype if param is not None else x_data.dtype)
    data_shape, batch, batch_dims = tuple(x_data.shape[1:]), len(x_data), 2 if stacked else 1
    z = torch.zeros((n_models, batch, z_dim) if stacked else (batch, z_dim), device=device)
    with torch.no_grad(), _eval_mode(G, D):
        x_fake = G(z)
        g_shape = tuple(x_fake.shape[batch_dims:])
        if data_shape == g_shape:
            return
        if stacked:
            x_data = x_data.unsqueeze(0).expand(n_models, *x_data.shape)
        fits_data = _rejects(D, pack(x_data, m, batch_dims) if m > 1 else x_data) is None
        fits_g = _rejects(D, pack(x_fake, m, batch_dims) if m > 1 else x_fake) is None
    d_txt, g_txt = _describe(data_shape), _describe(g_shape)
    if fits_data and not fits_g:
        raise ValueError(f"G outputs samples with {g_txt}, but the data's samples (which D takes) have {d_txt}: "
                         f"build G for the data (for MLPGenerator: out_dim={data_shape[0] if data_shape else 1})")
    if fits_g and not fits_data:
        raise ValueError(f"the data has samples with {d_txt}, but G outputs {g_txt} and D takes those: pass data "
                         f"shaped like G's samples, or build G and D for the data (MLPGenerator(out_dim=...), "
                         f"MLPDiscriminator(in_dim=...))")
    raise ValueError(f"the data has samples with {d_txt} and G outputs {g_txt}: they must agree, and D must take "
                     f"them; build G and D for the data's shape")


def _describe(shape: tuple[int, ...]) -> str:
    return f"{shape[0]} columns" if len(shape) == 1 else f"shape {shape}"
