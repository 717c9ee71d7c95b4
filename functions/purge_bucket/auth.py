"""Password checks that take the same time whatever the guess, and signatures derived from it."""

from __future__ import annotations

import hashlib
import hmac


def _digest(text: str) -> bytes:
    return hashlib.sha256(text.encode("utf-8", errors="surrogatepass")).digest()


def passwords_match(given: str, stored: str) -> bool:
    """Constant-time comparison. An empty stored password matches nothing (fail closed)."""
    if not stored:
        return False
    # Comparing fixed-length digests hides the stored password's length as well as its content.
    return hmac.compare_digest(_digest(given), _digest(stored))


def sign(message: bytes, stored_password: str) -> str:
    """HMAC-SHA256 of ``message`` keyed by the stored password, hex encoded."""
    return hmac.new(_key(stored_password), message, hashlib.sha256).hexdigest()


def signature_matches(message: bytes, signature: str, stored_password: str) -> bool:
    if not stored_password:
        return False
    return hmac.compare_digest(sign(message, stored_password), signature)


def _key(stored_password: str) -> bytes:
    # A separate key derivation, so a signature never doubles as a password digest.
    return hmac.new(b"purge-continuation-v1", _digest(stored_password), hashlib.sha256).digest()
