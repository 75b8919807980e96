"""Users and API keys. A key's plaintext exists only in the return value of the call that
made it; the database holds its prefix and sha256 (see ``shared.security.api_keys``)."""

from __future__ import annotations

from datetime import datetime, timedelta
from uuid import UUID

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from shared.database.entities import ApiKeyInfo, UserInfo
from shared.database.errors import InvalidArgumentError, NameTakenError, NotFoundError
from shared.database.models import ApiKey, User
from shared.database.repositories._common import as_uuid, check_name, utcnow
from shared.security.api_keys import issue_key, matches, prefix_of

#: last_used_at is refreshed at most this often, so authentication stays a read
LAST_USED_RESOLUTION = timedelta(minutes=1)


class UsersRepository:
    async def create_user(
        self, name: str, *, display_name: str = "", email: str | None = None,
        key_name: str = "default",
    ) -> tuple[UserInfo, str]:
        """A new user and its first API key; the key's plaintext is returned this once."""
        check_name(name, "user name")
        issued = issue_key()
        try:
            async with in_transaction():
                user = await User.create(name=name, display_name=display_name, email=email)
                await ApiKey.create(owner_id=user.id, name=key_name, prefix=issued.prefix,
                                    key_hash=issued.key_hash)
        except IntegrityError:
            raise NameTakenError(f"a user named {name!r} already exists") from None
        return UserInfo.model_validate(user), issued.plaintext

    async def get(self, user_id: UUID) -> UserInfo:
        user = await User.get_or_none(id=user_id)
        if user is None:
            raise NotFoundError("user", user_id)
        return UserInfo.model_validate(user)

    async def get_by_name(self, name: str) -> UserInfo | None:
        """User names are public handles (approvers lists name people by them)."""
        user = await User.get_or_none(name=name)
        return UserInfo.model_validate(user) if user is not None else None

    async def set_active(self, user_id: UUID, active: bool) -> UserInfo:
        if await User.filter(id=user_id).update(is_active=active) == 0:
            raise NotFoundError("user", user_id)
        return await self.get(user_id)

    async def create_api_key(
        self, owner_id: UUID, name: str = "default", *, expires_at: datetime | None = None
    ) -> tuple[ApiKeyInfo, str]:
        if not name or len(name) > 64:
            raise InvalidArgumentError("an API key name has 1 to 64 characters", field="name")
        if not await User.filter(id=owner_id).exists():
            raise NotFoundError("user", owner_id)
        issued = issue_key()
        key = await ApiKey.create(owner_id=owner_id, name=name, prefix=issued.prefix,
                                  key_hash=issued.key_hash, expires_at=expires_at)
        return ApiKeyInfo.model_validate(key), issued.plaintext

    async def list_api_keys(self, owner_id: UUID) -> list[ApiKeyInfo]:
        keys = await ApiKey.filter(owner_id=owner_id).order_by("created_at", "id")
        return [ApiKeyInfo.model_validate(k) for k in keys]

    async def revoke_api_key(self, owner_id: UUID, key_id: UUID | str) -> ApiKeyInfo:
        key = await ApiKey.get_or_none(id=as_uuid(key_id, "API key"), owner_id=owner_id)
        if key is None:
            raise NotFoundError("API key", key_id)
        if key.revoked_at is None:
            key.revoked_at = utcnow()
            await key.save(update_fields=["revoked_at"])
        return ApiKeyInfo.model_validate(key)

    async def authenticate(self, plaintext: str) -> UserInfo | None:
        """The active user owning this live key, else None (malformed, unknown, revoked,
        expired, or a disabled user: the caller answers 401 alike)."""
        prefix = prefix_of(plaintext) if isinstance(plaintext, str) else None
        if prefix is None:
            return None
        key = await ApiKey.get_or_none(prefix=prefix).select_related("owner")
        if key is None or not matches(plaintext, key.key_hash):
            return None
        now = utcnow()
        if key.revoked_at is not None or (key.expires_at is not None and key.expires_at <= now):
            return None
        user = key.owner
        if not user.is_active:
            return None
        if key.last_used_at is None or now - key.last_used_at >= LAST_USED_RESOLUTION:
            await ApiKey.filter(id=key.id).update(last_used_at=now)
        return UserInfo.model_validate(user)
