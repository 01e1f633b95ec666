import re

import pytest
import torch

from service.artifact import load_artifact
from training.cli import build_parser, main
from training.config import TrainConfig
from training.trainer import train

CPU = torch.device("cpu")


def test_same_seed_gives_identical_weights():
    config = TrainConfig(samples=200, steps=40, hidden=8, seed=11)

    first = train(config, CPU, log=lambda line: None).model.state_dict()
    second = train(config, CPU, log=lambda line: None).model.state_dict()

    assert first.keys() == second.keys()
    for name in first:
        assert torch.equal(first[name], second[name]), name


def test_other_seed_gives_other_weights():
    first = train(TrainConfig(samples=200, steps=5, hidden=8, seed=1), CPU, log=lambda _: None)
    second = train(TrainConfig(samples=200, steps=5, hidden=8, seed=2), CPU, log=lambda _: None)

    assert not torch.equal(first.model.net[0].weight, second.model.net[0].weight)


def test_loss_decreases_and_is_logged():
    lines: list[str] = []
    config = TrainConfig(samples=300, steps=250, hidden=16, preset="tutorial")

    result = train(config, CPU, log=lines.append)

    assert lines[0].startswith("training on cpu: 300 points from built-in, adam lr 0.001")
    assert lines[1] == "step loss"
    assert [line.split()[0] for line in lines[2:]] == ["0", "100", "200", "250"]
    assert result.history[-1].loss < result.history[0].loss
    assert result.steps_run == 250
    assert [c.step for c in result.history] == list(range(0, 251, 10))


def test_cli_writes_artifact(tmp_path, capsys):
    out = tmp_path / "models" / "surface.pt"

    code = main(
        [
            "--samples",
            "200",
            "--steps",
            "30",
            "--hidden",
            "8",
            "--layers",
            "1",
            "--seed",
            "5",
            "--device",
            "cpu",
            "--out",
            str(out),
        ]
    )

    assert code == 0
    loaded = load_artifact(out, CPU)
    assert loaded.metadata["training"]["layers"] == 1
    assert loaded.metadata["architecture"]["hidden_layers"] == 1
    assert loaded.metadata["seed"] == 5
    printed = capsys.readouterr().out
    assert "0 " in printed
    assert f"wrote {out}" in printed


def test_cli_skip_existing(tmp_path, capsys):
    out = tmp_path / "surface.pt"
    args = [
        "--samples",
        "100",
        "--steps",
        "5",
        "--hidden",
        "4",
        "--device",
        "cpu",
        "--out",
        str(out),
    ]
    main(args)
    written = out.read_bytes()

    code = main([*args, "--seed", "9", "--skip-existing"])

    assert code == 0
    assert out.read_bytes() == written
    assert "skipping training" in capsys.readouterr().out


def test_cli_skip_existing_replaces_corrupt_artifact(tmp_path, capsys):
    out = tmp_path / "surface.pt"
    out.write_bytes(b"garbage")

    code = main(
        [
            "--samples",
            "100",
            "--steps",
            "5",
            "--hidden",
            "4",
            "--device",
            "cpu",
            "--out",
            str(out),
            "--skip-existing",
        ]
    )

    assert code == 0
    assert load_artifact(out, CPU).metadata["training"]["steps"] == 5
    assert "existing artifact is unusable" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("options", "loss"),
    [
        ([], "mean squared error on standardised targets + L2 penalty"),
        (["--preset", "tutorial"], "summed squared error on raw targets"),
        (["--preset", "tutorial", "--standardise"], "summed squared error on standardised targets"),
        (["--no-standardise"], "mean squared error on raw targets + L2 penalty"),
    ],
)
def test_cli_summary_describes_loss(tmp_path, capsys, options, loss):
    argv = ["--samples", "100", "--steps", "20", "--hidden", "4", "--device", "cpu"]

    code = main([*argv, "--out", str(tmp_path / "m.pt"), *options])

    assert code == 0
    lines = [line for line in capsys.readouterr().out.splitlines() if "final loss" in line]
    assert len(lines) == 1
    pattern = (
        rf"final loss \S+ \({re.escape(loss)}\), training MSE \S+ in squared units of y; "
        r"\d+\.\d s CPU in the training loop, \d+\.\d s in all"
    )
    assert re.fullmatch(pattern, lines[0]), lines[0]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--samples", "1"], "--samples must be at least 2, got 1"),
        (["--noise", "-0.5"], "--noise must be a finite number >= 0, got -0.5"),
        (["--noise", "nan"], "--noise must be a finite number >= 0, got nan"),
        (["--steps", "0"], "--steps must be at least 1, got 0"),
        (["--lr", "0"], "--lr must be a finite number > 0, got 0.0"),
        (["--hidden", "0"], "--hidden must be at least 1, got 0"),
        (["--layers", "3"], "invalid choice: 3"),
        (["--threads", "0"], "--threads must be at least 1, got 0"),
    ],
)
def test_cli_rejects_bad_options(argv, message, capsys):
    with pytest.raises(SystemExit) as raised:
        main(argv)

    assert raised.value.code == 2
    assert message in capsys.readouterr().err


def test_cli_rejects_folder_as_out(tmp_path, capsys):
    with pytest.raises(SystemExit) as raised:
        main(["--steps", "1", "--out", str(tmp_path)])

    assert raised.value.code == 2
    assert f"--out {tmp_path} is a folder" in capsys.readouterr().err


def test_cli_rejects_out_below_a_file(tmp_path, capsys):
    (tmp_path / "plain").write_text("not a folder")
    out = tmp_path / "plain" / "models" / "m.pt"

    with pytest.raises(SystemExit) as raised:
        main(["--steps", "1", "--out", str(out)])

    assert raised.value.code == 2
    assert f"because {tmp_path / 'plain'} is a file" in capsys.readouterr().err


def test_cli_rejects_file_as_report(tmp_path, capsys):
    report = tmp_path / "report.txt"
    report.write_text("")
    out = tmp_path / "m.pt"

    with pytest.raises(SystemExit) as raised:
        main(["--steps", "1", "--out", str(out), "--report", str(report)])

    assert raised.value.code == 2
    assert f"--report {report} is a file" in capsys.readouterr().err
    assert not out.exists()


def test_cli_rejects_unknown_device(tmp_path, capsys):
    code = main(["--device", "tpu", "--steps", "1", "--out", str(tmp_path / "m.pt")])

    assert code == 2
    assert "invalid device 'tpu'" in capsys.readouterr().err
    assert not (tmp_path / "m.pt").exists()


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")
def test_cli_cuda_unavailable(tmp_path, capsys):
    code = main(["--device", "cuda", "--steps", "1", "--out", str(tmp_path / "m.pt")])

    assert code == 2
    assert "CUDA is not available" in capsys.readouterr().err


def test_help_shows_defaults_and_units():
    text = build_parser().format_help()

    for option in (
        "--samples",
        "--noise",
        "--hidden",
        "--layers",
        "--steps",
        "--lr",
        "--seed",
        "--device",
        "--out",
    ):
        assert option in text
    assert "(default: 1000)" in text
    assert "(default: models/surface.pt)" in text
    assert "neurons" in text
