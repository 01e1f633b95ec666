"""User data from --data FILE.csv: parsing, exact errors, and no artifact on a bad file."""

import math

import numpy as np
import pytest
import torch

from service.artifact import load_artifact
from training.cli import main
from training.csvdata import MIN_ROWS, DataFileError, read_points

CPU = torch.device("cpu")


def _rows(count: int, seed: int = 0) -> list[str]:
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((count, 2)) * math.pi
    y = np.sin(x[:, 0]) + np.cos(x[:, 1])
    return [f"{a:.6f},{b:.6f},{c:.6f}" for (a, b), c in zip(x, y, strict=True)]


def _write(tmp_path, text: str):
    path = tmp_path / "points.csv"
    path.write_text(text)
    return path


def test_reads_columns_in_any_order_and_ignores_others(tmp_path):
    rows = "".join(f"{i}.5,p{i},{i},-{i}\n" for i in range(12))
    path = _write(tmp_path, "y,label,x1,x0\n" + rows)

    x, y = read_points(path)

    assert x.shape == (12, 2)
    assert y.shape == (12, 1)
    assert x.dtype == torch.float32
    assert x[3].tolist() == [-3.0, 3.0]
    assert y[3].item() == 3.5


def test_skips_blank_lines(tmp_path):
    path = _write(tmp_path, "x0,x1,y\n\n" + "\n".join(_rows(12)) + "\n\n")

    x, _ = read_points(path)

    assert len(x) == 12


def _body(count: int = MIN_ROWS) -> str:
    return "".join(f"{row}\n" for row in _rows(count))


def test_reads_file_with_byte_order_mark(tmp_path):
    plain = _write(tmp_path, "x0,x1,y\n" + _body(12))
    marked = tmp_path / "marked.csv"
    marked.write_bytes(plain.read_text().encode("utf-8-sig"))

    x, y = read_points(marked)

    assert marked.read_bytes().startswith(b"\xef\xbb\xbfx0,x1,y")
    assert x.shape == (12, 2)
    expected_x, expected_y = read_points(plain)
    assert torch.equal(x, expected_x)
    assert torch.equal(y, expected_y)


def test_header_names_ignore_case(tmp_path):
    lower = _write(tmp_path, "x0,x1,y\n" + _body(12))
    upper = tmp_path / "upper.csv"
    upper.write_text(lower.read_text().replace("x0,x1,y", "X0, X1 ,Y", 1))

    x, y = read_points(upper)

    expected_x, expected_y = read_points(lower)
    assert torch.equal(x, expected_x)
    assert torch.equal(y, expected_y)


def test_comma_header_error_has_no_hint(tmp_path):
    path = _write(tmp_path, "x0,y\n1,2\n")

    with pytest.raises(DataFileError) as raised:
        read_points(path)

    assert str(raised.value) == (
        f"{path}, line 1: missing column x1 in the header 'x0,y'; expected the columns x0, x1 and y"
    )


MALFORMED = [
    (
        "missing column",
        "x0,y\n1,2\n",
        "line 1: missing column x1 in the header 'x0,y'; expected the columns x0, x1 and y",
    ),
    (
        "semicolon separator",
        "x0;x1;y\n1;2;3\n",
        "line 1: missing column x0, x1, y in the header 'x0;x1;y'; expected the columns x0, x1 "
        "and y. The header contains semicolons, so the file seems to use ';' as the separator, "
        "but the columns must be separated by commas",
    ),
    (
        "tab separator",
        "x0\tx1\ty\n1\t2\t3\n",
        "line 1: missing column x0, x1, y in the header 'x0\\tx1\\ty'; expected the columns x0, "
        "x1 and y. The header contains tabs, so the file seems to use '\\t' as the separator, "
        "but the columns must be separated by commas",
    ),
    ("no header", "", "the file is empty; expected a header line x0,x1,y"),
    ("not a number", "x0,x1,y\n" + _body() + "1.0,abc,2\n", "line 12, column 2 (x1): 'abc' is not"),
    ("NaN", "x0,x1,y\n1,2,nan\n" + _body(), "line 2, column 3 (y): 'nan' is not a finite number"),
    ("infinity", "x0,x1,y\n" + _body(3) + "inf,0,1\n", "line 5, column 1 (x0): 'inf' is not a"),
    ("float32 overflow", "x0,x1,y\n1e39,0,1\n" + _body(), "line 2, column 1 (x0): '1e39' is"),
    ("short row", "x0,x1,y\n" + _body(4) + "1,2\n", "line 6, column 3 (y): missing value"),
    ("too few rows", "x0,x1,y\n" + _body(MIN_ROWS - 1), f"9 data rows, at least {MIN_ROWS}"),
]


@pytest.mark.parametrize(("case", "text", "message"), MALFORMED, ids=[c[0] for c in MALFORMED])
def test_malformed_file_names_file_line_and_column(tmp_path, case, text, message):
    path = _write(tmp_path, text)

    with pytest.raises(DataFileError) as raised:
        read_points(path)

    assert str(raised.value).startswith(str(path))
    assert message in str(raised.value)


def test_missing_file(tmp_path):
    with pytest.raises(DataFileError, match="data file not found"):
        read_points(tmp_path / "absent.csv")


@pytest.mark.parametrize(("case", "text", "message"), MALFORMED, ids=[c[0] for c in MALFORMED])
def test_cli_rejects_malformed_file_and_writes_nothing(tmp_path, capsys, case, text, message):
    path = _write(tmp_path, text)
    out = tmp_path / "model.pt"

    code = main(["--data", str(path), "--steps", "5", "--device", "cpu", "--out", str(out)])

    assert code == 2
    error = capsys.readouterr().err
    assert error.startswith(f"training: error: {path}")
    assert message in error
    assert not out.exists()
    assert list(tmp_path.iterdir()) == [path]


def test_cli_trains_on_file(tmp_path, capsys):
    path = _write(tmp_path, "x0,x1,y\n" + _body(400))
    out = tmp_path / "model.pt"

    code = main(
        [
            "--data",
            str(path),
            "--hidden",
            "16",
            "--steps",
            "200",
            "--device",
            "cpu",
            "--out",
            str(out),
        ]
    )

    assert code == 0
    metadata = load_artifact(out, CPU).metadata
    assert metadata["run"]["data"] == str(path)
    assert metadata["run"]["training_points"] == 360
    assert metadata["run"]["validation_points"] == 40
    assert metadata["metrics"]["evaluation_set"] == "validation split of the data file"
    assert metadata["metrics"]["rmse_clean"] is None
    assert 0 < metadata["metrics"]["rmse_noisy"] < 0.5
    printed = capsys.readouterr().out
    assert f"360 points from {path}" in printed
    assert "evaluation on 40 points (validation split of the data file)" in printed
