"""Command line of the trainer: parse options, train, evaluate, write the artifact."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch

from service.artifact import ArtifactError, read_metadata
from service.devices import ALLOWED_DEVICES, DeviceUnavailable, resolve_device
from training.config import TrainConfig
from training.data import input_domain
from training.evaluate import evaluate
from training.export import export_artifact
from training.trainer import train


def build_parser() -> argparse.ArgumentParser:
    defaults = TrainConfig()
    parser = argparse.ArgumentParser(
        prog="python -m training",
        description="Train the surface model y = sin(x0) + cos(x1) + noise and save it as "
        "a TorchScript artifact for the service.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument(
        "--samples", type=int, default=defaults.samples, help="number of training points (count)"
    )
    parser.add_argument(
        "--noise",
        type=float,
        default=defaults.noise,
        help="standard deviation of the Gaussian noise added to y (units of y)",
    )
    parser.add_argument(
        "--hidden", type=int, default=defaults.hidden, help="width of each hidden layer (neurons)"
    )
    parser.add_argument(
        "--layers",
        type=int,
        default=defaults.layers,
        choices=(1, 2),
        help="number of hidden layers",
    )
    parser.add_argument(
        "--steps", type=int, default=defaults.steps, help="optimiser steps (full-batch iterations)"
    )
    parser.add_argument("--lr", type=float, default=defaults.lr, help="Adam learning rate")
    parser.add_argument(
        "--seed", type=int, default=defaults.seed, help="random seed for data and initial weights"
    )
    parser.add_argument(
        "--device", default=defaults.device, help=f"torch device to train on: {ALLOWED_DEVICES}"
    )
    parser.add_argument(
        "--threads",
        type=int,
        default=1,
        help="torch threads while training (1 is fastest for small data)",
    )
    parser.add_argument("--out", type=Path, default=defaults.out, help="artifact path to write")
    parser.add_argument(
        "--skip-existing",
        action="store_true",
        help="do nothing when --out already holds a readable artifact",
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)

    config = TrainConfig(
        samples=args.samples,
        noise=args.noise,
        hidden=args.hidden,
        layers=args.layers,
        steps=args.steps,
        lr=args.lr,
        seed=args.seed,
        device=args.device,
        out=args.out,
    )
    try:
        config.validate()
    except ValueError as error:
        parser.error(str(error))
    if args.threads < 1:
        parser.error(f"--threads must be at least 1, got {args.threads}")

    if args.skip_existing and _usable_artifact(config.out):
        return 0

    try:
        device = resolve_device(config.device)
    except (ValueError, DeviceUnavailable) as error:
        print(f"training: error: {error}", file=sys.stderr)
        return 2

    torch.set_num_threads(args.threads)
    print(
        f"training on {device}: {config.samples} samples, {config.steps} steps, seed {config.seed}"
    )
    started = time.perf_counter()
    result = train(config, device)
    seconds = time.perf_counter() - started

    metrics = evaluate(result.model, config.noise, config.seed)
    metadata = export_artifact(
        result.model, config, result.final_loss, metrics, input_domain(result.x), config.out
    )

    print(
        f"final loss {result.final_loss:.4f} (sum of squared errors over "
        f"{config.samples} points) after {seconds:.1f} s"
    )
    print(
        f"held-out RMSE {metrics['rmse_clean']:.4f} against sin(x0) + cos(x1), "
        f"{metrics['rmse_noisy']:.4f} against noisy targets (noise {config.noise})"
    )
    print(f"wrote {config.out} (model {metadata['name']} version {metadata['version']})")
    return 0


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
