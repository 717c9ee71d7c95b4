import csv
import io
import json
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from refresh_partner_data.csv_spool import (
    BATCH_BYTES,
    MAX_DEPTH,
    MAX_NUMBER_CHARS,
    MAX_UNDECLARED_COLUMNS,
    CsvSpool,
    RowError,
    cell_text,
    json_text,
)
from refresh_partner_data.datasets import COLUMNS, column_name, declared_columns

SALE = declared_columns("sale")


def write(rows, tmp_path, declared=(), *, batched=False) -> bytes:
    """The CSV of ``rows``, added one by one (``add``), or all at once (``add_all``)."""
    spool = CsvSpool(str(tmp_path / "rows.spool"), declared)
    if batched:
        spool.add_all(iter(rows))
    else:
        for row in rows:
            spool.add(row)
    with spool.stream() as stream:
        data = stream.read()
    spool.discard()
    assert not (tmp_path / "rows.spool").exists()
    return data


def read(data: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode("utf-8"), newline="")))


# The columns ------------------------------------------------------------------------------------


def test_a_known_dataset_always_has_its_declared_columns_in_order(tmp_path):
    # The day's first sale has no category, the second one has: the columns do not move.
    rows = [
        {"id": 1, "category": None, "value": Decimal("1.5"), "cnpj": 11},
        {"id": 2, "category": {"id": 30, "name": "Carne", "isActive": True}, "value": Decimal("2")},
    ]
    header, first, second = read(write(rows, tmp_path, SALE))
    assert header == [
        "id",
        "cnpj",
        "idCategory",
        "category_id",
        "category_name",
        "category_isActive",
        "saleDate",
        "value",
        "amount",
    ]
    assert first == ["1", "11", "", "", "", "", "", "1.5", ""]
    assert second == ["2", "", "", "30", "Carne", "true", "", "2", ""]


def test_every_known_dataset_declares_the_partners_shape():
    assert {name: ["_".join(path) for path, _ in columns] for name, columns in COLUMNS.items()} == {
        "category": ["id", "name", "isActive"],
        "establishment": ["id", "cnpj"],
        "sale": [
            "id",
            "cnpj",
            "idCategory",
            "category_id",
            "category_name",
            "category_isActive",
            "saleDate",
            "value",
            "amount",
        ],
    }
    assert declared_columns("something-else") == ()


def test_an_unknown_key_is_appended_after_the_declared_columns(tmp_path):
    spool = CsvSpool(str(tmp_path / "rows.spool"), declared_columns("establishment"))
    spool.add({"id": 1, "cnpj": 2})
    spool.add({"id": 3, "city": "Recife", "cnpj": 4})
    assert spool.extra == ["city"]
    with spool.stream() as stream:
        assert read(stream.read()) == [["id", "cnpj", "city"], ["1", "2", ""], ["3", "4", "Recife"]]
    spool.discard()


def test_a_day_with_only_declared_columns_is_the_spool_itself(tmp_path):
    spool = CsvSpool(str(tmp_path / "rows.spool"), declared_columns("establishment"))
    spool.add({"id": 1, "cnpj": "a,b"})
    spool.add({"cnpj": 4})
    path = spool.whole_file()
    assert path == str(tmp_path / "rows.spool")
    with open(path, "rb") as file:
        whole = file.read()
    assert whole == b'"id","cnpj"\r\n"1","a,b"\r\n,"4"\r\n'
    with spool.stream() as stream:
        assert stream.read() == whole
    spool.discard()


def test_a_late_key_replaces_the_header_the_spool_started_with(tmp_path):
    spool = CsvSpool(str(tmp_path / "rows.spool"), declared_columns("establishment"))
    spool.add({"id": "id", "cnpj": "cnpj"})  # A first row that reads like the header is still a row.
    spool.add({"id": 3, "city": "Recife"})
    assert spool.whole_file() is None
    with spool.stream() as stream:
        assert read(stream.read()) == [["id", "cnpj", "city"], ["id", "cnpj", ""], ["3", "", "Recife"]]
    spool.discard()


def test_a_declared_dataset_with_no_rows_is_its_header_alone(tmp_path):
    spool = CsvSpool(str(tmp_path / "rows.spool"), declared_columns("establishment"))
    path = spool.whole_file()
    assert path is not None
    with open(path, "rb") as file:
        assert file.read() == b'"id","cnpj"\r\n'
    with spool.stream() as stream:
        assert stream.read() == b'"id","cnpj"\r\n'
    spool.discard()


def test_an_undeclared_dataset_with_no_rows_is_an_empty_file(tmp_path):
    spool = CsvSpool(str(tmp_path / "rows.spool"))
    assert spool.whole_file() is None
    with spool.stream() as stream:
        assert stream.read() == b""
    spool.discard()


def test_an_undeclared_dataset_is_never_a_whole_file(tmp_path):
    spool = CsvSpool(str(tmp_path / "rows.spool"))
    spool.add({"a": 1})
    assert spool.whole_file() is None, "its header is not in the spool"
    spool.discard()


def test_an_undeclared_dataset_discovers_its_columns_in_first_seen_order(tmp_path):
    data = write([{"a": 1, "b": 2}, {"b": 3, "c": 4}, {"d": {"e": 5}, "a": 6}], tmp_path)
    assert read(data) == [["a", "b", "c", "d_e"], ["1", "2", "", ""], ["", "3", "4", ""], ["6", "", "", "5"]]


def test_a_long_field_before_a_late_key_is_copied_whole(tmp_path):
    # Padding reads the spool back: a field past csv's default 131,072 limit once failed the day.
    long = "x" * 200_000
    assert read(write([{"a": long}, {"a": "y", "b": "z"}], tmp_path)) == [["a", "b"], [long, ""], ["y", "z"]]


@pytest.mark.parametrize(
    "rows",
    [
        [{"category": {"id": 1}, "category_id": 2}],
        [{"category": {"id": 1}}, {"category_id": 2}],
        [{"category_id": 2}, {"category": {"id": 1}}],
    ],
    ids=["one-row", "object-then-key", "key-then-object"],
)
def test_two_paths_to_one_column_fail_the_dataset(tmp_path, rows):
    spool = CsvSpool(str(tmp_path / "rows.spool"))
    *first, last = rows
    for row in first:
        spool.add(row)
    with pytest.raises(RowError) as caught:
        spool.add(last)
    assert {'"category.id"', '"category_id"'} < set(str(caught.value).split()), str(caught.value)
    assert str(caught.value).endswith('would both be the column "category_id"')
    spool.discard()


def test_a_top_level_key_cannot_take_a_declared_nested_column(tmp_path):
    spool = CsvSpool(str(tmp_path / "rows.spool"), SALE)
    with pytest.raises(RowError, match=r'row 1: "category_id" and "category\.id"'):
        spool.add({"id": 1, "category_id": 30})
    spool.discard()


def test_an_object_where_a_declared_object_is_expected_but_a_value_comes_gets_its_own_column(tmp_path):
    header, row = read(write([{"id": 1, "category": "Carne"}], tmp_path, SALE))
    assert header[-1] == "category"
    assert row[-1] == "Carne"


# The values ------------------------------------------------------------------------------------


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
        (Decimal("1E-7"), "0.0000001"),
        (Decimal("100E2"), "10000"),
        (Decimal("1.5E+3"), "1500"),
        (Decimal("-2.50E-2"), "-0.0250"),
        ("Sabão em Pó", "Sabão em Pó"),
        ([1, Decimal("2.50"), "x", None, True, {"k": [False]}], '[1,2.50,"x",null,true,{"k":[false]}]'),
        (["é"], '["é"]'),
        ([Decimal("1E+2")], "[100]"),
        ({}, "{}"),
        ([], "[]"),
    ],
)
def test_cell_text(value, text):
    assert cell_text(value) == text


def test_a_number_too_long_to_write_out_is_refused():
    assert len(cell_text(Decimal(f"1E+{MAX_NUMBER_CHARS - 3}"))) == MAX_NUMBER_CHARS - 2
    with pytest.raises(RowError, match="longer than"):
        cell_text(Decimal("1E+1000000"))
    with pytest.raises(RowError, match="longer than"):
        cell_text(Decimal("1E-1000000"))
    assert cell_text(int("9" * 5000)) == "9" * 5000


def test_json_text_of_unsupported_values_is_refused():
    assert json_text(1.5) == "1.5"
    with pytest.raises(RowError, match="unsupported"):
        json_text(object())


def test_rows_keep_their_text_and_are_quoted_as_rfc_4180_says(tmp_path):
    data = write([{"a": "x,y", "b": 'say "hi"'}, {"b": "line\nbreak", "a": "é"}, {"a": "cr\ronly"}], tmp_path)
    assert data.decode() == '"a","b"\r\n"x,y","say ""hi"""\r\n"é","line\nbreak"\r\n"cr\ronly",\r\n'
    assert read(data)[3] == ["cr\ronly", ""]


def test_an_empty_day_is_the_header_alone_or_nothing_without_declared_columns(tmp_path):
    assert write([], tmp_path) == b""
    assert read(write([], tmp_path, SALE)) == [[column_name(path) for path in SALE]]


def test_empty_objects_are_rows_of_empty_fields_not_blank_lines(tmp_path):
    assert read(write([{}, {}], tmp_path, declared_columns("establishment"))) == [
        ["id", "cnpj"],
        ["", ""],
        ["", ""],
    ]
    assert write([{}, {}], tmp_path) == b"", "rows without a single column: nothing to write"


@pytest.mark.parametrize("depth", [MAX_DEPTH + 1, 1_500])
def test_nesting_past_the_limit_fails_the_row_not_the_process(tmp_path, depth):
    nested = current = {}
    for _ in range(depth):
        current["k"] = {}
        current = current["k"]
    listed = []
    current_list = listed
    for _ in range(depth):
        current_list.append([])
        current_list = current_list[0]
    for row in ({"deep": nested}, {"deep": listed}):
        spool = CsvSpool(str(tmp_path / "rows.spool"))
        with pytest.raises(RowError, match=r"row 1: .*nested deeper than 32 levels"):
            spool.add(row)
        spool.discard()


def test_a_lone_surrogate_fails_the_row(tmp_path):
    spool = CsvSpool(str(tmp_path / "rows.spool"))
    with pytest.raises(RowError, match="row 1: a string that UTF-8 cannot carry"):
        spool.add({"a": "\ud800"})
    spool.discard()


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
    | st.decimals(allow_nan=False, allow_infinity=False, min_value=-(10**40), max_value=10**40)
    | st.text(alphabet=st.characters(exclude_categories=["Cs"]))
)
names = st.text(alphabet="abcdefghij", min_size=1, max_size=4)
rows = st.lists(
    st.dictionaries(names, scalars | st.dictionaries(names, scalars, min_size=1, max_size=3), max_size=5),
    max_size=8,
)


def expected_text(value) -> str | None:
    """The field a loader reads: None for null, U+0000 as U+FFFD (PostgreSQL refuses it)."""
    if value is None:
        return None
    if isinstance(value, bool):
        return json.dumps(value)
    if isinstance(value, Decimal):
        return format(value, "f")
    return str(value).replace("\x00", "\ufffd")


def read_nulls(data: bytes) -> list[list[str | None]]:
    """The rows with null (an empty unquoted field) as None, apart from the empty string."""
    return list(csv.reader(io.StringIO(data.decode("utf-8"), newline=""), quoting=csv.QUOTE_NOTNULL))


@settings(max_examples=200, deadline=None)
@given(rows=rows)
def test_round_trip_keeps_every_value(tmp_path_factory, rows):
    data = write(rows, tmp_path_factory.mktemp("csv"))
    if not any(rows):
        assert data == b""
        return
    header, *records = read_nulls(data)
    assert header == sorted(header), "undeclared columns are sorted by name"
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
        null = "" if len(header) == 1 else None  # A blank line would be skipped: one null field is "".
        expected = {k: null if v is None else v for k, v in expected.items()}
        assert {k: v for k, v in cells.items() if k in expected} == expected
        assert all(v is null for k, v in cells.items() if k not in expected)


# Batches (add_all) ------------------------------------------------------------------------------


CATEGORY = declared_columns("category")
plain_values = st.none() | st.integers() | st.text(alphabet=st.characters(exclude_categories=["Cs"]))
other_values = (
    st.booleans()
    | st.decimals(allow_nan=False, allow_infinity=False, min_value=-(10**9), max_value=10**9)
    | st.lists(st.integers(), max_size=2)
    | st.dictionaries(names, plain_values, max_size=2)
)
category_rows = st.fixed_dictionaries(
    {"id": plain_values, "name": plain_values, "isActive": plain_values | other_values},
    optional={"extra": plain_values},
).flatmap(lambda row: st.permutations(list(row.items())).map(dict))


@settings(max_examples=300, deadline=None)
@given(rows=st.lists(category_rows, max_size=12))
def test_a_batch_is_written_as_row_by_row_adding_writes_it(tmp_path_factory, rows):
    folder = tmp_path_factory.mktemp("csv")
    assert write(rows, folder, CATEGORY, batched=True) == write(rows, folder, CATEGORY)


def test_plain_rows_are_written_by_the_batch_and_others_row_by_row(tmp_path, monkeypatch):
    plain = [{"id": i, "name": f'n,{i}\n"q"', "isActive": None} for i in range(3000)]
    plain[2500]["isActive"] = True  # Its batch (rows 2049 to 3000) goes row by row.
    added = []
    original = CsvSpool.add
    monkeypatch.setattr(CsvSpool, "add", lambda self, row: (added.append(row), original(self, row)))
    data = write(plain, tmp_path, CATEGORY, batched=True)
    assert added == plain[2048:]
    monkeypatch.setattr(CsvSpool, "add", original)
    assert data == write(plain, tmp_path, CATEGORY)
    assert read(data)[2501] == ["2500", 'n,2500\n"q"', "true"]


def test_keys_in_another_order_are_written_in_the_declared_order(tmp_path):
    data = write([{"isActive": 1, "id": 2, "name": "x"}] * 3, tmp_path, CATEGORY, batched=True)
    assert read(data) == [["id", "name", "isActive"], *[["2", "x", "1"]] * 3]


def test_a_single_declared_column_is_written_by_the_batch(tmp_path):
    assert read(write([{"id": 7}, {"id": None}, {"id": "a"}], tmp_path, (("id",),), batched=True)) == [
        ["id"],
        ["7"],
        [""],
        ["a"],
    ]


def test_a_lone_surrogate_in_a_batch_fails_with_its_row_number(tmp_path):
    rows = [{"id": i, "name": "ok", "isActive": 1} for i in range(1500)]
    rows[1499]["name"] = "bad \udc80"
    spool = CsvSpool(str(tmp_path / "rows.spool"), CATEGORY)
    with pytest.raises(RowError, match=r"^row 1500: a string that UTF-8 cannot carry"):
        spool.add_all(rows)
    spool.discard()


@pytest.mark.parametrize("odd", [1, None, [1], "x"])
def test_a_row_that_is_not_an_object_fails_the_batch_with_its_row_number(tmp_path, odd):
    rows = [{"id": i, "name": "ok", "isActive": 1} for i in range(1100)]
    rows[1030] = odd
    spool = CsvSpool(str(tmp_path / "rows.spool"), CATEGORY)
    with pytest.raises(RowError, match=r"^row 1031 is a JSON"):
        spool.add_all(rows)
    assert spool.rows == 1030
    spool.discard()


# Columns a positional loader can trust (issue 24) -----------------------------------------------


def test_undeclared_columns_are_in_the_same_order_whichever_day_they_come(tmp_path):
    monday = write(
        [{"id": 1, "cnpj": 2, "colour": "red", "size": "L"}], tmp_path, declared_columns("establishment")
    )
    tuesday = write(
        [{"size": "M", "id": 3, "colour": "blue", "cnpj": 4}], tmp_path, declared_columns("establishment")
    )
    assert read(monday)[0] == read(tuesday)[0] == ["id", "cnpj", "colour", "size"]
    assert read(tuesday)[1] == ["3", "4", "blue", "M"]


def test_an_undeclared_dataset_has_the_same_columns_whichever_key_comes_first(tmp_path):
    assert read(write([{"id": 1, "amount": 2}], tmp_path)) == [["amount", "id"], ["2", "1"]]
    assert read(write([{"amount": 2, "id": 1}], tmp_path)) == [["amount", "id"], ["2", "1"]]


def test_rows_written_before_a_column_was_found_are_null_there_and_in_its_place(tmp_path):
    data = write([{"b": ""}, {"c": 1, "a": "x"}], tmp_path)
    assert read_nulls(data) == [["a", "b", "c"], [None, "", None], ["x", None, "1"]]


def test_more_undeclared_columns_than_the_cap_fail_the_dataset_and_say_so(tmp_path):
    spool = CsvSpool(str(tmp_path / "rows.spool"), declared_columns("establishment"))
    spool.add({f"k{i}": i for i in range(MAX_UNDECLARED_COLUMNS)})
    with pytest.raises(
        RowError, match=rf"row 2: more than {MAX_UNDECLARED_COLUMNS} columns the dataset does not declare"
    ):
        spool.add({"one_more": 1})
    spool.discard()


def test_id_keyed_objects_do_not_become_thousands_of_columns(tmp_path):
    spool = CsvSpool(str(tmp_path / "rows.spool"))
    with pytest.raises(RowError, match="columns the dataset does not declare"):
        spool.add({"by_id": {str(n): {"v": n} for n in range(100_000)}})
    assert len(spool.columns) == MAX_UNDECLARED_COLUMNS
    spool.discard()


@pytest.mark.parametrize(
    ("rows", "names"),
    [
        ([{"id": 1, "ID": 2}], ('"id"', '"ID"')),
        ([{"Colour": 1}, {"colour": 2}], ('"Colour"', '"colour"')),
        ([{"category": {"ID": 3}}], ('"category_id"', '"category_ID"')),
    ],
    ids=["declared-and-upper", "across-rows", "nested"],
)
def test_columns_that_differ_only_in_case_fail_the_dataset(tmp_path, rows, names):
    spool = CsvSpool(str(tmp_path / "rows.spool"), SALE)
    *first, last = rows
    for row in first:
        spool.add(row)
    with pytest.raises(RowError, match="differ only in case") as caught:
        spool.add(last)
    assert all(name in str(caught.value) for name in names), str(caught.value)
    spool.discard()


def test_a_declared_column_that_no_row_carries_is_reported_absent(tmp_path):
    spool = CsvSpool(str(tmp_path / "rows.spool"), SALE)
    spool.add_all([{"id": 1, "category": None, "value": 2}, {"id": 2, "category": {"id": 3}, "cnpj": None}])
    assert spool.absent == ["idCategory", "saleDate", "amount"]
    spool.discard()


def test_plain_rows_carry_every_declared_column_and_no_rows_report_none_absent(tmp_path):
    spool = CsvSpool(str(tmp_path / "rows.spool"), CATEGORY)
    assert spool.absent == []
    spool.add_all([{"id": 1, "name": "a", "isActive": None}])
    assert spool.absent == []
    spool.discard()


def test_a_null_and_an_empty_string_stay_apart(tmp_path):
    data = write([{"id": 1, "name": "", "isActive": None}, {"id": None, "name": None}], tmp_path, CATEGORY)
    assert read_nulls(data) == [["id", "name", "isActive"], ["1", "", None], [None, None, None]]
    batched = write([{"id": 1, "name": "", "isActive": None}], tmp_path, CATEGORY, batched=True)
    assert batched == b'"id","name","isActive"\r\n"1","",\r\n'


@pytest.mark.parametrize("extra", [False, True], ids=["whole-file", "rewritten"])
def test_nul_is_written_as_the_replacement_character_and_counted(tmp_path, extra):
    spool = CsvSpool(str(tmp_path / "rows.spool"), CATEGORY)
    spool.add_all([{"id": 1, "name": "a\x00b\x00", "isActive": None}, *([{"new": "\x00"}] if extra else [])])
    assert spool.whole_file() is None
    assert spool.nul_replaced == 2 + extra
    with spool.stream() as stream:
        data = stream.read()
    assert b"\x00" not in data
    assert read(data)[1][1] == "a\ufffdb\ufffd"
    spool.discard()


def test_batches_end_by_the_bytes_read_as_well_as_by_rows(tmp_path, monkeypatch):
    read_so_far = [0]
    sizes = []

    def rows():
        for n in range(10):
            read_so_far[0] += BATCH_BYTES // 3 + 1  # Wide rows: over a third of a batch's bytes each.
            yield {"id": n, "name": "x", "isActive": None}

    spool = CsvSpool(str(tmp_path / "rows.spool"), CATEGORY)
    original = spool._add_plain
    monkeypatch.setattr(spool, "_add_plain", lambda batch: sizes.append(len(batch)) or original(batch))
    spool.add_all(rows(), position=lambda: read_so_far[0])
    assert sizes == [3, 3, 3, 1]
    assert spool.rows == 10
    spool.discard()
