"""DCGAN's architecture guidelines (Radford et al. 2016, section 3), checked on a pair of nets and a config.

Chapter 06 prints the course's DCGAN and shows each guideline in the printout; its ablations
each break one of them, and :func:`dcgan_guidelines` says which, read from the nets themselves
rather than from the options that built them. The guidelines, as the paper states them and as
they are checked here:

* ``strided``: no pooling or fixed upsampling; the side changes only through stride-2
  convolutions in D and stride-2 transposed ("fractionally strided") ones in G.
* ``batch_norm``: batch norm after every conv of G except its output layer, and of D except
  its input layer.
* ``no_hidden_fc``: no fully connected hidden layers; the only linear map on a flat vector
  is D's output (G's first layer maps ``z`` to a small image, which the paper allows).
* ``g_relu_tanh``: ReLU after every hidden layer of G, tanh at its output.
* ``d_leaky_relu``: LeakyReLU after every hidden layer of D.
* ``adam``: Adam with learning rate 2e-4 and beta1 0.5 for both nets.
* ``init``: every conv and linear weight drawn from N(0, 0.02) (checked on freshly built nets:
  the sample std of each weight tensor within 15% of 0.02).
"""

from __future__ import annotations

from torch import nn

GUIDELINES = {
    "strided": "strided convs in D and transposed convs in G, no pooling or upsampling",
    "batch_norm": "batch norm in G and D, except G's output and D's input layer",
    "no_hidden_fc": "no fully connected hidden layers",
    "g_relu_tanh": "ReLU in G's hidden layers, tanh at its output",
    "d_leaky_relu": "LeakyReLU in D's hidden layers",
    "adam": "Adam, learning rate 2e-4, beta1 0.5",
    "init": "weights drawn from N(0, 0.02)",
}
"""Name -> one-line statement of each guideline, in the paper's order."""

_CONVS = (nn.Conv2d, nn.ConvTranspose2d)
_RESIZE = (nn.MaxPool2d, nn.AvgPool2d, nn.AdaptiveAvgPool2d, nn.AdaptiveMaxPool2d, nn.Upsample)
_ACTIVATIONS = (nn.ReLU, nn.LeakyReLU, nn.Tanh, nn.Sigmoid, nn.ELU, nn.GELU, nn.SiLU, nn.PReLU)


def _layers(model: nn.Module) -> list[nn.Module]:
    """The model's layers in forward order (the DCGAN nets are one ``nn.Sequential``); a layer under
    spectral norm counts once, its parametrization's inner modules not at all."""
    known = (*_CONVS, nn.Linear, nn.modules.batchnorm._NormBase, *_ACTIVATIONS, *_RESIZE)
    return [m for m in model.modules() if isinstance(m, known)]


def _blocks(layers: list[nn.Module]) -> list[dict]:
    """Split the layers into blocks, each a conv or linear layer with what follows it up to the next one."""
    blocks: list[dict] = []
    for layer in layers:
        if isinstance(layer, (*_CONVS, nn.Linear)):
            blocks.append({"layer": layer, "norm": False, "activation": None, "resize": False})
        elif blocks:
            if isinstance(layer, nn.modules.batchnorm._BatchNorm):
                blocks[-1]["norm"] = True
            elif isinstance(layer, _ACTIVATIONS) and blocks[-1]["activation"] is None:
                blocks[-1]["activation"] = layer
            elif isinstance(layer, _RESIZE):
                blocks[-1]["resize"] = True
        if isinstance(layer, _RESIZE) and not blocks:
            return []  # resizing before any conv: not a DCGAN-shaped net
    return blocks


def _follows_strided(blocks_g: list[dict], blocks_d: list[dict], layers: list[nn.Module]) -> bool:
    if any(isinstance(m, _RESIZE) for m in layers):
        return False
    # every conv after G's projection of z (a 1x1 input) and every conv of D changes the side by stride 2
    convs_g = [b["layer"] for b in blocks_g[1:] if isinstance(b["layer"], _CONVS)]
    convs_d = [b["layer"] for b in blocks_d if isinstance(b["layer"], _CONVS)]
    return (all(isinstance(c, nn.ConvTranspose2d) and c.stride == (2, 2) for c in convs_g)
            and all(isinstance(c, nn.Conv2d) and c.stride == (2, 2) for c in convs_d))


def _init_std_ok(model: nn.Module, std: float = 0.02, tolerance: float = 0.15) -> bool:
    weights = [m.weight for m in model.modules() if isinstance(m, (*_CONVS, nn.Linear))]
    return all(abs(float(w.detach().float().std()) - std) <= tolerance * std for w in weights if w.numel() >= 100)


def dcgan_guidelines(G: nn.Module, D: nn.Module, config=None) -> dict[str, bool]:
    """Which of DCGAN's guidelines ``G`` and ``D`` (and ``config``, a TrainConfig) follow: name -> bool.

    Names and statements in :data:`GUIDELINES`; ``adam`` is left out without a config. Read from
    the nets' layers (any net built as one sequence of conv / norm / activation layers). The
    ``init`` check is meaningful on freshly built nets only. Chapter 06.
    """
    layers_g, layers_d = _layers(G), _layers(D)
    blocks_g, blocks_d = _blocks(layers_g), _blocks(layers_d)
    if not blocks_g or not blocks_d:
        raise ValueError("G and D must contain conv or linear layers in forward order "
                         "(e.g. gancourse.models.dcgan nets)")
    hidden_g, out_g = blocks_g[:-1], blocks_g[-1]
    hidden_d = blocks_d[:-1]  # D's last block is its output layer (a linear map to one logit)
    report = {
        "strided": _follows_strided(blocks_g, blocks_d, layers_g + layers_d),
        "batch_norm": (all(b["norm"] for b in hidden_g) and not out_g["norm"]
                       and not blocks_d[0]["norm"] and all(b["norm"] for b in hidden_d[1:])),
        "no_hidden_fc": (not any(isinstance(b["layer"], nn.Linear) for b in blocks_g)
                         and not any(isinstance(b["layer"], nn.Linear) for b in hidden_d)),
        "g_relu_tanh": (all(type(b["activation"]) is nn.ReLU for b in hidden_g)
                        and isinstance(out_g["activation"], nn.Tanh)),
        "d_leaky_relu": all(isinstance(b["activation"], nn.LeakyReLU) for b in hidden_d),
        "init": _init_std_ok(G) and _init_std_ok(D),
    }
    if config is not None:
        report["adam"] = (abs(config.lr_d - 2e-4) < 1e-12 and abs(config.lr_g - 2e-4) < 1e-12
                          and abs(config.betas[0] - 0.5) < 1e-12)
    return {name: report[name] for name in GUIDELINES if name in report}


def broken_guidelines(G: nn.Module, D: nn.Module, config=None) -> list[str]:
    """The names of the guidelines that ``G``, ``D`` and ``config`` break (empty for the course's DCGAN). Chapter 06."""
    return [name for name, ok in dcgan_guidelines(G, D, config).items() if not ok]
