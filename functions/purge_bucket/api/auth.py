"""The password check: the same time whatever the guess, and nothing learnt from a wrong one."""

from __future__ import annotations

import hashlib
import hmac


def _digest(text: str) -> bytes:
    # surrogatepass: a lone surrogate (JSON "\ud800") is compared like any other character.
    return hashlib.sha256(text.encode("utf-8", errors="surrogatepass")).digest()


def passwords_match(given: str, stored: str) -> bool:
    """Constant-time comparison. An empty stored password matches nothing (fail closed)."""
    if not stored:
        return False
    # Comparing fixed-length digests hides the stored password's length as well as its content.
    return hmac.compare_digest(_digest(given), _digest(stored))
