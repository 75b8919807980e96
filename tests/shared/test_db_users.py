"""Users and API keys: the key is shown once and stored only as prefix + hash."""

from __future__ import annotations

from datetime import timedelta
from uuid import UUID, uuid4

import pytest
from helpers.db_objects import unique
from tortoise import Tortoise

from shared.database.errors import InvalidArgumentError, NameTakenError, NotFoundError
from shared.database.models import ApiKey
from shared.database.repositories import UsersRepository
from shared.database.repositories._common import utcnow
from shared.security.api_keys import hash_key

users = UsersRepository()


async def test_create_user_returns_a_working_key_once(db: str) -> None:
    user, key = await users.create_user(unique("ada"), display_name="Ada", email="a@x.io")
    assert key.startswith("gw_")
    assert (await users.authenticate(key)) == user
    assert await users.get(user.id) == user
    assert await users.get_by_name(user.name) == user
    assert await users.get_by_name(unique("nobody")) is None
    keys = await users.list_api_keys(user.id)
    assert len(keys) == 1
    assert key.startswith(f"gw_{keys[0].prefix}_")
    assert "key_hash" not in keys[0].model_dump()


async def test_the_plaintext_key_is_not_stored(db: str, backend: str) -> None:
    _, key = await users.create_user(unique("ada"))
    conn = Tortoise.get_connection(backend)
    _, rows = await conn.execute_query("SELECT * FROM api_keys")
    stored = " ".join(str(v) for row in rows for v in dict(row).values())
    assert key not in stored
    secret_part = key.split("_", 2)[2]
    assert secret_part not in stored
    assert hash_key(key) in stored


async def test_user_names_are_unique_and_checked(db: str) -> None:
    name = unique("ada")
    await users.create_user(name)
    with pytest.raises(NameTakenError):
        await users.create_user(name)
    for bad in ("", "has space", "x" * 65, "-dash-first"):
        with pytest.raises(InvalidArgumentError):
            await users.create_user(bad)


@pytest.mark.parametrize("key", [
    "", "gw_", "nope", "gw_0123456789ab_", "gw_zzzzzzzzzzzz_secret", "xx_0123456789ab_secret",
])
async def test_malformed_keys_do_not_authenticate(db: str, key: str) -> None:
    assert await users.authenticate(key) is None


async def test_wrong_secret_with_a_real_prefix_does_not_authenticate(db: str) -> None:
    _, key = await users.create_user(unique("ada"))
    prefix = key.split("_")[1]
    assert await users.authenticate(f"gw_{prefix}_{'A' * 43}") is None
    assert await users.authenticate(key + "x") is None


async def test_revoked_expired_and_disabled_keys_are_refused(db: str) -> None:
    user, first = await users.create_user(unique("ada"))
    info, second = await users.create_api_key(user.id, "ci")
    assert (await users.authenticate(second)) is not None
    revoked = await users.revoke_api_key(user.id, info.id)
    assert revoked.revoked_at is not None
    assert await users.authenticate(second) is None
    assert (await users.authenticate(first)) is not None  # other keys unaffected

    _, expiring = await users.create_api_key(user.id, "old",
                                             expires_at=utcnow() - timedelta(seconds=1))
    assert await users.authenticate(expiring) is None

    await users.set_active(user.id, False)
    assert await users.authenticate(first) is None
    await users.set_active(user.id, True)
    assert (await users.authenticate(first)) is not None


async def test_authentication_records_last_use(db: str) -> None:
    user, key = await users.create_user(unique("ada"))
    assert (await users.list_api_keys(user.id))[0].last_used_at is None
    await users.authenticate(key)
    first_use = (await users.list_api_keys(user.id))[0].last_used_at
    assert first_use is not None
    await users.authenticate(key)  # within the resolution: no write
    assert (await users.list_api_keys(user.id))[0].last_used_at == first_use


async def test_keys_are_scoped_to_their_owner(db: str, alice: UUID, bob: UUID) -> None:
    info, key = await users.create_api_key(alice, "laptop")
    assert [k.id for k in await users.list_api_keys(bob)] != [info.id]
    assert info.id not in {k.id for k in await users.list_api_keys(bob)}
    with pytest.raises(NotFoundError):
        await users.revoke_api_key(bob, info.id)
    with pytest.raises(NotFoundError):
        await users.revoke_api_key(alice, "not-a-uuid")
    assert (await users.authenticate(key)) is not None
    with pytest.raises(NotFoundError):
        await users.create_api_key(uuid4(), "ghost")
    with pytest.raises(InvalidArgumentError):
        await users.create_api_key(alice, "")
    assert await ApiKey.filter(owner_id=alice).count() == 2  # its first key and "laptop"
