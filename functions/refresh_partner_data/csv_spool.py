"""JSON rows to one CSV file, in bounded memory and with one copy of the data on disk.

Rows go to a spool file as they arrive, each with the columns known when it was written. The
header is the dataset's declared columns, then every other key sorted by name (docs/data-contract.md:
the columns do not move from one day to the next); the declared ones head the spool from
the start. When no other key turns up (the usual day) the spool is the CSV file, and
``whole_file()`` gives its path: the upload reads its parts from disk as they go, and memory stays
flat whatever the size. Otherwise ``stream()`` reads the spooled rows back and writes them with
every column in its place, empty where a row was written before its column was found. No second
file is written: ``/tmp`` holds about one CSV's worth. ``add_all`` takes the rows a batch at a
time, ended by ``BATCH_ROWS`` rows or ``BATCH_BYTES`` of the partner's body, whichever comes
first: a batch of plain rows (exactly the declared top-level columns, each a string, an integer or
null) goes to the CSV writer in one call, checked in C; any other batch goes row by row through
``add``, with the same result.

Values: a nested object is flattened with ``_`` (``category.id`` -> ``category_id``) and a null
one leaves its declared columns null; a list becomes JSON text; booleans ``true``/``false``; a
number is written in positional notation with the partner's digits, never rounded (ijson hands
numbers over as ``int``/``Decimal``, never ``float``). RFC 4180 with CRLF line ends; every field
that is not null is quoted, so null (an empty, unquoted field) and the empty string (``""``) stay
apart for a loader (PostgreSQL's ``COPY ... CSV`` reads them so, DuckDB with
``allow_quoted_nulls=false``). A one-column row holding null would be a blank line, which
loaders skip: it is written as ``""``. U+0000, which PostgreSQL and Redshift refuse in text, is
written as U+FFFD, and counted (``nul_replaced``).

Refused, failing the dataset with the row's number: a column reached by two paths
(``category.id`` and a ``category_id`` key, in one row or across rows), two columns whose names
differ only in case (Redshift, Athena and Glue fold them), more than ``MAX_UNDECLARED_COLUMNS``
undeclared columns, objects nested deeper than ``MAX_DEPTH``, a number longer than
``MAX_NUMBER_CHARS`` once written out, a string UTF-8 cannot carry. Key names in these messages
are cut and escaped (``partner_text.shown``).
"""

from __future__ import annotations

import csv
import io
import json
import os
import sys
from collections.abc import Callable, Iterable, Iterator
from decimal import Decimal
from functools import partial
from itertools import chain, islice, repeat
from operator import eq, itemgetter
from typing import Any, BinaryIO

from refresh_partner_data.datasets import column_name
from refresh_partner_data.partner_text import shown

LINE_TERMINATOR = "\r\n"
#: Every field but null is quoted: null is an empty unquoted field, the empty string ``""``.
QUOTING = csv.QUOTE_NOTNULL
MAX_DEPTH = 32
#: The longest number written (it also bounds what the partner API client lets ijson convert).
MAX_NUMBER_CHARS = 10_000
# Numbers are bounded by MAX_NUMBER_CHARS instead of Python's own limit (4,300 digits), past which
# ijson's C items() crashes the process rather than raise, and str() of an int raises.
sys.set_int_max_str_digits(0)
_READ_BYTES = 1024 * 1024
#: Rows taken from the parser at a time by ``add_all``, at most; and the partner's bytes behind them,
#: at most about (ijson reads 64 KiB at a time): 1,024 rows of 500 KB would otherwise be in memory.
BATCH_ROWS = 1024
BATCH_BYTES = 4 * 1024 * 1024
#: Undeclared columns a dataset may have, at most (a 3.5 MB body of id-keyed objects made 300,003).
MAX_UNDECLARED_COLUMNS = 256
_REPLACEMENT = "\ufffd".encode()
#: A spooled row of one null field, written as two: the rewrite keeps it null. Only a dataset that
#: declares a single column and gets no other writes ``""`` instead (the spool is its file).
_LONE_NULL = [None, None]
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
    """Collects one day's rows; ``whole_file()`` or ``stream()`` then gives the CSV file."""

    def __init__(self, spool_path: str, declared: tuple[tuple[str, ...], ...] = ()) -> None:
        self._path = spool_path
        self._file = open(spool_path, "w", encoding="utf-8", newline="")  # noqa: SIM115 - closed by stream/discard
        self._writer = csv.writer(self._file, lineterminator=LINE_TERMINATOR, quoting=QUOTING)
        #: Column name -> index in the spool, in the order the columns were found.
        self.columns: dict[str, int] = {}
        #: Column name -> the path of keys its values come from.
        self._paths: dict[str, tuple[str, ...]] = {}
        #: Case-folded name -> name: two names that fold alike are refused.
        self._folded: dict[str, str] = {}
        #: Names whose values are top-level scalars: the fast path.
        self._flat: set[str] = set()
        #: Keys whose values are objects with declared columns: null leaves those columns null.
        self._objects = {path[:-1] for path in declared if len(path) > 1}
        #: A top-level key that holds a declared object -> the declared columns under it: a null
        #: value there carries them all.
        self._declared_under: dict[str, list[str]] = {}
        for path in declared:
            if len(path) > 1:
                self._declared_under.setdefault(path[0], []).append(column_name(path))
        for path in declared:
            self._add_column(path)
        self.declared = len(self.columns)
        #: Declared columns some row carried (a key, even null); the rest are reported absent.
        self._present: set[str] = set()
        #: Columns that are not declared, in the order they were found.
        self.extra: list[str] = []
        self.rows = 0
        #: U+0000 characters written as U+FFFD (known once the writing has ended).
        self.nul_replaced = 0
        self._ended = False
        #: The declared columns head the spool: it is the CSV file unless a column is added.
        self._header_in_file = bool(self.columns)
        if self._header_in_file:
            self._writer.writerow(list(self.columns))
        #: Reads a plain row's values in column order: set when every declared column is top level.
        self._plain_values = (
            _values_getter(list(self.columns))
            if self.declared > 1 and len(self._flat) == self.declared
            else None
        )

    @property
    def header(self) -> list[str]:
        """The CSV file's columns: the declared ones in order, then the others sorted by name."""
        return list(self.columns)[: self.declared] + sorted(self.extra)

    @property
    def absent(self) -> list[str]:
        """Declared columns that no row carried (empty when there are no rows)."""
        if not self.rows:
            return []
        return [name for name in list(self.columns)[: self.declared] if name not in self._present]

    def add_all(self, rows: Iterable[Any], position: Callable[[], int] | None = None) -> None:
        """Adds every row, in order, as ``add`` would.

        Taken ``BATCH_ROWS`` at a time, or fewer once ``position()`` (the bytes of the partner's
        body read so far) has moved ``BATCH_BYTES`` since the batch began: wide rows make short
        batches. A batch of plain rows (see ``_add_plain``) goes to the CSV writer in one call,
        any other batch row by row.
        """
        rows = iter(rows)
        while batch := _next_batch(rows, position):
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
        if not self.rows or len(self._present) < self.declared:
            self._present.update(self.columns)
        self.rows += len(batch)
        return True

    def add(self, row: Any) -> None:
        if type(row) is not dict:
            raise RowError(f"row {self.rows + 1} is a JSON {type(row).__name__}, not an object")
        try:
            values = self.cells(row)
            if values == [None]:  # A blank line would be skipped (see _LONE_NULL).
                values = [""] if self._header_in_file and not self.extra else _LONE_NULL
            self._writer.writerow(values)
        except RowError as error:
            raise RowError(f"row {self.rows + 1}: {error}") from None
        except UnicodeEncodeError:
            raise _unencodable(self.rows + 1) from None
        except RecursionError:
            raise RowError(f"row {self.rows + 1}: values nested deeper than {MAX_DEPTH} levels") from None
        self.rows += 1

    def cells(self, row: dict[str, Any]) -> list[str | None]:
        """The row's CSV fields (None for null), in spool order (new columns added as found)."""
        columns, flat, present = self.columns, self._flat, self._present
        values: list[str | None] = [None] * len(columns)
        for key, value in row.items():
            kind = type(value)
            if kind is dict:
                self._nested(values, (key,), value, 1)
                continue
            if value is None and (key,) in self._objects:
                present.update(self._declared_under[key])
                continue
            index = columns[key] if key in flat else self._index(values, (key,))
            present.add(key)
            if kind is str:
                values[index] = value
            elif kind is int:
                values[index] = str(value)
            elif value is not None:
                values[index] = cell_text(value)
        return values

    def _nested(
        self, values: list[str | None], path: tuple[str, ...], mapping: dict[str, Any], depth: int
    ) -> None:
        if depth > MAX_DEPTH:
            raise RowError(f"objects nested deeper than {MAX_DEPTH} levels")
        if not mapping and path not in self._objects:
            values[self._index(values, path)] = "{}"
            self._present.add(column_name(path))
            return
        for key, value in mapping.items():
            child = (*path, str(key))
            if type(value) is dict:
                self._nested(values, child, value, depth + 1)
            elif not (value is None and child in self._objects):
                index = self._index(values, child)
                self._present.add(column_name(child))
                if value is not None:
                    values[index] = cell_text(value)

    def _index(self, values: list[str | None], path: tuple[str, ...]) -> int:
        """The column of the value at ``path``, added if new; refused if another path has it."""
        name = column_name(path)
        known = self._paths.get(name)
        if known is None:
            if len(self.extra) >= MAX_UNDECLARED_COLUMNS:
                raise RowError(
                    f"more than {MAX_UNDECLARED_COLUMNS} columns the dataset does not declare"
                    f" (the next one would be {shown(name)}): no loader expects such a file"
                )
            index = self._add_column(path)
            self.extra.append(name)
            values.append(None)
            return index
        if known != path:
            raise RowError(
                f"{shown('.'.join(path))} and {shown('.'.join(known))} would both be the column {shown(name)}"
            )
        return self.columns[name]

    def _add_column(self, path: tuple[str, ...]) -> int:
        name = column_name(path)
        twin = self._folded.setdefault(name.casefold(), name)
        if twin != name:
            raise RowError(
                f"the columns {shown(twin)} and {shown(name)} differ only in case,"
                " which Redshift, Athena and Glue do not tell apart"
            )
        index = self.columns[name] = len(self.columns)
        self._paths[name] = path
        if len(path) == 1:
            self._flat.add(name)
        return index

    def _end(self) -> None:
        """Ends the writing, and counts the U+0000 characters (C-speed: most days have none)."""
        if self._ended:
            return
        self._file.close()
        self._ended = True
        with open(self._path, "rb") as spool:
            while block := spool.read(_READ_BYTES):
                self.nul_replaced += block.count(b"\x00")

    def whole_file(self) -> str | None:
        """The spool's path when it is the whole CSV file (the declared header, the rows as they
        are), else None (``stream()`` then gives the file). Ends the writing."""
        self._end()
        if self._header_in_file and not self.extra and not self.nul_replaced:
            return self._path
        return None

    def stream(self) -> BinaryIO:
        """The CSV file: header and rows; the header alone for a declared dataset with no rows, an
        empty file for an undeclared one."""
        self._end()
        if not self.columns:
            return io.BytesIO(b"")
        spool = open(self._path, "rb")  # noqa: SIM115 - closed by the stream
        if self.extra:
            order = [self.columns[name] for name in self.header]
            chunks = _rewritten(_csv_line(self.header), spool, order, skip_first=self._header_in_file)
        elif self.nul_replaced:
            chunks = iter(partial(spool.read, _READ_BYTES), b"")
        else:
            return spool
        if self.nul_replaced:
            chunks = (chunk.replace(b"\x00", _REPLACEMENT) for chunk in chunks)
        return io.BufferedReader(_Generated(chunks, spool), _READ_BYTES)

    def discard(self) -> None:
        self._file.close()
        if os.path.exists(self._path):
            os.remove(self._path)


def _next_batch(rows: Iterator[Any], position: Callable[[], int] | None) -> list[Any]:
    if position is None:
        return list(islice(rows, BATCH_ROWS))
    batch: list[Any] = []
    until = position() + BATCH_BYTES
    for row in rows:
        batch.append(row)
        if len(batch) >= BATCH_ROWS or position() >= until:
            break
    return batch


def _values_getter(keys: list[Any]) -> Callable[[Any], tuple[Any, ...]]:
    """A function giving the values at ``keys`` (of a row, or of a row's fields), in order, as a
    tuple, however many keys there are (``itemgetter`` of one key gives the value alone)."""
    if len(keys) == 1:
        (key,) = keys
        return lambda values: (values[key],)
    return itemgetter(*keys)


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
    csv.writer(line, lineterminator=LINE_TERMINATOR, quoting=QUOTING).writerow(values)
    return line.getvalue()


def _rewritten(header: str, spool: BinaryIO, order: list[int], *, skip_first: bool) -> Iterator[bytes]:
    """The header, then every spooled row with its fields in ``order`` (a row written before a
    column was found is short: its missing fields are null). ``skip_first``: the spool starts with
    an outdated header."""
    width = len(order)
    pick = _values_getter(order)
    csv.field_size_limit(sys.maxsize)  # A field is as long as the partner made it (MAX_FIELD_BYTES).
    text = io.TextIOWrapper(spool, encoding="utf-8", newline="")
    out = io.StringIO()
    out.write(header)
    writer = csv.writer(out, lineterminator=LINE_TERMINATOR, quoting=QUOTING)
    rows = csv.reader(text, quoting=QUOTING)
    if skip_first:
        next(rows, None)
    for values in rows:
        values.extend([None] * (width - len(values)))
        fields = pick(values)
        writer.writerow(fields if width > 1 or fields[0] is not None else [""])
        if out.tell() >= _READ_BYTES:
            yield out.getvalue().encode("utf-8")
            out.seek(0)
            out.truncate()
    yield out.getvalue().encode("utf-8")


class _Generated(io.RawIOBase):
    """A readable stream of the bytes an iterator yields; closing it closes ``source``."""

    def __init__(self, chunks: Iterator[bytes], source: BinaryIO) -> None:
        self._chunks = chunks
        self._source = source
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

    def close(self) -> None:
        self._source.close()
        super().close()
