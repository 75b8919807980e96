"""API keys: ``gw_<prefix>_<secret>``, shown once, stored as a prefix and a sha256 hash.

Why sha256 and not a slow password hash (argon2, bcrypt): a key carries 256 random bits,
so guessing it from its hash is infeasible however fast the hash is, while a slow hash
would cost tens of milliseconds of CPU on every authenticated request. (Slow hashes exist
for low-entropy human passwords.) The 12-hex-digit prefix is unique and indexed, so a
request costs one indexed lookup and one constant-time comparison; the prefix is also
what a UI shows to tell keys apart.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

KEY_SCHEME = "gw"
PREFIX_HEX_DIGITS = 12


@dataclass(frozen=True, slots=True)
class IssuedKey:
    plaintext: str  # returned to the user once, never stored
    prefix: str
    key_hash: str


def issue_key() -> IssuedKey:
    prefix = secrets.token_hex(PREFIX_HEX_DIGITS // 2)
    plaintext = f"{KEY_SCHEME}_{prefix}_{secrets.token_urlsafe(32)}"
    return IssuedKey(plaintext=plaintext, prefix=prefix, key_hash=hash_key(plaintext))


def hash_key(plaintext: str) -> str:
    return hashlib.sha256(plaintext.encode("utf-8")).hexdigest()


def prefix_of(plaintext: str) -> str | None:
    """The lookup prefix of a well-formed key, else None (no database query needed)."""
    scheme, _, rest = plaintext.partition("_")
    prefix, _, secret = rest.partition("_")
    if scheme != KEY_SCHEME or len(prefix) != PREFIX_HEX_DIGITS or not secret:
        return None
    if any(c not in "0123456789abcdef" for c in prefix):
        return None
    return prefix


def matches(plaintext: str, key_hash: str) -> bool:
    return hmac.compare_digest(hash_key(plaintext), key_hash)
