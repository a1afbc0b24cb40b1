"""benchmarks/speed.py runs and prints every figure it documents (its timings are not tested)."""


import torch
from script_loader import load_script


def load_speed():
    return load_script("benchmarks/speed.py")


def test_the_benchmark_runs_and_prints_its_figures(capsys):
    lines = load_speed().main(["--smoke", "--device", "cpu"])
    names = {line.split(":", 1)[0] for line in lines}
    for name in ("batched_seeds_speedup", "plain_loop_batched_seeds_speedup", "dcgan_cpu_speedup_vs_reference",
                 "dcgan_cpu_speedup_vs_reference_in_memory", "dcgan_engine_images_per_s",
                 "dcgan_reference_images_per_s", "load_average_after", "busy_machine_slowdown", "busy_machine_threads"):
        assert name in names
    figures = dict(line.split(": ", 1) for line in lines)
    assert float(figures["batched_seeds_speedup"]) > 0 and float(figures["busy_machine_slowdown"]) > 0
    assert capsys.readouterr().out.count("\n") == len(lines)


def test_the_recipe_dataset_serves_the_images_it_was_given():
    """The example's per-sample PIL pipeline returns the course's [-1, 1] pixels (to 1/255)."""
    images = torch.rand(4, 1, 28, 28, generator=torch.Generator().manual_seed(0)) * 2 - 1
    images = ((images + 1) * 127.5).round() / 127.5 - 1  # on the 8-bit grid, as Fashion-MNIST is
    dataset = load_speed().RecipeImages(images)
    x, _ = dataset[2]
    assert x.shape == (1, 28, 28)
    torch.testing.assert_close(x, images[2], atol=1e-5, rtol=0)
