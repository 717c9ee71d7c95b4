import csv
import io
import json
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from refresh_partner_data.csv_export import CsvSpool, RowError, cell_text, flatten, json_text


def write(rows, tmp_path) -> bytes:
    spool = CsvSpool(str(tmp_path / "rows.spool"))
    for row in rows:
        spool.add(row)
    size = spool.write_csv(str(tmp_path / "out.csv"))
    data = (tmp_path / "out.csv").read_bytes()
    assert size == len(data)
    assert not (tmp_path / "rows.spool").exists()
    return data


def read(data: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode("utf-8"), newline="")))


def test_nested_objects_are_flattened_with_underscores():
    sale = {"id": 1, "category": {"id": 30, "name": "Carne", "isActive": True}, "deep": {"a": {"b": None}}}
    assert flatten(sale) == {
        "id": "1",
        "category_id": "30",
        "category_name": "Carne",
        "category_isActive": "true",
        "deep_a_b": "",
    }


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (None, ""),
        (True, "true"),
        (False, "false"),
        (0, "0"),
        (12345678901234567890123, "12345678901234567890123"),
        (Decimal("181.0"), "181.0"),
        (Decimal("0.1000000000000000055511151231257827"), "0.1000000000000000055511151231257827"),
        (Decimal("-0.0"), "-0.0"),
        ("Sabão em Pó", "Sabão em Pó"),
        ([1, Decimal("2.50"), "x", None, True, {"k": [False]}], '[1,2.50,"x",null,true,{"k":[false]}]'),
        ({}, "{}"),
        ([], "[]"),
    ],
)
def test_cell_text(value, text):
    assert cell_text(value) == text


def test_json_text_of_unsupported_values_is_refused():
    assert json_text(1.5) == "1.5"
    with pytest.raises(RowError, match="unsupported"):
        json_text(object())


def test_header_is_the_union_of_keys_in_first_seen_order(tmp_path):
    data = write([{"a": 1, "b": 2}, {"b": 3, "c": 4}, {"d": {"e": 5}, "a": 6}], tmp_path)
    assert read(data) == [["a", "b", "c", "d_e"], ["1", "2", "", ""], ["", "3", "4", ""], ["6", "", "", "5"]]


def test_rows_with_the_same_keys_are_copied_unchanged(tmp_path):
    data = write([{"a": "x,y", "b": 'say "hi"'}, {"b": "line\nbreak", "a": "é"}, {"a": "cr\ronly"}], tmp_path)
    assert data.decode() == 'a,b\r\n"x,y","say ""hi"""\r\né,"line\nbreak"\r\n"cr\ronly",\r\n'
    assert read(data)[3] == ["cr\ronly", ""]


def test_an_empty_day_is_an_empty_file(tmp_path):
    assert write([], tmp_path) == b""


def test_colliding_column_names_are_refused(tmp_path):
    spool = CsvSpool(str(tmp_path / "rows.spool"))
    spool.add({"category": {"id": 1}})
    with pytest.raises(RowError, match="row 2: two fields flatten to the same column 'category_id'"):
        spool.add({"category": {"id": 1}, "category_id": 2})
    spool.discard()
    assert not (tmp_path / "rows.spool").exists()


@pytest.mark.parametrize("row", [1, "x", [1], None])
def test_rows_must_be_objects(tmp_path, row):
    spool = CsvSpool(str(tmp_path / "rows.spool"))
    with pytest.raises(RowError, match="row 1 is a JSON"):
        spool.add(row)
    spool.discard()


scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.decimals(allow_nan=False, allow_infinity=False)
    | st.text(alphabet=st.characters(exclude_categories=["Cs"]))
)
names = st.text(alphabet="abcdefghij", min_size=1, max_size=4)
rows = st.lists(
    st.dictionaries(names, scalars | st.dictionaries(names, scalars, min_size=1, max_size=3), max_size=5),
    max_size=8,
)


def expected_text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return json.dumps(value)
    return str(value)


@settings(max_examples=200, deadline=None)
@given(rows=rows)
def test_round_trip_keeps_every_value(tmp_path_factory, rows):
    data = write(rows, tmp_path_factory.mktemp("csv"))
    if not rows:
        assert data == b""
        return
    header, *records = read(data)
    assert len(records) == len(rows)
    for source, record in zip(rows, records, strict=True):
        assert len(record) == len(header)
        cells = dict(zip(header, record, strict=True))
        expected = {}
        for key, value in source.items():
            if isinstance(value, dict):
                expected.update({f"{key}_{k}": expected_text(v) for k, v in value.items()})
            else:
                expected[key] = expected_text(value)
        assert {k: v for k, v in cells.items() if k in expected} == expected
        assert all(v == "" for k, v in cells.items() if k not in expected)
