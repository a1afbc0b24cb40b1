"""Train the Fashion-MNIST DCGAN that chapter 03 starts from, and write its weights with a checksum.

Chapter 03 needs a GAN that already makes recognizable garments, to show what happens when
its G trains on against a frozen D (the Helvetica scenario on images). Training one takes
minutes on a 2-core CPU, more than the chapter's budget, so it is trained once here, with
the course's DCGAN set-up (Radford et al. 2016; :mod:`gancourse.models.dcgan`): width 32, ``z`` of
64 dimensions, batch 64, non-saturating loss, Adam lr 2e-4, betas (0.5, 0.999), on the
60,000 training images. Writes, under ``gancourse/weights/``:

* ``fashion_dcgan.pt``: ``{"G": state_dict, "D": state_dict}`` (``torch.load(weights_only=True)``),
* ``fashion_dcgan.sha256``: its checksum in ``sha256sum`` format (checked by
  :func:`gancourse.models.pretrained.load_fashion_dcgan`),
* ``fashion_dcgan.json``: the set-up, the FID on the test split, training time, versions.

Usage::

    python scripts/train_fashion_dcgan.py                 # defaults: seed 0, 256,000 images
    python scripts/train_fashion_dcgan.py --device cuda
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

import torch

from gancourse import datasets
from gancourse.metrics import FIDScorer, load_classifier
from gancourse.metrics.classifier import file_sha256
from gancourse.models import dcgan
from gancourse.models.pretrained import DCGAN_CHECKSUM_PATH, DCGAN_SETUP, DCGAN_WEIGHTS_PATH
from gancourse.training import TrainConfig, train
from gancourse.training.seeds import init_models


def write_atomically(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` so that a reader never sees a half-written file."""
    tmp = path.with_name(f".{path.name}.partial")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--images", type=int, default=256_000, help="training images seen (G steps x batch)")
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()
    device = torch.device(args.device)
    setup = DCGAN_SETUP
    x_train, _ = datasets.fashion_mnist("train", device=device)
    x_test, _ = datasets.fashion_mnist("test", device=device)
    G, D = init_models(args.seed, lambda: dcgan.DCGANGenerator(z_dim=setup["z_dim"], width=setup["width"]),
                       lambda: dcgan.DCGANDiscriminator(width=setup["width"]))
    config = TrainConfig(steps=args.images // setup["batch_size"], batch_size=setup["batch_size"],
                         lr_d=setup["lr"], lr_g=setup["lr"], betas=tuple(setup["betas"]), seed=args.seed,
                         log_every=500, progress=True)
    start, cpu_start = time.perf_counter(), time.process_time()
    result = train(G, D, x_train, config, device=device)
    seconds, cpu_seconds = time.perf_counter() - start, time.process_time() - cpu_start

    G, D = result.G.eval(), result.D.eval()
    z = torch.randn(10_000, setup["z_dim"], generator=torch.Generator().manual_seed(1)).to(device)
    with torch.no_grad():
        samples = torch.cat([G(z[i : i + 1000]) for i in range(0, len(z), 1000)])
    fid = FIDScorer(x_test, load_classifier(device))(samples)

    state = {"G": {k: v.cpu() for k, v in G.state_dict().items()},
             "D": {k: v.cpu() for k, v in D.state_dict().items()}}
    DCGAN_WEIGHTS_PATH.parent.mkdir(parents=True, exist_ok=True)
    tmp = DCGAN_WEIGHTS_PATH.with_name(f".{DCGAN_WEIGHTS_PATH.name}.partial")
    torch.save(state, tmp)
    os.replace(tmp, DCGAN_WEIGHTS_PATH)
    digest = file_sha256(DCGAN_WEIGHTS_PATH)
    write_atomically(DCGAN_CHECKSUM_PATH, f"{digest}  {DCGAN_WEIGHTS_PATH.name}\n".encode())
    info = {**setup, "seed": args.seed, "images_seen": config.steps * config.batch_size, "steps": config.steps,
            "fid_test_10k": round(fid, 2), "train_seconds": round(seconds, 1),
            "train_cpu_seconds": round(cpu_seconds, 1), "device": str(device), "torch_threads": torch.get_num_threads(),
            "sha256": digest, "torch": torch.__version__, "python": platform.python_version()}
    write_atomically(DCGAN_WEIGHTS_PATH.with_suffix(".json"), (json.dumps(info, indent=2) + "\n").encode())
    print(json.dumps(info, indent=2))


if __name__ == "__main__":
    main()
