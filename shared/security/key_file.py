"""The embedded secrets key: ``<data_dir>/secrets.key``, generated on first use.

Why: ``graphwright serve`` from a fresh clone must be able to store secrets without the
user first learning about Fernet keys, yet the key must survive restarts (else every
stored secret becomes unreadable) and must not be readable by other local users. So the
first process that needs it writes a new key with ``O_CREAT | O_EXCL`` and mode 0600 (two
processes starting together cannot write two different keys: the loser reads the winner's
file), and later processes read it. ``create_app()`` without explicit settings (as
``graphwright serve`` builds it) applies ``with_embedded_secrets_key``; ``get_settings``
does not, since modules read settings at import time and importing must not write files.

Only for SQLite (the embedded, one-machine setup). On Postgres several API and worker
machines share the database and must share one key, which a file generated on one of
them cannot provide: there ``GRAPHWRIGHT_SECRETS_KEY`` is required for secrets.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from cryptography.fernet import Fernet
from pydantic import SecretStr

from shared.config import Settings
from shared.security.encryption import SecretsKeyError

KEY_FILE_NAME = "secrets.key"
KEY_FILE_MODE = 0o600
#: how long a reader waits for a concurrently created file to receive its key
_WRITE_WAIT_SECONDS = 2.0


def key_file_path(settings: Settings) -> Path:
    return settings.data_dir / KEY_FILE_NAME


def load_or_create_key(path: Path) -> str:
    """The Fernet key stored at ``path``, creating the file (mode 0600) when missing."""
    path.parent.mkdir(parents=True, exist_ok=True)
    key = Fernet.generate_key()
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, KEY_FILE_MODE)
    except FileExistsError:
        return _read_key(path)
    try:
        os.write(fd, key + b"\n")
        os.fsync(fd)
    finally:
        os.close(fd)
    return key.decode("ascii")


def _read_key(path: Path) -> str:
    deadline = time.monotonic() + _WRITE_WAIT_SECONDS
    while True:
        text = path.read_text(encoding="ascii").strip()
        if text or time.monotonic() > deadline:
            break
        time.sleep(0.01)  # created by a concurrent process that has not written it yet
    if not text:
        raise SecretsKeyError(f"the secrets key file {path} is empty: delete it to generate "
                              "a new key (secrets stored with the lost key cannot be read)")
    return text


def with_embedded_secrets_key(settings: Settings) -> Settings:
    """``settings`` with ``secrets_key`` read (or generated) from the data directory when
    it is unset and the database is SQLite; otherwise ``settings`` unchanged."""
    if settings.secrets_key is not None or not settings.is_sqlite:
        return settings
    key = load_or_create_key(key_file_path(settings))
    return settings.model_copy(update={"secrets_key": SecretStr(key)})
