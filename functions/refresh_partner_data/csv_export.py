"""JSON rows to CSV, in bounded memory.

The CSV has a header row: the union of every row's flattened keys, in first-seen order, so a key
that first appears in row 900,000 still gets its column. As the header is only known at the end,
rows are spooled to a local file first (each holding the columns known when it was written), then
copied after the header into the final file, padded with empty fields where the header grew.

Values: nested objects are flattened with ``_`` (``category.id`` -> ``category_id``), lists become
JSON text, booleans ``true``/``false``, null an empty field, numbers the partner's digits (ijson
hands them over as ``int``/``Decimal``, never ``float``). RFC 4180 throughout: fields holding a
comma, a quote, CR or LF are quoted, and lines end with CRLF. (With LF endings Python's writer
would leave a lone CR in a value unquoted, and readers would split the row there.)
"""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
from decimal import Decimal
from typing import Any, BinaryIO

LINE_TERMINATOR = "\r\n"
_COPY_BUFFER_BYTES = 1024 * 1024


class RowError(Exception):
    """A row cannot be represented faithfully as CSV."""


def flatten(row: dict[str, Any]) -> dict[str, str]:
    """One row's cells: ``{"category": {"id": 30}}`` -> ``{"category_id": "30"}``."""
    cells: dict[str, str] = {}
    _flatten_into(cells, "", row)
    return cells


def _flatten_into(cells: dict[str, str], prefix: str, mapping: dict[str, Any]) -> None:
    for key, value in mapping.items():
        name = f"{prefix}_{key}" if prefix else str(key)
        if isinstance(value, dict) and value:
            _flatten_into(cells, name, value)
            continue
        if name in cells:
            raise RowError(f"two fields flatten to the same column {name!r}")
        cells[name] = cell_text(value)


def cell_text(value: Any) -> str:
    """A value as a CSV field: null is empty, a string is itself, anything else its JSON text."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return json_text(value)


def json_text(value: Any) -> str:
    """Compact JSON for lists and empty objects, with numbers kept as the partner sent them."""
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int | Decimal):
        return str(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list):
        return "[" + ",".join(json_text(item) for item in value) + "]"
    if isinstance(value, dict):
        return "{" + ",".join(f"{json_text(str(k))}:{json_text(v)}" for k, v in value.items()) + "}"
    if isinstance(value, float):  # Not from ijson (use_float=False); kept for direct callers.
        return repr(value)
    raise RowError(f"unsupported value of type {type(value).__name__}")


class CsvSpool:
    """Collects rows in a spool file; ``write_csv`` then writes header + rows to the final file."""

    def __init__(self, spool_path: str) -> None:
        self._path = spool_path
        self._file = open(spool_path, "w", encoding="utf-8", newline="")  # noqa: SIM115 - closed by write_csv/discard
        self._writer = csv.writer(self._file, lineterminator=LINE_TERMINATOR)
        self.columns: dict[str, int] = {}
        self.rows = 0
        self._first_row_width = 0

    def add(self, row: Any) -> None:
        if type(row) is not dict:
            raise RowError(f"row {self.rows + 1} is a JSON {type(row).__name__}, not an object")
        values = self._values(row)
        if values is None:  # Nested objects: flattened names can collide, so flatten checks.
            try:
                values = self._values(flatten(row))
            except RowError as error:
                raise RowError(f"row {self.rows + 1}: {error}") from None
        self._writer.writerow(values)
        self.rows += 1
        if self.rows == 1:
            self._first_row_width = len(self.columns)

    def _values(self, cells: dict[str, Any]) -> list[str] | None:
        """The row's fields in column order, adding new columns; None if a value is an object."""
        columns = self.columns
        values = [""] * len(columns)
        for name, value in cells.items():
            kind = type(value)  # The exact type: bool is a subclass of int.
            if kind is str:
                text = value
            elif kind is int:
                text = str(value)
            elif kind is dict and value:
                return None
            else:
                text = cell_text(value)
            index = columns.get(name)
            if index is None:
                index = columns[name] = len(values)
                values.append("")
            values[index] = text
        return values

    def write_csv(self, csv_path: str) -> int:
        """Writes the final CSV (empty when there were no rows); returns its size in bytes."""
        self._file.close()
        with open(csv_path, "wb") as out, open(self._path, "rb") as spool:
            if self.rows:
                out.write(_csv_line(list(self.columns)).encode("utf-8"))
            if len(self.columns) == self._first_row_width:
                shutil.copyfileobj(spool, out, _COPY_BUFFER_BYTES)
            else:  # Rows written before the header grew are short: pad them.
                _copy_padded(spool, out, len(self.columns))
        os.remove(self._path)
        return os.path.getsize(csv_path)

    def discard(self) -> None:
        self._file.close()
        if os.path.exists(self._path):
            os.remove(self._path)


def _csv_line(values: list[str]) -> str:
    line = io.StringIO()
    csv.writer(line, lineterminator=LINE_TERMINATOR).writerow(values)
    return line.getvalue()


def _copy_padded(spool: BinaryIO, out: BinaryIO, width: int) -> None:
    reader = csv.reader(io.TextIOWrapper(spool, encoding="utf-8", newline=""))
    text_out = io.TextIOWrapper(out, encoding="utf-8", newline="")
    writer = csv.writer(text_out, lineterminator=LINE_TERMINATOR)
    for values in reader:
        values.extend([""] * (width - len(values)))
        writer.writerow(values)
    text_out.flush()
    text_out.detach()
