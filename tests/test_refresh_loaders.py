"""The CSV contract, checked by real loaders: each dataset's file, hostile strings included, loads
row for row into DuckDB (``read_csv`` with the declared types) and into PostgreSQL 16 with
``COPY ... (FORMAT csv, HEADER true)``, the nearest local relative of Redshift's COPY (a real
server, from pgserver: stand_ins/postgres.py).

The files are what the function uploads: the partner's JSON parsed by ijson as the function parses
it, written by its spool. Null and the empty string stay apart in both loaders; U+0000 arrives as
U+FFFD (docs/data-contract.md).
"""

from __future__ import annotations

import io
import json
import re
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import ijson
import pytest

from refresh_partner_data.csv_spool import CsvSpool
from refresh_partner_data.datasets import COLUMNS, column_name, column_types, declared_columns
from stand_ins.postgres import LocalPostgres

HOSTILE_TEXT = [
    'Vinho "Reserva", Tinto',
    "line\r\nbreak",
    "cr\ronly",
    "lf\nonly",
    "emoji 😀 and 𝄞",
    "",
    None,
    "nul\u0000inside",
    " leading and trailing ",
    "\\N",
    "NULL",
    '"',
    ",",
    "tab\there",
    "Açucar, Sabão em Pó",
]

PAYLOADS: dict[str, list[dict[str, Any]]] = {
    "category": [
        {"id": n, "name": text, "isActive": [True, False, None][n % 3]} for n, text in enumerate(HOSTILE_TEXT)
    ]
    + [{"id": None, "name": "no id"}],
    "establishment": [
        {"id": 1, "cnpj": 12345678000199},
        {"id": 2, "cnpj": None},
        {"cnpj": 1},
        {"id": 9_223_372_036_854_775_807, "cnpj": 0},
    ],
    "sale": [
        {
            "id": n,
            "cnpj": 12345678000199,
            "idCategory": 30,
            "category": {"id": 30, "name": text, "isActive": True} if n % 4 else None,
            "saleDate": "2023-10-06T00:00:10.117" if n % 5 else None,
            "value": Decimal("181.0") if n % 2 else Decimal("1E-7"),
            "amount": n,
        }
        for n, text in enumerate(HOSTILE_TEXT)
    ],
}


def written_file(dataset: str, rows: list[dict[str, Any]], folder: Path) -> Path:
    """The file the function uploads for these rows."""
    parsed = ijson.items(io.BytesIO(json.dumps(rows, default=str).encode()), "item", use_float=False)
    spool = CsvSpool(str(folder / f"{dataset}.spool"), declared_columns(dataset))
    spool.add_all(parsed)
    path = folder / f"{dataset}.csv"
    with spool.stream() as stream:
        path.write_bytes(stream.read())
    spool.discard()
    return path


def at(row: dict[str, Any], path: tuple[str, ...]) -> Any:
    value: Any = row
    for key in path:
        value = value.get(key) if isinstance(value, dict) else None
    return value


def expected(dataset: str) -> list[tuple[Any, ...]]:
    """Each row as a loader should read it: typed, null as None, U+0000 as U+FFFD."""

    def typed(value: Any, sql_type: str) -> Any:
        if value is None:
            return None
        if sql_type == "TEXT":
            return value.replace("\x00", "\ufffd")
        if sql_type == "TIMESTAMP":
            return datetime.fromisoformat(value)
        if sql_type == "DOUBLE PRECISION":
            return float(value)
        return value

    columns = COLUMNS[dataset]
    return [tuple(typed(at(row, path), sql_type) for path, sql_type in columns) for row in PAYLOADS[dataset]]


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("contract")
    return {dataset: written_file(dataset, rows, folder) for dataset, rows in PAYLOADS.items()}


@pytest.fixture(scope="module")
def postgres():
    with LocalPostgres() as server:
        connection = server.connect()
        yield connection
        connection.close()


@pytest.mark.parametrize("dataset", sorted(PAYLOADS))
def test_duckdb_reads_every_row_with_the_declared_types(files, dataset):
    types = column_types(dataset)
    relation = duckdb.sql(
        f"SELECT * FROM read_csv('{files[dataset]}', header = true, columns = {types!r},"
        " allow_quoted_nulls = false, auto_detect = false, delim = ',', quote = '\"', escape = '\"')"
    )
    assert relation.columns == list(types)
    assert relation.fetchall() == expected(dataset)


@pytest.mark.parametrize("dataset", sorted(PAYLOADS))
def test_postgresql_copy_reads_every_row_with_the_declared_types(files, postgres, dataset):
    columns = ", ".join(f'"{name}" {sql_type}' for name, sql_type in column_types(dataset).items())
    postgres.run(f'DROP TABLE IF EXISTS "{dataset}"')
    postgres.run(f'CREATE TABLE "{dataset}" ({columns})')
    with open(files[dataset], "rb") as file:
        postgres.run(f'COPY "{dataset}" FROM STDIN WITH (FORMAT csv, HEADER true)', stream=file)
    loaded = postgres.run(f'SELECT * FROM "{dataset}" ORDER BY ctid')
    assert [tuple(row) for row in loaded] == expected(dataset)


DATA_CONTRACT = Path(__file__).resolve().parents[1] / "docs" / "data-contract.md"


def contract_examples() -> list[str]:
    """The SQL blocks of docs/data-contract.md: DuckDB's, then PostgreSQL's."""
    return re.findall(r"```sql\n(.*?)```", DATA_CONTRACT.read_text(encoding="utf-8"), re.DOTALL)


def test_the_data_contracts_examples_load_the_files_as_written(files, postgres):
    duckdb_example, postgres_example = contract_examples()
    assert "'sale/2026-12-06.csv'" in duckdb_example
    read = duckdb.sql(duckdb_example.replace("sale/2026-12-06.csv", str(files["sale"])).rstrip().rstrip(";"))
    assert read.columns == list(column_types("sale"))
    assert read.fetchall() == expected("sale")

    create, copy = [statement.strip() for statement in postgres_example.split(";") if statement.strip()]
    postgres.run("DROP TABLE IF EXISTS sale")
    postgres.run(create)
    with open(files["sale"], "rb") as file:
        postgres.run(copy, stream=file)
    loaded = postgres.run("SELECT * FROM sale ORDER BY ctid")
    assert [tuple(row) for row in loaded] == expected("sale")


def test_the_hostile_strings_are_all_there():
    """The cases the contract is about, so that a change to the payloads cannot drop one."""
    names = [row["name"] for row in PAYLOADS["category"]]
    assert {"", None} <= set(names)
    assert any("\r\n" in str(name) for name in names)
    assert any(any(ord(c) > 0xFFFF for c in str(name)) for name in names)
    assert any("\x00" in str(name) for name in names)
    assert [column_name(path) for path, _ in COLUMNS["sale"]][3] == "category_id"
