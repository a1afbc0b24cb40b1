"""The benchmarks' busy core is bounded and always killed; benchmarks/threads.py runs and prints its figures."""

import os
import time
from pathlib import Path

import pytest
import torch
from script_loader import load_script


def load(name):
    return load_script(f"benchmarks/{name}.py")


def _cpu_ticks(pid: int) -> int:
    """User CPU time of a process in clock ticks (Linux /proc, field 14)."""
    return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[11])


def test_the_busy_core_spins_while_the_block_runs_and_is_killed_after_it():
    speed = load("speed")
    with speed.busy_core(seconds=60) as spinner:
        assert spinner.poll() is None  # running
        if Path(f"/proc/{spinner.pid}/stat").is_file():
            before = _cpu_ticks(spinner.pid)
            time.sleep(1.0)
            assert _cpu_ticks(spinner.pid) > before  # it burns CPU while the block runs, not only at start-up
    assert spinner.poll() is not None  # killed at the end of the block, long before its 60 s


def test_the_busy_core_is_killed_when_the_block_raises():
    speed = load("speed")
    with pytest.raises(KeyError), speed.busy_core(seconds=60) as spinner:
        raise KeyError
    assert spinner.poll() is not None


def test_the_busy_core_stops_by_itself_after_its_time():
    speed = load("speed")
    with speed.busy_core(seconds=0.5) as spinner:
        assert spinner.wait(timeout=30) == 0  # ran out on its own, cleanly


def test_as_a_learner_removes_the_thread_variables_and_puts_them_back(monkeypatch):
    speed = load("speed")
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    before = torch.get_num_threads()
    with speed.as_a_learner():
        assert "OMP_NUM_THREADS" not in os.environ
        assert torch.get_num_threads() == speed.threads.default_threads()
    assert os.environ["OMP_NUM_THREADS"] == "1" and torch.get_num_threads() == before


def test_the_threads_benchmark_runs_and_prints_its_figures(capsys):
    lines = load("threads").main(["--smoke", "--only", "gan2d_w64_b64"])
    names = [line.split(":", 1)[0] for line in lines]
    assert names[0] == "threads" and "gan2d_w64_b64" in names and "idle_threads_pay_from_mflop" in names
    line = next(line for line in lines if line.startswith("gan2d_w64_b64"))
    assert "MFLOP" in line and "idle 1t" in line and "busy 1t" in line
    assert capsys.readouterr().out.count("\n") == len(lines)
