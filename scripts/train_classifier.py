"""Train the Fashion-MNIST classifier whose features give FID and whose predictions give class histograms.

Writes, under ``gancourse/weights/``:

* ``fashion_classifier.pt``: the ``state_dict`` (read back with ``torch.load(weights_only=True)``),
* ``fashion_classifier.sha256``: its checksum in ``sha256sum`` format (checked by ``load_classifier``),
* ``fashion_classifier.json``: test accuracy, seed, epochs, training time, versions.

Runs on the CPU in a few minutes (2 cores), or on a GPU if ``--device cuda``::

    python scripts/train_classifier.py            # defaults: seed 0, 4 epochs
    python scripts/train_classifier.py --epochs 8 --device cuda

The loop is plain minibatch Adam with a one-cycle learning rate and random
horizontal flips (clothes look the same mirrored); the data stays on the device
and every minibatch is a slice of a fresh random permutation.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import time
from pathlib import Path

import torch
import torch.nn.functional as F

from gancourse.datasets import fashion_mnist
from gancourse.metrics.classifier import CHECKSUM_PATH, WEIGHTS_PATH, FashionClassifier


@torch.no_grad()
def accuracy(model: torch.nn.Module, images: torch.Tensor, labels: torch.Tensor, batch_size: int = 1000) -> float:
    """Fraction of ``images`` (N, 1, 28, 28) whose argmax logit equals ``labels`` (N,)."""
    model.eval()
    correct = torch.zeros((), dtype=torch.long, device=images.device)
    for start in range(0, len(images), batch_size):
        logits = model(images[start : start + batch_size])
        correct += (logits.argmax(1) == labels[start : start + batch_size]).sum()
    return correct.item() / len(images)


def random_hflip(x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Mirror each image of ``x`` (B, 1, H, W) left-right with probability 1/2."""
    flip = torch.rand(len(x), 1, 1, 1, generator=generator, device=x.device) < 0.5
    return torch.where(flip, x.flip(-1), x)


def write_atomically(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` so that a reader never sees a half-written file."""
    tmp = path.with_name(f".{path.name}.partial")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--lr", type=float, default=3e-3, help="peak learning rate of the one-cycle schedule")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=None,
                        help="CPU threads (default: torch's choice); 1 is faster on a machine shared with other jobs")
    parser.add_argument("--out", type=Path, default=WEIGHTS_PATH, help="where the weights go")
    args = parser.parse_args()
    if args.epochs < 1 or args.batch_size < 1:
        parser.error("--epochs and --batch-size must be >= 1")

    if args.threads is not None:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    torch.manual_seed(args.seed)  # the initial weights
    generator = torch.Generator(device=device).manual_seed(args.seed)  # minibatches and flips
    x_train, y_train = fashion_mnist("train", device=device)  # (60000, 1, 28, 28) in [-1, 1], (60000,)
    x_test, y_test = fashion_mnist("test", device=device)

    model = FashionClassifier().to(device)
    opt = torch.optim.Adam(model.parameters(), lr=args.lr)
    steps_per_epoch = len(x_train) // args.batch_size  # drop the last partial batch
    schedule = torch.optim.lr_scheduler.OneCycleLR(opt, args.lr, total_steps=args.epochs * steps_per_epoch)

    start, cpu_start = time.perf_counter(), time.process_time()
    for epoch in range(args.epochs):
        model.train()
        order = torch.randperm(len(x_train), generator=generator, device=device)
        loss_sum = torch.zeros((), device=device)  # summed on the device: no host sync per step
        for step in range(steps_per_epoch):
            idx = order[step * args.batch_size : (step + 1) * args.batch_size]
            x, y = random_hflip(x_train[idx], generator), y_train[idx]
            loss = F.cross_entropy(model(x), y)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            schedule.step()
            loss_sum += loss.detach()
        test_acc = accuracy(model, x_test, y_test)
        print(
            f"epoch {epoch + 1}/{args.epochs}  train loss {loss_sum.item() / steps_per_epoch:.4f}  "
            f"test accuracy {test_acc:.4f}  ({time.perf_counter() - start:.0f} s)",
            flush=True,
        )
    seconds = time.perf_counter() - start
    cpu_seconds = time.process_time() - cpu_start  # summed over threads; wall time varies with other load

    # the state dict goes to the CPU so that the file loads on any machine
    state = {name: tensor.cpu() for name, tensor in model.state_dict().items()}
    tmp = args.out.with_name(f".{args.out.name}.partial")
    torch.save(state, tmp)
    os.replace(tmp, args.out)
    digest = hashlib.sha256(args.out.read_bytes()).hexdigest()
    checksum_path = CHECKSUM_PATH if args.out == WEIGHTS_PATH else args.out.with_suffix(".sha256")
    write_atomically(checksum_path, f"{digest}  {args.out.name}\n".encode())
    report = {
        "test_accuracy": test_acc,
        "seed": args.seed,
        "epochs": args.epochs,
        "batch_size": args.batch_size,
        "peak_lr": args.lr,
        "train_seconds": round(seconds, 1),
        "train_cpu_seconds": round(cpu_seconds, 1),
        "device": str(device),
        "torch_threads": torch.get_num_threads(),
        "n_parameters": sum(p.numel() for p in model.parameters()),
        "num_features": model.num_features,
        "sha256": digest,
        "torch": torch.__version__,
        "python": platform.python_version(),
    }
    write_atomically(args.out.with_suffix(".json"), (json.dumps(report, indent=2) + "\n").encode())
    print(f"test accuracy {test_acc:.4f} after {args.epochs} epochs in {seconds:.0f} s; wrote {args.out}")


if __name__ == "__main__":
    main()
