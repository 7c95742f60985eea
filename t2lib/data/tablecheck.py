"""Validation of tabular data files: every check names the file, the column and the first bad
row and value, so a malformed copy of a data set fails with a message that says where to look.
Shared by the suite loader and the loaders of public data sets."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd


class DataFileError(ValueError):
    """A data file that does not follow its documented format."""


@dataclass(frozen=True)
class TableCheck:
    """Checks of one file's table; errors are raised as `error` (a `DataFileError` subclass)."""

    file: Path
    error: type[DataFileError] = DataFileError

    def fail(self, message: str) -> DataFileError:
        """An error about this file, to raise."""
        return self.error(f"{self.file}: {message}")

    def read_csv(self, columns: list[str], missing_hint: str) -> pd.DataFrame:
        """The file as a table holding at least `columns`; a missing file is an error that says
        `missing_hint` (what the file is and where it is documented)."""
        if not self.file.is_file():
            raise self.fail(f"missing ({missing_hint})")
        frame = self.parse_csv()
        self.require_columns(frame, columns)
        if frame.empty:
            raise self.fail(f"no rows below the header; {missing_hint}")
        return frame

    def parse_csv(self, **options) -> pd.DataFrame:
        """The file read by pandas.read_csv(**options); a file that is not CSV text is an error."""
        try:
            return pd.read_csv(self.file, **options)
        except pd.errors.EmptyDataError:
            raise self.fail("empty (not even a header line)") from None
        except (pd.errors.ParserError, UnicodeDecodeError) as error:
            raise self.fail(f"not a readable CSV file ({' '.join(str(error).split())})") from None

    def row(self, index: int) -> str:
        """Data row `index` (0-based, after the header) as the user's editor counts it: its line
        in a CSV file (the header is line 1), else its 1-based row."""
        return f"line {index + 2}" if self.file.suffix.lower() in (".csv", ".tsv") else f"row {index + 1}"

    def first_bad_row(self, frame: pd.DataFrame, column: str, bad: pd.Series | np.ndarray, requirement: str) -> None:
        """Raise naming the first row where `bad` holds, with its value of `column`."""
        if np.asarray(bad).any():
            index = int(np.flatnonzero(np.asarray(bad))[0])
            value = frame[column].iloc[index]
            value = value.item() if hasattr(value, "item") else value
            raise self.fail(f"column '{column}', {self.row(index)}: {requirement}; got {value!r}")

    def require_columns(self, frame: pd.DataFrame, columns: list[str]) -> None:
        """Raise naming the first of `columns` the table lacks."""
        missing = [c for c in columns if c not in frame.columns]
        if missing:
            raise self.fail(f"missing column '{missing[0]}' (found: {', '.join(map(str, frame.columns))})")

    def require_numeric(self, frame: pd.DataFrame, column: str) -> pd.Series:
        """The column as floats; a value that is not a number is an error (empty cells stay NaN)."""
        values = pd.to_numeric(frame[column], errors="coerce")
        self.first_bad_row(frame, column, values.isna() & frame[column].notna(), "must be a number")
        return values.astype(float)

    def require_finite(self, frame: pd.DataFrame, column: str, low: float = -np.inf, high: float = np.inf) -> pd.Series:
        """The column as floats, every value present, finite and within [low, high]."""
        values = self.require_numeric(frame, column)
        self.first_bad_row(frame, column, ~np.isfinite(values), "must be a finite number")
        self.first_bad_row(frame, column, (values < low) | (values > high), f"must lie in [{low:g}, {high:g}]")
        return values

    def require_strings(self, frame: pd.DataFrame, column: str) -> pd.Series:
        """The column as strings; an empty or missing value is an error."""
        values = frame[column]
        blank = values.isna() | (values.astype(str).str.strip() == "")
        self.first_bad_row(frame, column, blank, "must be a non-empty id")
        return values.astype(str)
