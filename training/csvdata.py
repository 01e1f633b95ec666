"""Reading user data for ``--data FILE.csv``: a header with x0, x1 and y, then numbers."""

from __future__ import annotations

import csv
import math
from pathlib import Path

import numpy as np
import torch

COLUMNS = ("x0", "x1", "y")
# Separators that spreadsheet exports use instead of the comma, by name.
OTHER_SEPARATORS = {";": "semicolons", "\t": "tabs"}
# Fewer rows than this cannot give both a fit and a validation split worth reading.
MIN_ROWS = 10
FLOAT32_MAX = float(np.finfo(np.float32).max)


class DataFileError(ValueError):
    """Raised when a data file cannot be used; the message names file, line and column."""


def read_points(path: Path) -> tuple[torch.Tensor, torch.Tensor]:
    """Read a CSV file into float32 x (N, 2) and y (N, 1).

    The header must name the columns x0, x1 and y, in any order; other columns are
    ignored. Blank lines are skipped. Every value must be a finite number.
    """
    path = Path(path)
    try:
        # utf-8-sig drops the byte order mark that spreadsheet programs write in "CSV UTF-8".
        with path.open(newline="", encoding="utf-8-sig") as file:
            rows = _read_rows(csv.reader(file), path)
    except FileNotFoundError:
        raise DataFileError(f"{path}: data file not found") from None
    except IsADirectoryError:
        raise DataFileError(f"{path}: is a directory, expected a CSV file") from None
    except UnicodeDecodeError as error:
        raise DataFileError(f"{path}: not UTF-8 text ({error.reason})") from None
    except csv.Error as error:
        raise DataFileError(f"{path}: not a valid CSV file ({error})") from None

    if len(rows) < MIN_ROWS:
        raise DataFileError(
            f"{path}: {len(rows)} data rows, at least {MIN_ROWS} are needed to train and validate"
        )
    values = torch.from_numpy(np.asarray(rows, dtype=np.float32))
    return values[:, :2].contiguous(), values[:, 2:].contiguous()


def _read_rows(reader, path: Path) -> list[tuple[float, float, float]]:
    header = next(reader, None)
    if header is None:
        raise DataFileError(f"{path}: the file is empty; expected a header line x0,x1,y")
    names = [name.strip() for name in header]
    # Spreadsheets often capitalise headers, so X0 names the column x0.
    keys = [name.lower() for name in names]
    missing = [column for column in COLUMNS if column not in keys]
    if missing:
        raise DataFileError(
            f"{path}, line 1: missing column {', '.join(missing)} in the header "
            f"{','.join(names)!r}; expected the columns x0, x1 and y{_separator_hint(header)}"
        )
    positions = [keys.index(column) for column in COLUMNS]
    width = max(positions) + 1

    rows = []
    for fields in reader:
        if not fields or all(not field.strip() for field in fields):
            continue
        line = reader.line_num
        if len(fields) < width:
            absent = min(i for i in positions if i >= len(fields))
            raise DataFileError(
                f"{path}, line {line}, column {absent + 1} ({names[absent]}): missing value, "
                f"the row has {len(fields)} fields and the header {len(names)}"
            )
        rows.append(tuple(_number(fields[i], path, line, i, names[i]) for i in positions))
    return rows


def _separator_hint(header: list[str]) -> str:
    text = ",".join(header)
    found = [separator for separator in OTHER_SEPARATORS if separator in text]
    if not found:
        return ""
    separator = max(found, key=text.count)
    return (
        f". The header contains {OTHER_SEPARATORS[separator]}, so the file seems to use "
        f"{separator!r} as the separator, but the columns must be separated by commas"
    )


def _number(text: str, path: Path, line: int, index: int, name: str) -> float:
    where = f"{path}, line {line}, column {index + 1} ({name})"
    try:
        value = float(text)
    except ValueError:
        raise DataFileError(f"{where}: {text.strip()!r} is not a number") from None
    if not math.isfinite(value):
        raise DataFileError(f"{where}: {text.strip()!r} is not a finite number")
    # A finite float64 can still overflow float32, the type the model trains in.
    if abs(value) > FLOAT32_MAX:
        raise DataFileError(f"{where}: {text.strip()!r} is beyond the float32 range")
    return value
