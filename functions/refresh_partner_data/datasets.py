"""The partner's datasets and the columns of their CSV files, in a fixed order, with their types.

Loaders that map CSV columns by position (Redshift ``COPY``, Athena over CSV) need every day's file
of a dataset to have the same columns in the same order, whatever the first row of the day looks
like. So each known dataset declares its columns, from the shapes the partner API serves
(../shared/reference/partner-api.md); a key the partner adds later gets a column after them, the
undeclared ones sorted by name, with a warning in the log. A dataset not listed here has all its
columns undeclared: sorted by name.

The types are the data contract a loader reads the files with: SQL that both DuckDB and PostgreSQL
accept, checked by loading the files into both (tests/test_refresh_loaders.py).
"""

from __future__ import annotations

#: Each column: the path of keys to its value (("category", "id") is the CSV column "category_id")
#: and its SQL type.
COLUMNS: dict[str, tuple[tuple[tuple[str, ...], str], ...]] = {
    "category": ((("id",), "BIGINT"), (("name",), "TEXT"), (("isActive",), "BOOLEAN")),
    "establishment": ((("id",), "BIGINT"), (("cnpj",), "BIGINT")),
    "sale": (
        (("id",), "BIGINT"),
        (("cnpj",), "BIGINT"),
        (("idCategory",), "BIGINT"),
        (("category", "id"), "BIGINT"),
        (("category", "name"), "TEXT"),
        (("category", "isActive"), "BOOLEAN"),
        (("saleDate",), "TIMESTAMP"),
        (("value",), "DOUBLE PRECISION"),
        (("amount",), "BIGINT"),
    ),
}


def declared_columns(dataset: str) -> tuple[tuple[str, ...], ...]:
    """The dataset's column paths in order; empty for a dataset whose columns are discovered."""
    return tuple(path for path, _ in COLUMNS.get(dataset, ()))


def column_types(dataset: str) -> dict[str, str]:
    """The dataset's declared column names, in order, with their SQL types."""
    return {column_name(path): sql_type for path, sql_type in COLUMNS.get(dataset, ())}


def column_name(path: tuple[str, ...]) -> str:
    return "_".join(path)
