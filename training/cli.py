"""Command line of the trainer: parse options, train, evaluate, write the artifact."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from service.artifact import ArtifactError, read_metadata
from service.devices import ALLOWED_DEVICES, DeviceUnavailable, resolve_device
from training.config import LOSSES, OPTIMIZERS, PRESETS, SCHEDULES, TrainConfig
from training.csvdata import DataFileError
from training.evaluate import summary_lines
from training.pipeline import TrainedArtifact, train_artifact
from training.recipes import FULL_BATCH_MAX_POINTS, RecipeError
from training.report import ReportUnavailable, require_matplotlib
from training.trainer import describe_loss


class _HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    # Recipe options default to None ("the preset decides"), and "(default: None)" would mislead.
    def _get_help_string(self, action: argparse.Action) -> str | None:
        if action.default is None:
            return action.help
        return super()._get_help_string(action)


def build_parser() -> argparse.ArgumentParser:
    defaults = TrainConfig()
    parser = argparse.ArgumentParser(
        prog="python -m training",
        description="Train the surface model y = f(x0, x1) on the built-in data "
        "(sin(x0) + cos(x1) + noise) or a CSV file, evaluate it on held-out points and "
        "save it as a TorchScript artifact for the service.",
        formatter_class=_HelpFormatter,
    )
    data = parser.add_argument_group("data")
    data.add_argument(
        "--data",
        type=Path,
        help="CSV file with a header naming the columns x0, x1 and y, then one point per "
        "line; replaces the built-in data (--samples and --noise then do nothing)",
    )
    data.add_argument(
        "--samples", type=int, default=defaults.samples, help="number of training points (count)"
    )
    data.add_argument(
        "--noise",
        type=float,
        default=defaults.noise,
        help="standard deviation of the Gaussian noise added to y (units of y)",
    )
    data.add_argument(
        "--validation-share",
        type=float,
        default=defaults.validation_share,
        help="share of the rows of --data held out for early stopping and evaluation",
    )

    network = parser.add_argument_group("network")
    network.add_argument(
        "--hidden", type=int, default=defaults.hidden, help="width of each hidden layer (neurons)"
    )
    network.add_argument(
        "--layers",
        type=int,
        default=defaults.layers,
        choices=(1, 2),
        help="number of hidden layers",
    )

    recipe = parser.add_argument_group(
        "recipe",
        "The preset picks every option below; an option given here replaces the preset's "
        f"choice. default: full-batch L-BFGS on standardised inputs and targets with a small "
        f"L2 penalty and early stopping, or minibatch Adam with a cosine schedule above "
        f"{FULL_BATCH_MAX_POINTS} points. tutorial: the PyTorch tutorial's summed squared "
        "error, Adam at lr 1e-3, 2000 full-batch steps on raw inputs, last weights kept.",
    )
    recipe.add_argument("--preset", choices=PRESETS, default=defaults.preset, help="recipe preset")
    recipe.add_argument("--optimizer", choices=OPTIMIZERS, help="optimiser")
    recipe.add_argument(
        "--steps", type=int, help="optimiser steps: L-BFGS iterations or Adam updates"
    )
    recipe.add_argument(
        "--lr", type=float, help="learning rate (for L-BFGS: the first trial step length)"
    )
    recipe.add_argument(
        "--batch-size", type=int, help="points per Adam step (count); 0 for the full batch"
    )
    recipe.add_argument("--schedule", choices=SCHEDULES, help="Adam learning-rate schedule")
    recipe.add_argument(
        "--loss", choices=LOSSES, help="reduction of the squared error: mean or sum"
    )
    recipe.add_argument(
        "--weight-decay",
        type=float,
        help="L2 penalty on the weight matrices, added to the loss (0 turns it off)",
    )
    recipe.add_argument(
        "--standardise",
        action=argparse.BooleanOptionalAction,
        help="standardise inputs and targets inside the model",
    )
    recipe.add_argument(
        "--early-stopping",
        action=argparse.BooleanOptionalAction,
        help="stop at the noise floor (built-in data) or when validation stops improving "
        "(--data), and keep the best weights",
    )

    run = parser.add_argument_group("run and output")
    run.add_argument(
        "--seed", type=int, default=defaults.seed, help="random seed for data and initial weights"
    )
    run.add_argument(
        "--device", default=defaults.device, help=f"torch device to train on: {ALLOWED_DEVICES}"
    )
    run.add_argument(
        "--threads",
        type=int,
        help="torch threads while training (default: 1 below 50,000 points per step, "
        "else the CPU quota)",
    )
    run.add_argument(
        "--extrapolation-mass",
        type=float,
        default=defaults.extrapolation_mass,
        help="share of the training points inside the region the service does not flag as "
        "extrapolation (0.5 to 1)",
    )
    run.add_argument("--out", type=Path, default=defaults.out, help="artifact path to write")
    run.add_argument(
        "--report",
        type=Path,
        metavar="DIR",
        help="also write PNG pictures and report.json into DIR (needs matplotlib: "
        "pip install -e '.[report]' in a checkout)",
    )
    run.add_argument(
        "--skip-existing",
        action="store_true",
        help="skip training when --out already contains a readable artifact",
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)

    config = _config(args)
    try:
        config.validate()
    except ValueError as error:
        parser.error(str(error))
    if args.threads is not None and args.threads < 1:
        parser.error(f"--threads must be at least 1, got {args.threads}")
    # Checked before training, so a wrong path costs no training run.
    problem = _output_problem(Path(config.out), args.report)
    if problem is not None:
        parser.error(problem)
    if args.report is not None:
        try:
            require_matplotlib()
        except ReportUnavailable as error:
            print(f"training: error: {error}", file=sys.stderr)
            return 2

    if args.skip_existing and _usable_artifact(config.out):
        return 0

    try:
        device = resolve_device(config.device)
    except (ValueError, DeviceUnavailable) as error:
        print(f"training: error: {error}", file=sys.stderr)
        return 2

    started = time.perf_counter()
    try:
        trained = train_artifact(config, device, threads=args.threads, report_dir=args.report)
    except (DataFileError, RecipeError) as error:
        print(f"training: error: {error}", file=sys.stderr)
        return 2
    _print_summary(trained, time.perf_counter() - started, args.report)
    return 0


def _config(args: argparse.Namespace) -> TrainConfig:
    return TrainConfig(
        samples=args.samples,
        noise=args.noise,
        hidden=args.hidden,
        layers=args.layers,
        seed=args.seed,
        device=args.device,
        out=args.out,
        data=args.data,
        preset=args.preset,
        optimizer=args.optimizer,
        steps=args.steps,
        lr=args.lr,
        batch_size=args.batch_size,
        schedule=args.schedule,
        loss=args.loss,
        weight_decay=args.weight_decay,
        standardise=args.standardise,
        early_stopping=args.early_stopping,
        validation_share=args.validation_share,
        extrapolation_mass=args.extrapolation_mass,
    )


def _output_problem(out: Path, report: Path | None) -> str | None:
    if out.is_dir():
        example = out / "surface.pt"
        return f"--out {out} is a folder; give the artifact's file path, such as {example}"
    blocking = next((folder for folder in out.parents if folder.exists()), None)
    if blocking is not None and not blocking.is_dir():
        return f"--out {out} cannot be written, because {blocking} is a file, not a folder"
    if report is not None and report.exists() and not report.is_dir():
        return f"--report {report} is a file; give a folder for the pictures and report.json"
    return None


def _print_summary(trained: TrainedArtifact, seconds: float, report: Path | None) -> None:
    result = trained.result
    print(
        f"stopped after {result.steps_run} steps: {result.outcome.stop_reason}; kept the "
        f"weights of step {result.outcome.best_step}"
    )
    print(
        f"final loss {result.final_loss:.6g} ({describe_loss(result.recipe)}), training MSE "
        f"{result.training_mse:.6g} in squared units of y; {result.cpu_seconds:.1f} s CPU in "
        f"the training loop, {seconds:.1f} s in all"
    )
    if result.outcome.message:
        print(f"training: warning: {result.outcome.message}", file=sys.stderr)
    for line in summary_lines(trained.metrics):
        print(line)
    metadata = trained.metadata
    print(f"wrote {trained.path} (model {metadata['name']} version {metadata['version']})")
    if report is not None:
        print(f"wrote the report to {report}")


def _usable_artifact(path: Path) -> bool:
    if not path.exists():
        return False
    try:
        metadata = read_metadata(path)
    except ArtifactError as error:
        print(f"existing artifact is unusable, training a new one: {error}")
        return False
    print(
        f"artifact {path} exists (model {metadata['name']} version "
        f"{metadata['version']}); skipping training"
    )
    return True
