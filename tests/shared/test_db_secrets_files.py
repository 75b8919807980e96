"""Secrets are encrypted at rest and write-only; files are metadata scoped to their owner."""

from __future__ import annotations

from pathlib import Path
from uuid import UUID

import pytest
from cryptography.fernet import Fernet
from tortoise import Tortoise

from shared.config import Settings
from shared.database.entities import SecretInfo
from shared.database.errors import InvalidArgumentError, NotFoundError
from shared.database.models import Secret
from shared.database.repositories import FilesRepository, SecretsRepository
from shared.security.encryption import SecretCipher, SecretsKeyError
from workflow_compiler.services import SecretsProvider

KEY = Fernet.generate_key().decode()
PLAINTEXT = "sk-live-VERY-SECRET-0123456789"


@pytest.fixture
def secrets() -> SecretsRepository:
    return SecretsRepository(SecretCipher(KEY))


async def test_secrets_are_encrypted_at_rest(db: str, backend: str, alice: UUID,
                                             secrets: SecretsRepository) -> None:
    await secrets.put(alice, "api_key", PLAINTEXT)
    _, rows = await Tortoise.get_connection(backend).execute_query(
        "SELECT * FROM secrets WHERE name = 'api_key'")
    raw = " ".join(str(v) for row in rows for v in dict(row).values())
    assert PLAINTEXT not in raw
    assert "VERY-SECRET" not in raw
    stored = await Secret.get(owner_id=alice, name="api_key")
    assert Fernet(KEY.encode()).decrypt(stored.ciphertext.encode()).decode().endswith(PLAINTEXT)


async def test_secrets_are_write_only(db: str, alice: UUID, secrets: SecretsRepository) -> None:
    info = await secrets.put(alice, "api_key", PLAINTEXT)
    assert isinstance(info, SecretInfo)
    assert set(info.model_dump()) == {"name", "created_at", "updated_at"}
    await secrets.put(alice, "other", "x")
    listed = await secrets.list(alice)
    assert [s.name for s in listed] == ["api_key", "other"]
    assert PLAINTEXT not in repr(listed) + repr(info)
    # the runtime's way back to the value
    assert await secrets.reveal_for_run(alice, "api_key") == PLAINTEXT
    assert await secrets.reveal_for_run(alice, "missing") is None
    provider: SecretsProvider = secrets.provider(alice)
    assert await provider.get("api_key") == PLAINTEXT


async def test_put_replaces_and_delete_removes(db: str, alice: UUID,
                                               secrets: SecretsRepository) -> None:
    first = await secrets.put(alice, "token", "one")
    second = await secrets.put(alice, "token", "two")
    assert second.created_at == first.created_at
    assert second.updated_at >= first.updated_at
    assert await secrets.reveal_for_run(alice, "token") == "two"
    await secrets.delete(alice, "token")
    assert await secrets.reveal_for_run(alice, "token") is None
    with pytest.raises(NotFoundError):
        await secrets.delete(alice, "token")


async def test_secrets_are_scoped_and_bound_to_their_owner(
    db: str, alice: UUID, bob: UUID, secrets: SecretsRepository,
) -> None:
    await secrets.put(alice, "api_key", PLAINTEXT)
    assert await secrets.reveal_for_run(bob, "api_key") is None
    assert await secrets.list(bob) == []
    with pytest.raises(NotFoundError):
        await secrets.delete(bob, "api_key")
    await secrets.put(bob, "api_key", "bobs")
    assert await secrets.reveal_for_run(alice, "api_key") == PLAINTEXT
    # a ciphertext copied onto another owner's row does not decrypt there
    stolen = (await Secret.get(owner_id=alice, name="api_key")).ciphertext
    await Secret.filter(owner_id=bob, name="api_key").update(ciphertext=stolen)
    with pytest.raises(SecretsKeyError):
        await secrets.reveal_for_run(bob, "api_key")


async def test_names_and_values_are_checked(db: str, alice: UUID,
                                            secrets: SecretsRepository) -> None:
    for bad in ("", "has-dash", "1st", "a b"):
        with pytest.raises(InvalidArgumentError):
            await secrets.put(alice, bad, "x")
    with pytest.raises(InvalidArgumentError):
        await secrets.put(alice, "big", "x" * (64 * 1024 + 1))


async def test_keys_rotate_and_a_wrong_key_fails_clearly(db: str, alice: UUID,
                                                          secrets: SecretsRepository) -> None:
    await secrets.put(alice, "api_key", PLAINTEXT)
    new_key = Fernet.generate_key().decode()
    rotating = SecretsRepository(SecretCipher(f"{new_key},{KEY}"))
    assert await rotating.reveal_for_run(alice, "api_key") == PLAINTEXT  # old key decrypts
    assert await rotating.rotate(alice) == 1
    only_new = SecretsRepository(SecretCipher(new_key))
    assert await only_new.reveal_for_run(alice, "api_key") == PLAINTEXT
    with pytest.raises(SecretsKeyError, match="rotating"):
        await secrets.reveal_for_run(alice, "api_key")  # the old key alone no longer works


def test_a_missing_or_bad_key_says_how_to_make_one() -> None:
    with pytest.raises(SecretsKeyError, match=r"Fernet\.generate_key"):
        SecretsRepository.from_settings(Settings(secrets_key=None))
    with pytest.raises(SecretsKeyError, match="not a valid Fernet key"):
        SecretCipher("too-short")
    configured = SecretsRepository.from_settings(Settings(secrets_key=KEY))
    assert isinstance(configured, SecretsRepository)


# -- files ------------------------------------------------------------------------------------

async def test_files_metadata_is_scoped(db: str, alice: UUID, bob: UUID) -> None:
    files = FilesRepository()
    made = [await files.create(alice, name=f"f{i}.csv", size=10 + i, sha256="a" * 64,
                               storage_path=f"/data/files/{i}", content_type="text/csv")
            for i in range(3)]
    assert await files.get(alice, made[0].id) == made[0]
    first = await files.list(alice, limit=2)
    assert [f.name for f in first.items] == ["f2.csv", "f1.csv"]
    assert first.next_cursor is not None
    rest = await files.list(alice, limit=2, cursor=first.next_cursor)
    assert [f.name for f in rest.items] == ["f0.csv"]
    assert rest.next_cursor is None
    for attempt in (files.get(bob, made[0].id), files.delete(bob, made[0].id),
                    files.get(alice, "not-an-id")):
        with pytest.raises(NotFoundError):
            await attempt
    assert (await files.list(bob)).items == []
    deleted = await files.delete(alice, made[0].id)
    assert deleted.storage_path == "/data/files/0"
    with pytest.raises(NotFoundError):
        await files.get(alice, made[0].id)
    with pytest.raises(InvalidArgumentError):
        await files.create(alice, name="", size=1, sha256="a" * 64, storage_path="/x")
    with pytest.raises(InvalidArgumentError):
        await files.create(alice, name="x", size=1, sha256="short", storage_path="/x")


def test_settings_defaults_and_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                                           ) -> None:
    monkeypatch.delenv("GRAPHWRIGHT_DATABASE_URL", raising=False)
    monkeypatch.setenv("GRAPHWRIGHT_DATA_DIR", str(tmp_path))
    settings = Settings()
    assert settings.database_url == f"sqlite://{tmp_path}/graphwright.db"
    assert settings.is_sqlite
    assert settings.checkpointer_url == str(tmp_path / "checkpoints.sqlite")
    assert settings.files_dir == tmp_path / "files"
    assert settings.secrets_key is None
    monkeypatch.setenv("GRAPHWRIGHT_DATABASE_URL", "postgres://u:p@db:5432/gw")
    monkeypatch.setenv("GRAPHWRIGHT_SECRETS_KEY", KEY)
    monkeypatch.setenv("GRAPHWRIGHT_JWT_ALGORITHMS", '["HS256", "RS256"]')
    settings = Settings()
    assert settings.checkpointer_url == "postgresql://u:p@db:5432/gw"
    assert not settings.is_sqlite
    assert settings.secrets_key is not None
    assert settings.secrets_key.get_secret_value() == KEY
    assert KEY not in repr(settings)
    assert settings.jwt_algorithms == ("HS256", "RS256")
    default_home = Settings(data_dir=Path("~/gw-test-home"))
    assert "~" not in str(default_home.data_dir)
