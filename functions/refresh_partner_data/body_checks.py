"""Checks on the partner's bytes, read by read, before ijson's C backend parses them.

They refuse what would take the process down or be changed without a word:

* a run of more than ``MAX_NUMBER_CHARS`` digits: ijson's ``items()`` crashes the process on an
  integer past Python's digit limit, and converting a huge one takes unbounded time (the limit is
  lifted in csv_spool, and length bounded here);
* a lone UTF-16 surrogate escape (``"\\ud800"``), which the C backend turns into ``?`` (UTF-8
  cannot carry it). A valid pair (``"\\ud83d\\ude00"``, an emoji) passes, even split between reads.

* a string (or any text between two quotes: a list of numbers, whitespace) longer than
  ``max_field_bytes``: ijson builds each string whole, and the process peaks at about 7 times its size
  (a 50 MB string took 375 MB; 100 KB of gzip inflating to a 100 MB string took 725 MB);
* a body longer than ``max_body_bytes`` once decompressed.

A quote preceded by a backslash is taken as escaped (an escaped backslash before a closing quote
makes the run look longer, never shorter). Runs are only measured across reads: one read (64 KiB)
is far below the field limit, so no run inside one can pass it.

All are found with C-speed byte operations; a body that holds no surrogate escape at all (most
days) is never searched with a regular expression.
"""

from __future__ import annotations

import re

from refresh_partner_data.csv_spool import MAX_NUMBER_CHARS

_DIGITS = b"0123456789"
_BACKSLASH = ord("\\")
# A regex for the run costs a second per 36 MB (it retries at every digit); mapping every digit to
# one and finding the run with bytes.find costs 0.1 s.
_DIGITS_AS_ZEROS = bytes.maketrans(_DIGITS, b"0" * len(_DIGITS))
_TOO_MANY_DIGITS = b"0" * (MAX_NUMBER_CHARS + 1)

#: Every surrogate escape starts with one of these.
_SURROGATE_STARTS = (b"\\ud", b"\\uD")
_HIGH = rb"\\u[dD][89abAB][0-9a-fA-F]{2}"
_LOW = rb"\\u[dD][c-fC-F][0-9a-fA-F]{2}"
_LONE_SURROGATE = re.compile(rb"(?P<high>" + _HIGH + rb")(?!" + _LOW + rb")|(?<!" + _HIGH + rb")" + _LOW)
#: A high escape is lone only if the next 6 bytes are not its pair.
_ESCAPE_BYTES = 6
#: Bytes kept from one read for the next: a high escape that waits for them, and what it needs.
_TAIL_BYTES = 2 * _ESCAPE_BYTES


class RefusedBytes(Exception):
    """The body holds something the parser must not see; the message says what, and where."""


#: The smallest field limit allowed: well above one read, so that only runs across reads count.
MIN_FIELD_BYTES = 1024 * 1024


class BodyChecks:
    """One response's checks: ``check`` each read's bytes in order, then ``b""`` at the end."""

    def __init__(self, max_field_bytes: int = 2**62, max_body_bytes: int = 2**62) -> None:
        if max_field_bytes < MIN_FIELD_BYTES:
            raise ValueError(f"max_field_bytes must be at least {MIN_FIELD_BYTES:,}")
        self._max_field = max_field_bytes
        self._max_body = max_body_bytes
        self._digit_run = 0
        self._string_run = 0
        self._backslash_before = False
        self._tail = b""

    def check(self, chunk: bytes, position: int) -> None:
        """Raises RefusedBytes if ``chunk``, read at byte ``position`` of the body, completes
        something refused."""
        if position + len(chunk) > self._max_body:
            raise RefusedBytes(f"the response is longer than {self._max_body:,} bytes (MAX_BODY_BYTES)")
        self._check_digits(chunk, position)
        self._check_field(chunk, position)
        self._check_surrogates(chunk, position)

    def _check_digits(self, chunk: bytes, position: int) -> None:
        leading = len(chunk) - len(chunk.lstrip(_DIGITS))
        if self._digit_run + leading > MAX_NUMBER_CHARS or _TOO_MANY_DIGITS in chunk.translate(
            _DIGITS_AS_ZEROS
        ):
            raise RefusedBytes(
                f"the response holds a number of more than {MAX_NUMBER_CHARS:,} digits"
                f" (near byte {position:,})"
            )
        before_trailing = chunk.rstrip(_DIGITS)
        trailing = len(chunk) - len(before_trailing)
        self._digit_run = trailing if before_trailing else self._digit_run + trailing

    def _check_field(self, chunk: bytes, position: int) -> None:
        first = _unescaped_quote(chunk, self._backslash_before, forward=True)
        if first < 0:
            self._string_run += len(chunk)
        else:
            self._string_run += first
        if self._string_run > self._max_field:
            raise RefusedBytes(
                f"the response holds a value of more than {self._max_field:,} bytes"
                f" (MAX_FIELD_BYTES; near byte {position:,})"
            )
        if first >= 0:
            self._string_run = len(chunk) - _unescaped_quote(chunk, False, forward=False) - 1
        if chunk:
            self._backslash_before = chunk.endswith(b"\\")

    def _check_surrogates(self, chunk: bytes, position: int) -> None:
        tail = self._tail
        window = tail + chunk
        self._tail = window[-_TAIL_BYTES:]
        if not any(start in window for start in _SURROGATE_STARTS):
            return
        for match in _LONE_SURROGATE.finditer(window):
            if match.group("high"):
                if chunk and match.end() + _ESCAPE_BYTES > len(window):
                    continue  # Its pair may begin the next read.
            elif match.end() <= len(tail):
                continue  # Judged with the read before, whose bytes before it the tail may have cut.
            raise RefusedBytes(
                "the response holds a lone UTF-16 surrogate escape, which UTF-8 cannot carry"
                f" (near byte {position - len(tail) + match.start():,})"
            )


def _unescaped_quote(chunk: bytes, backslash_before: bool, *, forward: bool) -> int:
    """The first (``forward``) or last quote in ``chunk`` not preceded by a backslash, or -1."""
    find = chunk.find if forward else chunk.rfind
    start, end = 0, len(chunk)
    while (index := find(b'"', start, end)) >= 0:
        if not (chunk[index - 1] == _BACKSLASH if index else backslash_before):
            return index
        if forward:
            start = index + 1
        else:
            end = index
    return -1
