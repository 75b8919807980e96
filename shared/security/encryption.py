"""Secrets at rest: Fernet (AES-128-CBC + HMAC-SHA256) with keys from the settings.

Each ciphertext is bound to its owner and name: the encrypted text starts with
``<owner>/<name>\\n``, checked on decryption, so a ciphertext copied onto another row (by
someone with write access to the database but not the key) does not decrypt there.
"""

from __future__ import annotations

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from workflow_compiler.errors import GraphwrightError

GENERATE_HINT = (
    "set GRAPHWRIGHT_SECRETS_KEY to a Fernet key, generated with: "
    "python -c \"from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())\""
)


class SecretsKeyError(GraphwrightError):
    """No usable encryption key is configured, or a stored secret does not decrypt."""

    code = "secrets_key_error"


class SecretCipher:
    def __init__(self, keys: str | None) -> None:
        """``keys``: one Fernet key, or several separated by commas (the first encrypts)."""
        parts = [k.strip() for k in (keys or "").split(",") if k.strip()]
        if not parts:
            raise SecretsKeyError(f"secrets need an encryption key: {GENERATE_HINT}")
        try:
            self._fernet = MultiFernet([Fernet(k.encode("ascii")) for k in parts])
        except (ValueError, UnicodeEncodeError):
            raise SecretsKeyError(
                f"GRAPHWRIGHT_SECRETS_KEY is not a valid Fernet key (32 url-safe base64-encoded "
                f"bytes); {GENERATE_HINT}"
            ) from None

    def encrypt(self, context: str, value: str) -> str:
        return self._fernet.encrypt(f"{context}\n{value}".encode()).decode("ascii")

    def decrypt(self, context: str, token: str) -> str:
        try:
            text = self._fernet.decrypt(token.encode("ascii")).decode("utf-8")
        except InvalidToken:
            raise SecretsKeyError(
                "a stored secret does not decrypt with the configured key(s); when rotating, "
                "keep the old key after the new one in GRAPHWRIGHT_SECRETS_KEY"
            ) from None
        bound, _, value = text.partition("\n")
        if bound != context:
            raise SecretsKeyError("a stored secret belongs to another owner or name")
        return value

    def rotate(self, token: str) -> str:
        """Re-encrypt with the first key (after adding a new key in front)."""
        return self._fernet.rotate(token.encode("ascii")).decode("ascii")
