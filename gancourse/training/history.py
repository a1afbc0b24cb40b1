"""The per-step record of a training run, kept on the device and copied to the host in chunks.

Every training loop (:mod:`gancourse.training`) writes one row per G step; the
health monitor (:mod:`gancourse.diagnostics.health`), the plots and the chapters read it.
Recording never synchronises with the device: rows go into a device buffer and
are copied to the host only when the buffer is full or ``flush()`` is called.

A value is a 0-dim tensor for one GAN, or a ``(S,)`` tensor for ``S`` GANs
trained side by side (stacked seeds); ``history[key]`` is then ``(T,)`` or ``(T, S)``.
"""

from __future__ import annotations

import torch

KEYS = ("d_loss", "g_loss", "d_real", "d_fake", "d_grad_norm", "g_grad_norm")
"""What the training loop records each step: the losses, the mean of ``sigmoid(real_logits)``
and ``sigmoid(fake_logits)`` (``D(x)`` and ``D(G(z))``) and the L2 norms of D's and G's gradients."""


class History:
    """Per-step records ``key -> (T,)`` or ``(T, S)`` float32 values, plus the step index of each row.

    ``record(step, d_loss=..., ...)`` is cheap (one stack and one device copy);
    ``history["d_loss"]`` returns the host (CPU) tensor of every flushed row.
    """

    def __init__(self, keys: tuple[str, ...] = KEYS, flush_every: int = 100):
        if flush_every < 1:
            raise ValueError(f"flush_every must be >= 1, got {flush_every}")
        if len(set(keys)) != len(keys) or not keys:
            raise ValueError(f"keys must be distinct and non-empty, got {keys}")
        self.keys = tuple(keys)
        self.flush_every = flush_every
        self._steps: list[int] = []  # step index of every buffered or flushed row (host ints, no sync)
        self._host: list[torch.Tensor] = []  # flushed chunks, each (n, len(keys), *value_shape)
        self._buffer: torch.Tensor | None = None  # (flush_every, len(keys), *value_shape) on the device
        self._filled = 0

    def record(self, step: int, **values: torch.Tensor) -> None:
        """Add the row for ``step``; ``values`` must name exactly ``self.keys`` (tensors on one device)."""
        if values.keys() != set(self.keys):
            missing, extra = set(self.keys) - values.keys(), values.keys() - set(self.keys)
            raise KeyError(f"History.record needs exactly {self.keys}; missing {sorted(missing)}, "
                           f"unexpected {sorted(extra)}")
        row = torch.stack([torch.as_tensor(values[k]).detach().float() for k in self.keys])
        if self._buffer is None:
            self._buffer = torch.empty((self.flush_every, *row.shape), device=row.device)
        elif row.shape != self._buffer.shape[1:]:
            raise ValueError(f"every row must have shape {tuple(self._buffer.shape[1:])}, got {tuple(row.shape)}")
        self._buffer[self._filled].copy_(row)
        self._filled += 1
        self._steps.append(int(step))
        if self._filled == self.flush_every:
            self.flush()

    def flush(self) -> None:
        """Copy the buffered rows to the host (the one place a device sync happens)."""
        if self._buffer is not None and self._filled:
            # copy=True: on the CPU .cpu() would return a view of the buffer that the next rows overwrite
            self._host.append(self._buffer[: self._filled].to("cpu", copy=True))
            self._filled = 0

    def _rows(self) -> torch.Tensor:
        self.flush()
        if not self._host:
            return torch.empty((0, len(self.keys)))
        if len(self._host) > 1:  # keep one chunk so repeated reads stay cheap
            self._host = [torch.cat(self._host)]
        return self._host[0]

    def __getitem__(self, key: str) -> torch.Tensor:
        if key == "step":
            return self.steps
        if key not in self.keys:
            raise KeyError(f"no record {key!r}; this history has {('step', *self.keys)}")
        return self._rows()[:, self.keys.index(key)]

    @property
    def steps(self) -> torch.Tensor:
        """The step index of every row, ``(T,)`` int64."""
        return torch.tensor(self._steps, dtype=torch.int64)

    def __len__(self) -> int:
        return len(self._steps)

    def __contains__(self, key: object) -> bool:
        return key == "step" or key in self.keys

    def to_dict(self) -> dict[str, torch.Tensor]:
        """Every record as host tensors, ``step`` included."""
        rows = self._rows()
        return {"step": self.steps, **{k: rows[:, i] for i, k in enumerate(self.keys)}}

    @classmethod
    def from_dict(cls, records: dict[str, torch.Tensor], flush_every: int = 100) -> History:
        """Build a history from equal-length tensors (``step`` optional: defaults to 0..T-1).

        Used by tests and by chapters that replay a stored run.
        """
        keys = tuple(k for k in records if k != "step")
        lengths = {k: len(records[k]) for k in keys}
        if len(set(lengths.values())) > 1:
            raise ValueError(f"records must have equal lengths, got {lengths}")
        history = cls(keys, flush_every)
        n = next(iter(lengths.values()), 0)
        steps = records.get("step", torch.arange(n))
        history._steps = [int(s) for s in steps]
        if n:
            history._host = [torch.stack([torch.as_tensor(records[k]).float() for k in keys], dim=1)]
        return history

    def state_dict(self) -> dict:
        """Plain tensors and lists, for checkpoints (``torch.load(weights_only=True)`` reads it)."""
        return {"keys": list(self.keys), "flush_every": self.flush_every,
                "steps": self.steps, "rows": self._rows().clone()}

    def load_state_dict(self, state: dict) -> None:
        self.keys = tuple(state["keys"])
        self.flush_every = int(state["flush_every"])
        self._steps = [int(s) for s in state["steps"]]
        self._host = [state["rows"]] if len(self._steps) else []
        self._buffer, self._filled = None, 0
