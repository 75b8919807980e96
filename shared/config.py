"""Service settings, read from ``GRAPHWRIGHT_*`` environment variables.

Everything has an embedded default so ``graphwright serve`` works from a fresh clone: a
SQLite file under ``data_dir`` (``~/.graphwright``) and no keys. Production sets at least::

    GRAPHWRIGHT_DATABASE_URL=postgres://user:password@db:5432/graphwright
    GRAPHWRIGHT_SECRETS_KEY=<Fernet key>

A Fernet key is 32 random bytes, url-safe base64 encoded. Generate one with::

    python -c "from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())"

``secrets_key`` may hold several keys separated by commas to rotate keys: the first one
encrypts, every one of them decrypts (``cryptography.fernet.MultiFernet``).

Embedded defaults need no key: when ``secrets_key`` is unset and the database is SQLite,
the service (``create_app()`` without explicit settings, hence ``graphwright serve``) uses
``<data_dir>/secrets.key``, generating it (mode 0600) on first start
(``shared.security.key_file``; a worker process must do the same to read secrets). On
Postgres nothing is generated, because several API and worker machines must share one
key: there, without ``GRAPHWRIGHT_SECRETS_KEY``, storing or reading secrets fails with a
message saying how to set one, and everything else works.

``/metrics`` answers without credentials unless ``GRAPHWRIGHT_METRICS_TOKEN`` is set (the
default bind address is 127.0.0.1, where that is harmless); set the token, or
``GRAPHWRIGHT_METRICS_ENABLED=false``, before exposing the service on a network.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

ENV_PREFIX = "GRAPHWRIGHT_"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="ignore", frozen=True)

    data_dir: Path = Field(
        default=Path("~/.graphwright"),
        description="where embedded state lives (SQLite database, checkpoints, files)",
    )
    database_url: str = Field(
        default="",
        description="Tortoise URL of the service database: sqlite:///abs/path.db or "
        "postgres://user:pass@host:5432/db (postgresql:// is accepted). "
        "Default: sqlite://<data_dir>/graphwright.db",
    )
    database_pool_max: int = Field(default=20, ge=1, le=1000,
                                   description="Postgres connection pool size")
    checkpointer_url: str = Field(
        default="",
        description="LangGraph checkpointer: 'memory', a SQLite path or a postgresql:// URL. "
        "Default: the database itself on Postgres, else <data_dir>/checkpoints.sqlite",
    )
    checkpointer_pool_max: int = Field(
        default=8, ge=1, le=1000,
        description="Postgres checkpointer: connections (and checkpoint writes in flight) "
        "per process")
    checkpoint_durability: Literal["sync", "async", "exit"] = Field(
        default="async",
        description="when runs write checkpoints: 'async' (after every step: fork from any "
        "step) or 'exit' (when a run pauses or ends: about twice the sync-run throughput "
        "on Postgres; forks start from pauses and ends)",
    )
    checkpoint_retention: Literal["all", "latest", "none"] = Field(
        default="all",
        description="what a finished run keeps of its checkpoints: 'all', 'latest' (the "
        "last one), or 'none' for completed and cancelled runs (failed and paused runs "
        "keep theirs). With durability 'exit', 'none' keeps a run that completes in one "
        "drive off the checkpointer entirely: the fastest sync runs",
    )
    files_dir: Path | None = Field(default=None,
                                   description="uploaded files; default <data_dir>/files")
    secrets_key: SecretStr | None = Field(
        default=None,
        description="Fernet key(s) encrypting secrets at rest, comma-separated for rotation",
    )

    # Auth (used by the API). API keys need no settings; JWTs are optional.
    jwt_algorithms: tuple[Literal["HS256", "RS256"], ...] = Field(
        default=("HS256",), description='accepted JWT algorithms, as JSON: ["HS256", "RS256"]')
    jwt_secret: SecretStr | None = Field(default=None, description="HS256 shared secret")
    jwt_public_key: str | None = Field(default=None, description="RS256 PEM public key")
    jwt_issuer: str | None = None
    jwt_audience: str | None = None
    jwt_user_claim: str = Field(default="sub", description="claim naming the graphwright user")

    # Request bodies
    max_request_bytes: int = Field(
        default=4 * 1024 * 1024, ge=1,
        description="largest request body the API reads (bytes; 413 past it); file "
        "uploads have max_upload_bytes instead")
    max_upload_bytes: int = Field(default=50 * 1024 * 1024, ge=1,
                                  description="largest file POST /v1/files accepts (bytes)")

    # Metrics
    metrics_enabled: bool = Field(default=True, description="serve /metrics")
    metrics_token: SecretStr | None = Field(
        default=None, description="when set, /metrics requires 'Authorization: Bearer <token>'")

    # Serving
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    log_level: Literal["debug", "info", "warning", "error"] = "info"

    @model_validator(mode="after")
    def _derive_defaults(self) -> Settings:
        data_dir = self.data_dir.expanduser()
        object.__setattr__(self, "data_dir", data_dir)
        if not self.database_url:
            object.__setattr__(self, "database_url", f"sqlite://{data_dir / 'graphwright.db'}")
        if not self.checkpointer_url:
            url = self.database_url
            derived = (_as_libpq_url(url) if url.startswith(("postgres://", "postgresql://"))
                       else str(data_dir / "checkpoints.sqlite"))
            object.__setattr__(self, "checkpointer_url", derived)
        if self.files_dir is None:
            object.__setattr__(self, "files_dir", data_dir / "files")
        return self

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite://")


def _as_libpq_url(url: str) -> str:
    """psycopg (the LangGraph checkpointer) wants postgresql://; Tortoise takes both."""
    return "postgresql://" + url.split("://", 1)[1]


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process's settings, read once from the environment. Free of side effects
    (modules read it at import time); a serving process adds the embedded secrets key with
    ``shared.security.key_file.with_embedded_secrets_key``."""
    return Settings()
