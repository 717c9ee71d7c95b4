"""Deterministic synthetic partner data in the shapes the real API returns.

The same (table, day, volume) always gives the same rows, so tests and benchmarks can compare what
landed in S3 with what was served. Rows are rendered straight to JSON text (a million
``establishment`` rows take about a second) and can be parsed back with ``parse_row``.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

TABLES = ("category", "establishment", "sale")

#: Portuguese product names as in the original data, plus two that test CSV quoting.
CATEGORY_NAMES = (
    "Açucar",
    "Sabão em Pó",
    "Carne",
    "Feijão",
    "Arroz",
    "Café",
    "Óleo de Soja",
    "Macarrão",
    "Leite",
    "Pão Francês",
    "Farinha de Trigo",
    "Manteiga",
    "Refrigerante",
    "Água Mineral",
    "Biscoito",
    "Maçã",
    "Limão",
    "Frango",
    "Queijo Muçarela",
    "Detergente",
    'Vinho "Reserva", Tinto',
    "Promoção\nRelâmpago",
)


@dataclass(frozen=True)
class Volume:
    establishments: int = 2_000
    #: Sales per day vary around this figure (within ±20%) from one day to the next.
    sales_per_day: int = 300


def _category_json(index: int) -> str:
    name = CATEGORY_NAMES[index - 1]
    active = "false" if index % 7 == 0 else "true"
    return f'{{"id":{index},"name":{json.dumps(name, ensure_ascii=False)},"isActive":{active}}}'


_CATEGORIES = tuple(_category_json(i) for i in range(1, len(CATEGORY_NAMES) + 1))


def cnpj(establishment_id: int) -> int:
    """A 13-14 digit number, like the original's (leading zeros already lost upstream)."""
    return 1_000_000_000_000 + (establishment_id * 7_919_104_729) % 98_999_999_999_999


def sales_count(day: date, volume: Volume) -> int:
    spread = max(1, volume.sales_per_day // 5)
    return volume.sales_per_day - spread + zlib.crc32(day.isoformat().encode()) % (2 * spread + 1)


def row_count(table: str, day: date, volume: Volume) -> int:
    if table == "category":
        return len(CATEGORY_NAMES)
    if table == "establishment":
        return volume.establishments
    return sales_count(day, volume)


def rows_json(table: str, day: date, volume: Volume) -> Iterator[str]:
    """Each row of ``table`` for ``day`` as compact JSON text.

    ``category`` and ``establishment`` ignore the day (the real API may return whole tables).
    """
    if table == "category":
        yield from _CATEGORIES
    elif table == "establishment":
        for i in range(1, volume.establishments + 1):
            yield f'{{"id":{i},"cnpj":{cnpj(i)}}}'
    elif table == "sale":
        yield from _sales(day, volume)
    else:
        raise ValueError(f"unknown table {table!r}")


def _sales(day: date, volume: Volume) -> Iterator[str]:
    count = sales_count(day, volume)
    seed = zlib.crc32(f"sale:{day.isoformat()}".encode())
    first_id = day.toordinal() * 10_000
    for n in range(count):
        mix = (seed + n * 2_654_435_761) & 0xFFFFFFFF
        category = 1 + mix % len(CATEGORY_NAMES)
        establishment = 1 + (mix >> 8) % max(1, volume.establishments)
        second = n * 86_399 // max(1, count)
        clock = f"{second // 3600:02d}:{second // 60 % 60:02d}:{second % 60:02d}.{mix % 1000:03d}"
        stamp = f"{day.isoformat()}T{clock}"
        value = repr((mix >> 4) % 50_000 / 100)
        amount = 1 + (mix >> 12) % 20
        yield (
            f'{{"id":{first_id + n},"cnpj":{cnpj(establishment)},"idCategory":{category},'
            f'"category":{_CATEGORIES[category - 1]},"saleDate":"{stamp}","value":{value},"amount":{amount}}}'
        )


def parse_row(text: str) -> dict[str, Any]:
    """A row as ijson gives it to the refresh function: integers as int, other numbers Decimal."""
    return json.loads(text, parse_float=Decimal)
