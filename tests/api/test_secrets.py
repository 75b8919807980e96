"""Secrets over the API (write-only, encrypted at rest, per owner) and the embedded
secrets key that lets ``graphwright serve`` store them without configuration."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from helpers.api_apps import AppFactory
from helpers.api_client import Caller, assert_problem, new_caller

from api.app import create_app
from shared.config import Settings, get_settings
from shared.database.models import Secret
from shared.database.repositories import SecretsRepository
from shared.security.key_file import (
    KEY_FILE_NAME,
    load_or_create_key,
    with_embedded_secrets_key,
)

VALUE = "sk-live-0123456789abcdef"


async def test_secrets_are_write_only(alice: Caller, bob: Caller, settings: Settings) -> None:
    made = await alice.client.put("/v1/secrets/OPENAI_KEY", json={"value": VALUE})
    assert made.status_code == 200, made.text
    assert set(made.json()) == {"name", "created_at", "updated_at"}
    assert VALUE not in made.text
    replaced = await alice.client.put("/v1/secrets/OPENAI_KEY", json={"value": VALUE + "2"})
    assert replaced.json()["created_at"] == made.json()["created_at"]
    await alice.client.put("/v1/secrets/another", json={"value": "x"})

    listed = await alice.client.get("/v1/secrets")
    assert [s["name"] for s in listed.json()["items"]] == ["OPENAI_KEY", "another"]
    assert VALUE not in listed.text
    assert (await bob.client.get("/v1/secrets")).json() == {"items": []}

    # encrypted at rest; the owner's runs (and only they) read the value
    row = await Secret.get(owner_id=alice.user.id, name="OPENAI_KEY")
    assert VALUE not in row.ciphertext
    repository = SecretsRepository.from_settings(settings)
    assert await repository.reveal_for_run(alice.user.id, "OPENAI_KEY") == VALUE + "2"
    assert await repository.reveal_for_run(bob.user.id, "OPENAI_KEY") is None

    assert_problem(await bob.client.delete("/v1/secrets/OPENAI_KEY"), 404, "not_found")
    assert (await alice.client.delete("/v1/secrets/OPENAI_KEY")).status_code == 204
    assert_problem(await alice.client.delete("/v1/secrets/OPENAI_KEY"), 404)
    assert [s["name"] for s in (await alice.client.get("/v1/secrets")).json()["items"]] == \
        ["another"]


async def test_bad_secret_names_and_values(alice: Caller) -> None:
    assert_problem(await alice.client.put("/v1/secrets/bad-name", json={"value": "x"}), 422,
                   "invalid_argument")
    assert_problem(await alice.client.put("/v1/secrets/ok", json={"value": 1}), 422)
    assert_problem(await alice.client.put("/v1/secrets/ok", json={"value": "a\u0000"}), 422)
    assert_problem(await alice.client.put("/v1/secrets/ok", json={}), 422)
    assert_problem(await alice.client.delete("/v1/secrets/bad-name"), 404)


async def test_without_a_key_secrets_answer_503_and_the_rest_works(app_with: AppFactory
                                                                   ) -> None:
    async with app_with(secrets_key=None) as app:
        async for caller in new_caller(app, "keyless"):
            problem = assert_problem(
                await caller.client.put("/v1/secrets/x", json={"value": "v"}), 503,
                "secrets_key_error")
            assert "GRAPHWRIGHT_SECRETS_KEY" in problem["detail"]
            assert_problem(await caller.client.get("/v1/secrets"), 503)
            assert (await caller.client.get("/v1/workflows")).status_code == 200


def test_the_embedded_key_is_generated_once_with_mode_0600(tmp_path: Path) -> None:
    path = tmp_path / "data" / KEY_FILE_NAME
    key = load_or_create_key(path)
    Fernet(key.encode())  # a valid key
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert load_or_create_key(path) == key  # read back, never regenerated


def test_embedded_settings_get_the_key_file_but_postgres_and_explicit_keys_do_not(
        tmp_path: Path) -> None:
    embedded = with_embedded_secrets_key(Settings(data_dir=tmp_path, secrets_key=None))
    assert embedded.secrets_key is not None
    assert embedded.secrets_key.get_secret_value() == \
        (tmp_path / KEY_FILE_NAME).read_text().strip()
    again = with_embedded_secrets_key(Settings(data_dir=tmp_path, secrets_key=None))
    assert again.secrets_key == embedded.secrets_key

    other = tmp_path / "pg"
    postgres = with_embedded_secrets_key(Settings(
        data_dir=other, database_url="postgres://u@127.0.0.1:5432/x", secrets_key=None))
    assert postgres.secrets_key is None and not (other / KEY_FILE_NAME).exists()
    explicit = Fernet.generate_key().decode()
    given = with_embedded_secrets_key(Settings(data_dir=other, secrets_key=explicit))
    assert given.secrets_key is not None and given.secrets_key.get_secret_value() == explicit
    assert not (other / KEY_FILE_NAME).exists()


async def test_the_app_from_the_environment_uses_the_embedded_key(
        database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """What ``graphwright serve`` does on embedded defaults: no key configured, yet
    secrets work, with a key file generated in the data directory on first start."""
    if not database_url.startswith("sqlite"):
        pytest.skip("the key file is generated on SQLite only (see shared.security.key_file)")
    monkeypatch.setenv("GRAPHWRIGHT_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("GRAPHWRIGHT_DATABASE_URL", database_url)
    monkeypatch.setenv("GRAPHWRIGHT_CHECKPOINTER_URL", "memory")
    monkeypatch.delenv("GRAPHWRIGHT_SECRETS_KEY", raising=False)
    get_settings.cache_clear()
    try:
        assert get_settings().secrets_key is None  # reading settings writes nothing
        assert not (tmp_path / KEY_FILE_NAME).exists()
        app = create_app()
        async with app.router.lifespan_context(app):
            async for caller in new_caller(app, "embedded"):
                made = await caller.client.put("/v1/secrets/TOKEN", json={"value": "v"})
                assert made.status_code == 200, made.text
        assert stat.S_IMODE(os.stat(tmp_path / KEY_FILE_NAME).st_mode) == 0o600
    finally:
        get_settings.cache_clear()
