"""Benchmark of training recipes on the built-in data: CPU time and held-out RMSE.

Each recipe trains on the built-in data for a few seeds with one torch thread.
CPU time is the process time of the training loop only (data, evaluation and
export excluded). The RMSE is against the clean function sin(x0) + cos(x1) on
100,000 fresh points from the training distribution, overall, in the dense
region (abs(x0), abs(x1) < pi) and in the outskirts (a coordinate beyond 2 pi).

    python -m benchmarks.training_recipes                 # every recipe, 3 seeds
    python -m benchmarks.training_recipes --recipes default tutorial --seeds 5
    python -m benchmarks.training_recipes --jobs 2        # runs in 2 processes

Run it on a quiet machine: other processes on the same cores inflate CPU time.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, replace

import torch

from training.config import TrainConfig
from training.density import build_density
from training.evaluate import evaluate
from training.trainer import train

CPU = torch.device("cpu")
# Models averaged by the ensemble recipe.
ENSEMBLE_SIZE = 4


@dataclass(frozen=True)
class RecipeSpec:
    name: str
    description: str
    config: TrainConfig
    ensemble: int = 1


RECIPES = [
    RecipeSpec(
        "tutorial",
        "tutorial recipe: sum-MSE, Adam 1e-3, 2000 full-batch steps (--preset tutorial)",
        TrainConfig(preset="tutorial"),
    ),
    RecipeSpec(
        "adam-5000",
        "standardised inputs, Adam 1e-3, 5000 full-batch steps",
        TrainConfig(preset="tutorial", standardise=True, steps=5000),
    ),
    RecipeSpec(
        "lbfgs-1000",
        "standardised inputs, full-batch L-BFGS, 1000 iterations, no penalty, no early stop",
        TrainConfig(steps=1000, weight_decay=0.0, early_stopping=False),
    ),
    RecipeSpec(
        "lbfgs-1000-ensemble",
        f"same, ensemble of {ENSEMBLE_SIZE} (mean of the predictions)",
        TrainConfig(steps=1000, weight_decay=0.0, early_stopping=False),
        ensemble=ENSEMBLE_SIZE,
    ),
    RecipeSpec(
        "default",
        "surfserve default: standardised, L-BFGS, L2 penalty 1e-5, up to 1500 iterations, "
        "noise-floor stop",
        TrainConfig(),
    ),
    RecipeSpec(
        "large",
        "tutorial architecture, N=100,000, minibatch Adam 1024, cosine lr 3e-2, 50k steps",
        TrainConfig(samples=100_000),
    ),
]


class _Ensemble(torch.nn.Module):
    def __init__(self, members: list[torch.nn.Module]) -> None:
        super().__init__()
        self.members = torch.nn.ModuleList(members)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.stack([member(x) for member in self.members]).mean(dim=0)


def run_one(spec: RecipeSpec, seed: int) -> dict[str, float]:
    """Train one recipe for one seed; return CPU seconds and the RMSE figures."""
    torch.set_num_threads(1)
    config = replace(spec.config, seed=seed, device="cpu")

    # The first member draws the data as `python -m training --seed` does; the others
    # train on the same draw from their own initial weights.
    first = train(config, CPU, log=lambda line: None, threads=1)
    data = first.data
    results = [first]
    for member in range(1, spec.ensemble):
        member_config = replace(config, seed=seed * 1000 + member)
        results.append(train(member_config, CPU, log=lambda line: None, threads=1, data=data))
    members = [result.model.eval() for result in results]
    cpu_seconds = sum(result.cpu_seconds for result in results)
    stalled = sum(result.outcome.stalled for result in results)

    model = members[0] if len(members) == 1 else _Ensemble(members)
    density = build_density(data.x, config.extrapolation_mass)
    metrics = evaluate(model, data, seed, density.extrapolation)
    return {
        "cpu_seconds": cpu_seconds,
        "dense": metrics["rmse_clean_dense"],
        "whole": metrics["rmse_clean"],
        "outskirts": metrics["rmse_clean_outskirts"],
        "stalled": stalled,
    }


def _summary(values: list[float]) -> str:
    median = statistics.median(values)
    if len(values) < 2:
        return f"{median:.4f}"
    return f"{median:.4f} ({min(values):.4f} to {max(values):.4f})"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--recipes",
        nargs="+",
        choices=[spec.name for spec in RECIPES],
        default=[spec.name for spec in RECIPES],
        help="recipes to run",
    )
    parser.add_argument("--seeds", type=int, default=3, help="seeds per recipe (0, 1, ...)")
    parser.add_argument("--jobs", type=int, default=1, help="processes running recipes at once")
    args = parser.parse_args(argv)

    specs = [spec for spec in RECIPES if spec.name in args.recipes]
    tasks = [(spec, seed) for spec in specs for seed in range(args.seeds)]
    with ProcessPoolExecutor(max_workers=args.jobs) as pool:
        results = list(pool.map(run_one, *zip(*tasks, strict=True)))

    print(
        f"# {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
        f"load average {os.getloadavg()[0]:.1f}, torch {torch.__version__}, "
        f"python {sys.version.split()[0]}, {args.seeds} seeds, {args.jobs} job(s)"
    )
    print("| recipe | CPU time, s | RMSE dense region | RMSE whole distribution | "
          "RMSE outskirts | stalled |")  # fmt: skip
    print("|---|---|---|---|---|---|")
    for spec in specs:
        rows = [row for (task, _), row in zip(tasks, results, strict=True) if task is spec]
        print(
            f"| {spec.description} | {statistics.median(r['cpu_seconds'] for r in rows):.1f} | "
            f"{_summary([r['dense'] for r in rows])} | {_summary([r['whole'] for r in rows])} | "
            f"{_summary([r['outskirts'] for r in rows])} | "
            f"{sum(r['stalled'] for r in rows)} of {len(rows) * spec.ensemble} |"
        )
    print("Figures: median over seeds (min to max); CPU time: median, training loop only.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
