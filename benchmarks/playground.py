"""How long one frame of chapter 00's playground takes. Run: ``python benchmarks/playground.py``.

A frame is what one tick of Play does: train ``steps_per_frame`` G steps (default 20), then redraw
both views (D's surface with G's arrows and the samples; the curves). Issue 12 asks for an update
"well under half a second" on a 2-core CPU at the default settings. Prints ``name: value`` lines:

* ``frame_train_ms`` / ``frame_draw_ms`` / ``frame_total_ms``: medians over ``--frames`` frames
  pressed with the Step button (the first frame, which warms up matplotlib, is left out);
* ``frame_total_over_budget``: the total divided by the 500 ms budget (goal: well below 1);
* ``frame_total_ms_4_seeds``: the same frame with 4 seeds side by side.

The process runs as a learner's (no thread variables are read or set here): gancourse picks threads.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import statistics
import sys
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from speed import device_name, load_average  # noqa: E402

BUDGET_S = 0.5


def frame_times(n_frames: int, n_seeds: int) -> tuple[float, float]:
    """Median seconds of training and of drawing per Step press, over ``n_frames`` presses after a warm-up one."""
    import matplotlib

    matplotlib.use("Agg")
    from gancourse.widgets.playground import playground
    from gancourse.widgets.session import Settings

    trains, draws = [], []
    with contextlib.redirect_stdout(io.StringIO()):  # outside a notebook, display() prints reprs
        widget = playground(Settings(n_seeds=n_seeds))
        widget.step_button.click()  # warm-up: first draw of each figure
        for _ in range(n_frames):
            widget.step_button.click()
            trains.append(widget.timings["train"])
            draws.append(widget.timings["draw"])
    if widget.errors.text:
        raise RuntimeError(f"the playground showed an error: {widget.errors.text}")
    return statistics.median(trains), statistics.median(draws)


def main(argv: list[str] | None = None) -> list[str]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--frames", type=int, default=15, help="Step presses timed (after one warm-up)")
    args = parser.parse_args(argv)
    import torch

    warnings.simplefilter("ignore")
    lines = [f"device: {device_name(torch.device('cpu'))}", f"load_average_before: {load_average()}"]
    train_s, draw_s = frame_times(args.frames, 1)
    total = train_s + draw_s
    lines += [f"frame_train_ms: {1000 * train_s:.0f}", f"frame_draw_ms: {1000 * draw_s:.0f}",
              f"frame_total_ms: {1000 * total:.0f}", f"frame_total_over_budget: {total / BUDGET_S:.2f}"]
    train4, draw4 = frame_times(args.frames, 4)
    lines += [f"frame_total_ms_4_seeds: {1000 * (train4 + draw4):.0f}", f"load_average_after: {load_average()}"]
    for line in lines:
        print(line, flush=True)
    return lines


if __name__ == "__main__":
    main()
