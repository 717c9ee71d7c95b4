"""The partner's datasets and the columns of their CSV files, in a fixed order.

Loaders that map CSV columns by position (Redshift ``COPY``, Athena over CSV) need every day's file
of a dataset to have the same columns in the same order, whatever the first row of the day looks
like. So each known dataset declares its columns, from the shapes the partner API serves
(../shared/reference/partner-api.md); a key the partner adds later is appended after them, with a
warning in the log. A dataset not listed here has its columns discovered from its rows instead.
"""

from __future__ import annotations

#: Each column is the path of keys to its value: ("category", "id") is the CSV column "category_id".
COLUMNS: dict[str, tuple[tuple[str, ...], ...]] = {
    "category": (("id",), ("name",), ("isActive",)),
    "establishment": (("id",), ("cnpj",)),
    "sale": (
        ("id",),
        ("cnpj",),
        ("idCategory",),
        ("category", "id"),
        ("category", "name"),
        ("category", "isActive"),
        ("saleDate",),
        ("value",),
        ("amount",),
    ),
}


def declared_columns(dataset: str) -> tuple[tuple[str, ...], ...]:
    """The dataset's column paths in order; empty for a dataset whose columns are discovered."""
    return COLUMNS.get(dataset, ())


def column_name(path: tuple[str, ...]) -> str:
    return "_".join(path)
