"""The checks the partner client makes on the response's bytes before ijson's C backend sees them,
read by read: a number too long to convert, a lone UTF-16 surrogate escape, a value too long to
hold, a body too large, the deadline; the byte order mark; partner text as messages show it."""

import pytest

from refresh_partner_data.body_checks import MIN_FIELD_BYTES, BodyChecks, RefusedBytes, _unescaped_quote
from refresh_partner_data.csv_spool import MAX_NUMBER_CHARS
from refresh_partner_data.partner_client import READ_CHUNK_BYTES, PartnerApiError, _Body
from refresh_partner_data.partner_text import MAX_SHOWN_CHARS, shown
from refresh_partner_data.partner_text import cut as cut_text


class Reads:
    """A response whose socket reads bring ``chunks``, one each."""

    def __init__(self, chunks: list[bytes]) -> None:
        self._chunks = list(chunks)

    def read1(self, size: int) -> bytes:
        assert size <= READ_CHUNK_BYTES
        return self._chunks.pop(0) if self._chunks else b""

    read = read1


def read_all(*chunks: bytes, deadline: float = float("inf"), clock=lambda: 0.0) -> bytes:
    body = _Body(Reads(list(chunks)), deadline, clock)
    data = b""
    while chunk := body.read(READ_CHUNK_BYTES):
        data += chunk
    return data


def refused(*chunks: bytes) -> str:
    with pytest.raises(PartnerApiError) as caught:
        read_all(*chunks)
    assert not caught.value.retryable
    return str(caught.value)


DIGITS = b"7" * MAX_NUMBER_CHARS
TOO_LONG = f"a number of more than {MAX_NUMBER_CHARS:,} digits"
LONE = "a lone UTF-16 surrogate escape"


# Numbers -----------------------------------------------------------------------------------------


def test_the_longest_number_allowed_passes_unchanged():
    body = b'[{"v":' + DIGITS + b"}]"
    assert read_all(body) == body


@pytest.mark.parametrize("digit", b"0123456789")
def test_one_digit_more_is_refused_whichever_the_digits(digit):
    assert TOO_LONG in refused(b'[{"v":' + bytes([digit]) * (MAX_NUMBER_CHARS + 1) + b"}]")


def test_a_run_at_the_very_start_of_the_body_is_counted_from_its_first_digit():
    assert read_all(DIGITS) == DIGITS
    assert TOO_LONG in refused(DIGITS + b"1")
    assert read_all(DIGITS[:5000], DIGITS[5000:]) == DIGITS
    assert TOO_LONG in refused(DIGITS[:5000], DIGITS[5000:] + b"1")


def test_a_run_of_mixed_digits_counts_every_digit():
    assert TOO_LONG in refused(b"[" + b"1234567890" * (MAX_NUMBER_CHARS // 10) + b"1]")
    assert read_all(b"[" + b"1234567890" * (MAX_NUMBER_CHARS // 10) + b"]")


@pytest.mark.parametrize("split", [1, 500, MAX_NUMBER_CHARS - 1])
def test_a_run_split_between_reads_is_counted_whole(split):
    run = b"1" * (MAX_NUMBER_CHARS + 1)
    assert TOO_LONG in refused(b"[" + run[:split], run[split:] + b"]")
    assert read_all(b"[" + run[: split - 1], run[split:] + b"]")


def test_a_run_over_three_reads_is_counted_whole():
    assert TOO_LONG in refused(b"[" + b"1" * 4000, b"2" * 4000, b"3" * 2001 + b"]")
    assert read_all(b"[" + b"1" * 4000, b"2" * 4000, b"3" * 2000 + b"]")


def test_a_run_ends_at_a_non_digit_even_across_reads():
    assert read_all(b"[" + b"1" * 9000, b"," + b"2" * 9000 + b"]")
    assert read_all(b"[" + b"1" * 9000 + b",", b"2" * 9000 + b"]")
    assert read_all(b"[" + DIGITS + b",", DIGITS + b"," + DIGITS + b"]")


def test_the_refusal_says_where_the_read_began():
    assert f"(near byte {READ_CHUNK_BYTES:,})" in refused(b" " * READ_CHUNK_BYTES, b"[" + DIGITS + b"1]")


# Surrogate escapes ---------------------------------------------------------------------------------

PAIR = b"\\ud83d\\ude00"


@pytest.mark.parametrize(
    "escape", [b"\\ud800", b"\\uD800", b"\\udbff", b"\\uDBFF", b"\\udc00", b"\\uDC00", b"\\udfff", b"\\uDfFf"]
)
def test_a_lone_surrogate_escape_is_refused_in_either_case(escape):
    assert LONE in refused(b'["a' + escape + b'b"]')


@pytest.mark.parametrize("pair", [PAIR, b"\\uD83D\\uDE00", b"\\udbff\\udfff", b"\\ud800\\udc00"])
def test_a_surrogate_pair_passes_unchanged(pair):
    body = b'["a' + pair + b'b", "' + pair + b'"]'
    assert read_all(body) == body


@pytest.mark.parametrize("split", range(1, len(PAIR)))
def test_a_pair_split_between_reads_passes(split):
    body = b'["' + PAIR + b'"]'
    cut = 2 + split
    assert read_all(body[:cut], body[cut:]) == body


@pytest.mark.parametrize("offset", range(8))
def test_a_pair_passes_wherever_it_lies_and_wherever_the_read_ends(offset):
    body = b'["' + b"x" * offset + PAIR + b'"]'
    for cut in range(1, len(body)):
        assert read_all(body[:cut], body[cut:]) == body, cut


def test_a_lone_low_escape_just_after_a_pair_that_ended_a_read_is_refused():
    assert LONE in refused(b'["' + PAIR, b'\\udc00"]')
    assert LONE in refused(b'["' + PAIR, b'x\\udc00"]')
    # The bytes carried to the next read cut this pair's high escape: its low one was judged already.
    assert LONE in refused(b'["' + PAIR + b"ab", b'\\udc00"]')


@pytest.mark.parametrize("split", range(1, len(PAIR)))
def test_a_high_escape_split_from_what_follows_it_is_still_lone(split):
    body = b'["\\ud83d\\u0041 \\ud83dxxxxxx"]'
    cut = 2 + split
    assert LONE in refused(body[:cut], body[cut:])


def test_a_high_escape_at_the_very_end_of_the_body_is_lone():
    assert LONE in refused(b'["\\ud83d')


def test_a_low_escape_after_a_pair_is_lone():
    assert LONE in refused(b'["' + PAIR + b'\\ude00"]')


def test_escapes_that_are_not_surrogates_pass():
    body = b'["\\u00e3\\u0041\\ue000\\ud7ff\\u0064800"]'
    assert read_all(body) == body


@pytest.mark.parametrize("before", [0, 100, READ_CHUNK_BYTES - 3])
def test_the_refusal_says_where_the_lone_escape_is(before):
    message = refused(b"[" + b" " * before, b'"\\udc00"]')
    assert f"(near byte {before + 2:,})" in message


def test_a_lone_escape_fails_its_own_read():
    body = _Body(Reads([b'["ok", ', b'"\\udc00 and more"]']), float("inf"), lambda: 0.0)
    assert body.read() == b'["ok", '
    with pytest.raises(PartnerApiError, match=LONE):
        body.read()
    assert body.position == 7


def test_a_high_escape_with_six_bytes_after_it_is_judged_by_its_own_read():
    body = _Body(Reads([b'["\\ud800abcdef', b'"]']), float("inf"), lambda: 0.0)
    with pytest.raises(PartnerApiError, match=LONE):
        body.read()


def test_a_high_escape_near_the_end_of_a_read_is_judged_by_the_next_one():
    body = _Body(Reads([b'["\\ud800x"]']), float("inf"), lambda: 0.0)
    assert body.read() == b'["\\ud800x"]'  # Six bytes must follow it to tell; a pair can be split.
    with pytest.raises(PartnerApiError, match=LONE):
        body.read()


def test_no_more_than_two_escapes_are_carried_from_one_read_to_the_next():
    checks = BodyChecks()
    position = 0
    for chunk in [b'["' + PAIR * 5000, b"x" * 100 + PAIR * 3, b"1" * 50, b'"]']:
        checks.check(chunk, position)
        position += len(chunk)
        assert len(checks._tail) <= 12  # The memory kept between reads does not grow with them.


# The deadline ---------------------------------------------------------------------------------------


def test_no_read_starts_after_the_deadline():
    now = [0.0]
    body = _Body(Reads([b"[1", b",2", b"]"]), 10.0, lambda: now[0])
    assert body.read() == b"[1"
    now[0] = 10.0
    with pytest.raises(PartnerApiError, match=r"did not arrive in time \(2 bytes by the deadline\)"):
        body.read()


# The longest value and the whole body (issue 24) -------------------------------------------------

FIELD = MIN_FIELD_BYTES  # The smallest limit allowed: a megabyte, sixteen reads.


def checked(*chunks: bytes, max_field_bytes: int = FIELD, max_body_bytes: int = 2**40) -> None:
    checks = BodyChecks(max_field_bytes=max_field_bytes, max_body_bytes=max_body_bytes)
    position = 0
    for chunk in chunks:
        checks.check(chunk, position)
        position += len(chunk)


def split(data: bytes, size: int = READ_CHUNK_BYTES) -> list[bytes]:
    return [data[start : start + size] for start in range(0, len(data), size)]


def test_a_value_of_the_limit_passes_and_one_byte_more_is_refused():
    checked(*split(b'["' + b"a" * FIELD + b'"]'))
    with pytest.raises(RefusedBytes, match=f"a value of more than {FIELD:,} bytes"):
        checked(*split(b'["' + b"a" * (FIELD + 1) + b'"]'))


def test_the_value_refusal_says_where_the_read_began():
    with pytest.raises(RefusedBytes, match=f"near byte {16 * READ_CHUNK_BYTES:,}"):
        checked(*split(b'["' + b"a" * (FIELD + 1) + b'"]'))


@pytest.mark.parametrize("escaped", [b'\\"', b'\\\\"'], ids=["quote", "backslash-then-quote"])
def test_an_escaped_quote_does_not_end_the_value(escaped):
    half = b"a" * (FIELD // 2)
    with pytest.raises(RefusedBytes):
        checked(*split(b'["' + half + escaped + half + b'"]'))


def test_an_escape_split_from_its_quote_between_reads_does_not_end_the_value():
    value = b"a" * (READ_CHUNK_BYTES - 3) + b"\\"  # The read ends with the backslash...
    rest = b'"' + b"a" * FIELD  # ...and the next begins with the quote it escapes.
    with pytest.raises(RefusedBytes):
        checked(b'["' + value, *split(rest), b'"]')


def test_a_quote_at_the_start_of_a_read_after_a_plain_byte_ends_the_value():
    checked(b'["' + b"a" * (READ_CHUNK_BYTES - 2), b'", "' + b"b" * 10, *split(b"c" * (FIELD - 20)), b'"]')


def test_each_value_is_measured_from_its_own_opening_quote():
    # Two values of nearly the limit each, one after the other: neither is too long.
    near = b"a" * (FIELD - 10)
    checked(*split(b'["' + near + b'", "' + near + b'"]'))


def test_what_follows_the_last_quote_of_a_read_is_counted_with_the_next_reads():
    first = b'["x", "' + b"a" * (READ_CHUNK_BYTES - 7)  # The last quote opens a long value.
    with pytest.raises(RefusedBytes):
        checked(first, *split(b"a" * (FIELD - len(first) + 8)), b'"]')
    checked(first, *split(b"a" * (FIELD - (READ_CHUNK_BYTES - 7))), b'"]')


def test_text_between_values_counts_too():
    with pytest.raises(RefusedBytes):
        checked(*split(b'["a",' + b" " * (FIELD + 1) + b'"b"]'))


def test_a_limit_below_a_megabyte_is_refused():
    with pytest.raises(ValueError, match="at least 1,048,576"):
        BodyChecks(max_field_bytes=MIN_FIELD_BYTES - 1)
    BodyChecks(max_field_bytes=MIN_FIELD_BYTES)


def test_a_body_of_the_limit_passes_and_one_byte_more_is_refused():
    body = b"[" + b"1," * 99_999 + b"1]"
    checked(*split(body), max_body_bytes=len(body))
    with pytest.raises(RefusedBytes, match=f"longer than {len(body) - 1:,} bytes"):
        checked(*split(body), max_body_bytes=len(body) - 1)


def test_the_client_refuses_with_the_limits_it_was_given():
    body = _Body(Reads([b'["' + b"a" * 10 + b'"]']), float("inf"), lambda: 0.0, BodyChecks(max_body_bytes=5))
    with pytest.raises(PartnerApiError, match="longer than 5 bytes"):
        body.read(READ_CHUNK_BYTES)


# A byte order mark ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "chunks",
    [
        [b"\xef\xbb\xbf[1]"],
        [b"\xef", b"\xbb\xbf[1]"],
        [b"\xef\xbb", b"\xbf", b" [1]"],
        [b"\xef\xbb\xbf", b"\n[1]"],
    ],
    ids=["whole", "split-1", "split-2", "then-whitespace"],
)
def test_a_byte_order_mark_before_the_array_is_dropped(chunks):
    body = _Body(Reads(chunks), float("inf"), lambda: 0.0)
    assert body.first_byte() == b"["
    assert body.read(READ_CHUNK_BYTES) == b"[1]"


@pytest.mark.parametrize(
    "chunks", [[b"\xef\xbb\xbf"], [b"\xef", b"\xbb\xbf"], []], ids=["mark-only", "mark-split", "nothing"]
)
def test_a_body_of_a_byte_order_mark_alone_is_empty(chunks):
    assert _Body(Reads(chunks), float("inf"), lambda: 0.0).first_byte() == b""


@pytest.mark.parametrize(
    "chunks", [[b"\xef\xbb[1]"], [b"\xef", b"x[1]"], [b"[\xef\xbb\xbf1]"], [b"\xef\xbb"], [b"\xef"]]
)
def test_anything_else_is_left_as_it_is(chunks):
    body = _Body(Reads(chunks), float("inf"), lambda: 0.0)
    first = body.first_byte()
    assert first == b"".join(chunks)[:1]


def test_a_second_byte_order_mark_is_not_dropped():
    body = _Body(Reads([b"\xef\xbb\xbf\xef\xbb\xbf[1]"]), float("inf"), lambda: 0.0)
    assert body.first_byte() == b"\xef"


# Partner text in messages -----------------------------------------------------------------------


def test_text_up_to_the_limit_is_shown_whole_and_escaped():
    assert shown("a" * MAX_SHOWN_CHARS) == '"' + "a" * MAX_SHOWN_CHARS + '"'
    assert shown('say "hi"\n\x1b[31m é') == '"say \\"hi\\"\\n\\u001b[31m \\u00e9"'


def test_longer_text_is_cut_and_says_how_much_more_there_was():
    assert shown("b" * (MAX_SHOWN_CHARS + 1234)) == '"' + "b" * MAX_SHOWN_CHARS + '"… (1,234 more characters)'
    assert shown("abcdef", limit=3) == '"abc"… (3 more characters)'


def test_escaping_comes_after_the_cut():
    assert shown("\n" * 1000, limit=2) == '"\\n\\n"… (998 more characters)'


def test_cut_keeps_short_text_and_marks_a_cut():
    assert cut_text("k" * MAX_SHOWN_CHARS) == "k" * MAX_SHOWN_CHARS
    assert cut_text("k" * (MAX_SHOWN_CHARS + 1)) == "k" * MAX_SHOWN_CHARS + "…"
    assert cut_text("abcd", limit=2) == "ab…"


# The value limit at its exact boundaries (each kills a mutant that miscounts by one) -------------


def test_the_bytes_before_the_first_quote_count_from_the_first_byte():
    checked(*split(b" " * FIELD), b'"x"')
    with pytest.raises(RefusedBytes):
        checked(*split(b" " * (FIELD + 1)), b'"x"')


def test_a_quote_that_opens_the_body_is_not_taken_as_escaped():
    checked(b'"' + b"a" * (READ_CHUNK_BYTES - 1), *split(b"a" * (FIELD - READ_CHUNK_BYTES + 1)), b'"')


def test_a_read_that_opens_with_a_closing_quote_measures_what_follows_it_exactly():
    after = READ_CHUNK_BYTES - 1
    checked(b'["a', b'"' + b" " * after, *split(b" " * (FIELD - after)), b'"x"]')
    with pytest.raises(RefusedBytes):
        checked(b'["a', b'"' + b" " * after, *split(b" " * (FIELD - after + 1)), b'"x"]')


def test_the_body_limit_counts_every_read_so_far():
    # 65,536 + 65,536 = 131,072 > 100,000, though 65,536 | 65,536 and 65,536 ^ 65,536 are not.
    with pytest.raises(RefusedBytes, match="longer than 100,000 bytes"):
        checked(b"[" + b" " * (READ_CHUNK_BYTES - 1), b" " * READ_CHUNK_BYTES, max_body_bytes=100_000)


@pytest.mark.parametrize(
    ("chunk", "backslash_before", "forward", "found"),
    [
        (b'ab\\"cd"ef', False, True, 6),
        (b'a\\""b', False, True, 3),
        (b'"x"', True, True, 2),
        (b'"x"', False, True, 0),
        (b'ab"cd\\"ef', False, False, 2),
        (b'"ab', True, False, -1),
        (b'"ab', False, False, 0),
        (b"no quote", False, True, -1),
        (b'\\"\\"', False, True, -1),
    ],
)
def test_the_first_or_last_unescaped_quote(chunk, backslash_before, forward, found):
    assert _unescaped_quote(chunk, backslash_before, forward=forward) == found


# Partner text: the documented length, and text shorter than the limit ---------------------------


def test_partner_text_is_shown_up_to_64_characters():
    assert MAX_SHOWN_CHARS == 64  # docs/data-contract.md: "cut to 64 characters"
    assert shown("x" * 100) == '"' + "x" * 64 + '"… (36 more characters)'


def test_text_shorter_than_the_limit_is_left_whole():
    assert cut_text("ab", limit=5) == "ab"
    assert shown("ab", limit=5) == '"ab"'
