"""JSON rows to one CSV file, in bounded memory and with one copy of the data on disk.

Rows go to a spool file as they arrive, each with the columns known when it was written. The
header is the dataset's declared columns, then any other key in first-seen order; the declared
ones head the spool from the start. When no other key turns up (the usual day) the spool is the
CSV file, and ``whole_file()`` gives its path: the upload reads its parts from disk as they go,
and memory stays flat whatever the size. Otherwise ``stream()`` reads the header and the spooled
rows back as one byte stream, padding with empty fields the rows written before a late key got
its column. No second file is written: ``/tmp`` holds about one CSV's worth. ``add_all`` takes
the rows a batch at a time: a batch of plain rows (exactly the declared top-level columns, each a
string, an integer or null) goes to the CSV writer in one call, checked in C; any other batch
goes row by row through ``add``, with the same result.

Values (README "The CSV files"): a nested object is flattened with ``_`` (``category.id`` ->
``category_id``) and a null one leaves its declared columns empty; a list becomes JSON text;
booleans ``true``/``false``; null an empty field; a number is written in positional notation with
the partner's digits, never rounded (ijson hands numbers over as ``int``/``Decimal``, never
``float``). RFC 4180: fields holding a comma, a quote, CR or LF are quoted, and lines end with CRLF
(with LF, Python's writer would leave a lone CR unquoted, and readers split the row there).

Refused, failing the dataset with the row's number: a column reached by two paths
(``category.id`` and a ``category_id`` key, in one row or across rows), objects nested deeper than
``MAX_DEPTH``, a number longer than ``MAX_NUMBER_CHARS`` once written out, a string UTF-8 cannot
carry.
"""

from __future__ import annotations

import csv
import io
import json
import os
import sys
from collections.abc import Iterable, Iterator
from decimal import Decimal
from itertools import chain, islice, repeat
from operator import eq, itemgetter
from typing import Any, BinaryIO

from refresh_partner_data.datasets import column_name

LINE_TERMINATOR = "\r\n"
MAX_DEPTH = 32
#: The longest number written (it also bounds what the partner API client lets ijson convert).
MAX_NUMBER_CHARS = 10_000
# Numbers are bounded by MAX_NUMBER_CHARS instead of Python's own limit (4,300 digits), past which
# ijson's C items() crashes the process rather than raise, and str() of an int raises.
sys.set_int_max_str_digits(0)
_READ_BYTES = 1024 * 1024
#: Rows taken from the parser at a time by ``add_all``.
BATCH_ROWS = 1024
#: Values the CSV writer turns into the same text as ``cell_text`` (``bool`` is not ``int`` here).
_PLAIN_TYPES = frozenset({str, int, type(None)})


class RowError(Exception):
    """A row cannot be represented faithfully as CSV."""


def cell_text(value: Any) -> str:
    """A value as a CSV field: null is empty, a string is itself, anything else its JSON text."""
    if value is None:
        return ""
    if type(value) is str:
        return value
    return json_text(value)


def json_text(value: Any, depth: int = 0) -> str:
    """Compact JSON for lists and objects, numbers positional, strings as they are (not escaped to
    ASCII)."""
    if depth > MAX_DEPTH:
        raise RowError(f"values nested deeper than {MAX_DEPTH} levels")
    kind = type(value)
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if kind is int:
        return str(value)  # JSON's -0 is the integer 0: "0".
    if kind is Decimal:
        return positional(value)
    if kind is float:  # Not from ijson (use_float=False); kept for direct callers.
        return positional(Decimal(repr(value)))
    if kind is str:
        return json.dumps(value, ensure_ascii=False)
    if kind is list:
        return "[" + ",".join(json_text(item, depth + 1) for item in value) + "]"
    if kind is dict:
        return (
            "{" + ",".join(f"{json_text(str(k))}:{json_text(v, depth + 1)}" for k, v in value.items()) + "}"
        )
    raise RowError(f"unsupported value of type {kind.__name__}")


def positional(number: Decimal) -> str:
    """``1E-7`` -> ``0.0000001``, ``100E2`` -> ``10000``, ``181.0`` -> ``181.0``: every digit kept."""
    if not number.is_finite():
        raise RowError("a number that is not finite")
    _, digits, exponent = number.as_tuple()
    length = max(len(digits), -int(exponent)) + max(int(exponent), 0) + 2
    if length > MAX_NUMBER_CHARS:
        raise RowError(f"a number longer than {MAX_NUMBER_CHARS} characters once written out")
    return format(number, "f")


class CsvSpool:
    """Collects one day's rows; ``stream()`` then gives the CSV file's bytes."""

    def __init__(self, spool_path: str, declared: tuple[tuple[str, ...], ...] = ()) -> None:
        self._path = spool_path
        self._file = open(spool_path, "w", encoding="utf-8", newline="")  # noqa: SIM115 - closed by stream/discard
        self._writer = csv.writer(self._file, lineterminator=LINE_TERMINATOR)
        #: Column name -> index, in header order.
        self.columns: dict[str, int] = {}
        #: Column name -> the path of keys its values come from.
        self._paths: dict[str, tuple[str, ...]] = {}
        #: Names whose values are top-level scalars: the fast path.
        self._flat: set[str] = set()
        #: Keys whose values are objects with declared columns: null leaves those columns empty.
        self._objects = {path[:-1] for path in declared if len(path) > 1}
        for path in declared:
            self._add_column(path)
        self.declared = len(self.columns)
        #: Columns that are not declared, in the order they were found.
        self.extra: list[str] = []
        self.rows = 0
        #: Rows written before the last column was added are short by that many fields.
        self._rows_before_last_column = 0
        #: The declared columns head the spool: it is the CSV file unless a column is added.
        self._header_in_file = bool(self.columns)
        if self._header_in_file:
            self._writer.writerow(list(self.columns))
        #: Reads a plain row's values in column order: set when every declared column is top level.
        self._plain_values = (
            _values_getter(list(self.columns)) if self.declared and len(self._flat) == self.declared else None
        )

    def add_all(self, rows: Iterable[Any]) -> None:
        """Adds every row, in order, as ``add`` would.

        Taken ``BATCH_ROWS`` at a time: a batch of plain rows (see ``_add_plain``) goes to the CSV
        writer in one call, any other batch row by row.
        """
        rows = iter(rows)
        while batch := list(islice(rows, BATCH_ROWS)):
            if not self._add_plain(batch):
                for row in batch:
                    self.add(row)

    def _add_plain(self, batch: list[Any]) -> bool:
        """Writes ``batch`` if every row is an object with exactly the declared columns, each a
        string, an integer or null (the usual day: nothing to flatten or convert); else nothing.

        The checks run over the whole batch in C (``map``), not row by row in Python.
        """
        getter = self._plain_values
        if getter is None or self.extra or set(map(type, batch)) != {dict}:
            return False
        if not all(map(eq, map(dict.keys, batch), repeat(self.columns.keys()))):
            return False
        values = list(map(getter, batch))
        if not _PLAIN_TYPES.issuperset(map(type, chain.from_iterable(values))):
            return False
        try:
            self._writer.writerows(values)
        except UnicodeEncodeError:
            raise _unencodable(self.rows + _first_unencodable(values) + 1) from None
        self.rows += len(batch)
        return True

    def add(self, row: Any) -> None:
        if type(row) is not dict:
            raise RowError(f"row {self.rows + 1} is a JSON {type(row).__name__}, not an object")
        try:
            values = self.cells(row)
            self._writer.writerow(values)
        except RowError as error:
            raise RowError(f"row {self.rows + 1}: {error}") from None
        except UnicodeEncodeError:
            raise _unencodable(self.rows + 1) from None
        except RecursionError:
            raise RowError(f"row {self.rows + 1}: values nested deeper than {MAX_DEPTH} levels") from None
        self.rows += 1

    def cells(self, row: dict[str, Any]) -> list[str]:
        """The row's CSV fields, in column order (new columns added as found)."""
        columns, flat = self.columns, self._flat
        values = [""] * len(columns)
        for key, value in row.items():
            kind = type(value)
            if kind is dict:
                self._nested(values, (key,), value, 1)
                continue
            if value is None and (key,) in self._objects:
                continue
            index = columns[key] if key in flat else self._index(values, (key,))
            if kind is str:
                values[index] = value
            elif kind is int:
                values[index] = str(value)
            else:
                values[index] = cell_text(value)
        return values

    def _nested(self, values: list[str], path: tuple[str, ...], mapping: dict[str, Any], depth: int) -> None:
        if depth > MAX_DEPTH:
            raise RowError(f"objects nested deeper than {MAX_DEPTH} levels")
        if not mapping and path not in self._objects:
            values[self._index(values, path)] = "{}"
            return
        for key, value in mapping.items():
            child = (*path, str(key))
            if type(value) is dict:
                self._nested(values, child, value, depth + 1)
            elif not (value is None and child in self._objects):
                values[self._index(values, child)] = cell_text(value)

    def _index(self, values: list[str], path: tuple[str, ...]) -> int:
        """The column of the value at ``path``, added if new; refused if another path has it."""
        name = column_name(path)
        known = self._paths.get(name)
        if known is None:
            self.extra.append(name)
            index = self._add_column(path)
            values.append("")
            self._rows_before_last_column = self.rows
            return index
        if known != path:
            raise RowError(f"{'.'.join(path)!r} and {'.'.join(known)!r} would both be the column {name!r}")
        return self.columns[name]

    def _add_column(self, path: tuple[str, ...]) -> int:
        name = column_name(path)
        index = self.columns[name] = len(self.columns)
        self._paths[name] = path
        if len(path) == 1:
            self._flat.add(name)
        return index

    def whole_file(self) -> str | None:
        """The spool's path when it is the whole CSV file (header and rows, nothing to pad), else
        None (``stream()`` then gives the file). Ends the writing."""
        self._file.close()
        if self.rows and self._header_in_file and not self.extra:
            return self._path
        return None

    def stream(self) -> BinaryIO:
        """The CSV file: header and rows (an empty file when there are no rows, or no columns)."""
        self._file.close()
        spool = open(self._path, "rb")  # noqa: SIM115 - closed by the stream
        if not self.rows or not self.columns:
            spool.close()
            return io.BytesIO(b"")
        if self._header_in_file and not self.extra:
            return spool
        header = _csv_line(list(self.columns)).encode("utf-8")
        if self._header_in_file:
            return io.BufferedReader(
                _Generated(_padded(header, spool, len(self.columns), skip_first=True)), _READ_BYTES
            )
        if not self._rows_before_last_column:
            return io.BufferedReader(_Concatenated([io.BytesIO(header), spool]), _READ_BYTES)
        return io.BufferedReader(_Generated(_padded(header, spool, len(self.columns))), _READ_BYTES)

    def discard(self) -> None:
        self._file.close()
        if os.path.exists(self._path):
            os.remove(self._path)


def _values_getter(names: list[str]) -> Any:
    """A function giving a row's values for ``names``, in order, as a tuple."""
    if len(names) == 1:
        (name,) = names
        return lambda row: (row[name],)
    return itemgetter(*names)


def _unencodable(row_number: int) -> RowError:
    return RowError(f"row {row_number}: a string that UTF-8 cannot carry (a lone surrogate)")


def _first_unencodable(rows: list[tuple[Any, ...]]) -> int:
    """The index of the first row holding a string UTF-8 cannot carry."""
    for index, values in enumerate(rows):
        for value in values:
            if type(value) is str:
                try:
                    value.encode("utf-8")
                except UnicodeEncodeError:
                    return index
    raise AssertionError("no unencodable string in the rows")  # pragma: no cover - a caller's bug


def _csv_line(values: list[str]) -> str:
    line = io.StringIO()
    csv.writer(line, lineterminator=LINE_TERMINATOR).writerow(values)
    return line.getvalue()


def _padded(header: bytes, spool: BinaryIO, width: int, *, skip_first: bool = False) -> Iterator[bytes]:
    """The header, then every spooled row with empty fields up to ``width`` (``skip_first``: the
    spool starts with an outdated header)."""
    yield header
    csv.field_size_limit(sys.maxsize)  # A field is as long as the partner made it.
    with spool, io.TextIOWrapper(spool, encoding="utf-8", newline="") as text:
        out = io.StringIO()
        writer = csv.writer(out, lineterminator=LINE_TERMINATOR)
        rows = csv.reader(text)
        if skip_first:
            next(rows, None)
        for values in rows:
            values.extend([""] * (width - len(values)))
            writer.writerow(values)
            if out.tell() >= _READ_BYTES:
                yield out.getvalue().encode("utf-8")
                out.seek(0)
                out.truncate()
        yield out.getvalue().encode("utf-8")


class _Generated(io.RawIOBase):
    """A readable stream of the bytes an iterator yields."""

    def __init__(self, chunks: Iterator[bytes]) -> None:
        self._chunks = chunks
        self._pending = b""

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        while not self._pending:
            self._pending = next(self._chunks, b"")
            if not self._pending:
                return 0
        size = min(len(buffer), len(self._pending))
        buffer[:size] = self._pending[:size]
        self._pending = self._pending[size:]
        return size


class _Concatenated(io.RawIOBase):
    """Readable streams, one after the other, closed as they are used up."""

    def __init__(self, parts: list[BinaryIO]) -> None:
        self._parts = parts

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        while self._parts:
            size = self._parts[0].readinto(buffer)  # type: ignore[attr-defined]
            if size:
                return size
            self._parts.pop(0).close()
        return 0

    def close(self) -> None:
        for part in self._parts:
            part.close()
        self._parts = []
        super().close()
