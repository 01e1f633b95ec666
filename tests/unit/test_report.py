"""The training report: valid PNG pictures of the expected size, report.json, and the
message without matplotlib."""

import json
import os
import struct
import sys

import numpy as np

from training.cli import main

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _png_size(path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == PNG_SIGNATURE, f"{path.name} is not a PNG file"
    # The first chunk of every PNG file is IHDR: length, type, then width and height.
    length, kind = struct.unpack(">I4s", data[8:16])
    assert kind == b"IHDR"
    assert length == 13
    return struct.unpack(">II", data[16:24])


def _colours(path) -> int:
    from PIL import Image

    with Image.open(path) as image:
        pixels = np.asarray(image.convert("RGB"))
    return len(np.unique(pixels.reshape(-1, 3), axis=0))


def _small_run(tmp_path, *extra: str) -> list[str]:
    return [
        "--samples", "300", "--hidden", "8", "--steps", "60", "--device", "cpu",
        "--out", str(tmp_path / "model.pt"), "--report", str(tmp_path / "report"), *extra,
    ]  # fmt: skip


def test_report_pictures_and_json(tmp_path, capsys):
    code = main(_small_run(tmp_path))

    assert code == 0
    report = tmp_path / "report"
    for name in ("data", "loss", "prediction", "error"):
        assert _png_size(report / f"{name}.png") == (640, 480), name
        assert _colours(report / f"{name}.png") > 50, f"{name}.png looks blank"
    content = json.loads((report / "report.json").read_text())
    assert content["pictures"] == {
        "data": "data.png",
        "loss": "loss.png",
        "prediction": "prediction.png",
        "error": "error.png",
    }
    assert content["metrics"]["rmse_clean_dense"] > 0
    assert content["history"][0]["step"] == 0
    assert content["history"][-1]["step"] == content["run"]["steps_run"]
    assert content["extrapolation"]["method"] == "smoothed-histogram-density"
    assert sorted(path.name for path in report.iterdir()) == [
        "data.png", "error.png", "loss.png", "prediction.png", "report.json"
    ]  # fmt: skip
    assert f"wrote the report to {report}" in capsys.readouterr().out


def test_report_and_artifact_get_umask_mode(tmp_path):
    previous = os.umask(0o027)
    try:
        code = main(_small_run(tmp_path))
    finally:
        os.umask(previous)

    assert code == 0
    files = [tmp_path / "model.pt", *(tmp_path / "report").iterdir()]
    modes = {path.name: oct(path.stat().st_mode & 0o777) for path in files}
    assert modes == {name: "0o640" for name in modes}
    assert "report.json" in modes


def test_report_for_user_data_has_no_error_map(tmp_path):
    rng = np.random.default_rng(0)
    rows = [f"{a:.5f},{b:.5f},{np.sin(a) + b:.5f}" for a, b in rng.normal(0, 2, (200, 2))]
    data = tmp_path / "points.csv"
    data.write_text("x0,x1,y\n" + "\n".join(rows) + "\n")

    code = main(_small_run(tmp_path, "--data", str(data)))

    assert code == 0
    report = tmp_path / "report"
    assert _png_size(report / "prediction.png") == (640, 480)
    assert not (report / "error.png").exists()
    assert "error" not in json.loads((report / "report.json").read_text())["pictures"]


def test_report_without_matplotlib_says_what_to_install(tmp_path, capsys, monkeypatch):
    # A None entry in sys.modules makes `import matplotlib` raise ImportError.
    monkeypatch.setitem(sys.modules, "matplotlib", None)

    code = main(_small_run(tmp_path))

    assert code == 2
    assert capsys.readouterr().err == (
        "training: error: --report needs matplotlib, which is not installed: "
        "pip install -e '.[report]' in a checkout (or pip install matplotlib)\n"
    )
    assert not (tmp_path / "model.pt").exists()
    assert not (tmp_path / "report").exists()
