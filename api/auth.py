"""Who is calling: bearer API keys, and optionally JWTs verified against the settings.

Every route except the probes and the OpenAPI document depends on ``current_user``; the
isolation test enumerates the app's routes to prove it. A token that fails in any way
(malformed, unknown, revoked, expired, bad signature, wrong issuer or audience, unknown or
disabled user) gets the same 401, so the answer tells an attacker nothing.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from typing import Annotated, Any

import jwt
from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from api.problems import AuthenticationError
from shared.config import Settings
from shared.database.entities import UserInfo
from shared.database.repositories import UsersRepository
from shared.security.api_keys import KEY_SCHEME, hash_key

#: how long a verified API key is trusted without asking the database again; a revoked
#: key stops working within this many seconds
KEY_CACHE_SECONDS = 5.0
KEY_CACHE_SIZE = 4096

_bearer = HTTPBearer(auto_error=False, description="an API key (gw_...) or a JWT")


class KeyCache:
    """A small time-bounded cache of verified keys: the hot path of every request would
    otherwise be a database round trip before any work."""

    def __init__(self, ttl: float = KEY_CACHE_SECONDS, size: int = KEY_CACHE_SIZE) -> None:
        self.ttl = ttl
        self.size = size
        self._entries: OrderedDict[str, tuple[float, UserInfo]] = OrderedDict()

    def get(self, token: str) -> UserInfo | None:
        entry = self._entries.get(hash_key(token))
        if entry is None or entry[0] < time.monotonic():
            return None
        return entry[1]

    def put(self, token: str, user: UserInfo) -> None:
        digest = hash_key(token)
        self._entries[digest] = (time.monotonic() + self.ttl, user)
        self._entries.move_to_end(digest)
        while len(self._entries) > self.size:
            self._entries.popitem(last=False)

    def clear(self) -> None:
        self._entries.clear()


class Authenticator:
    def __init__(self, settings: Settings, users: UsersRepository | None = None) -> None:
        self.settings = settings
        self.users = users or UsersRepository()
        self.keys = KeyCache()

    @property
    def jwt_enabled(self) -> bool:
        return self.settings.jwt_secret is not None or self.settings.jwt_public_key is not None

    async def authenticate(self, token: str) -> UserInfo:
        if token.startswith(KEY_SCHEME + "_"):
            cached = self.keys.get(token)
            if cached is not None:
                return cached
            user = await self.users.authenticate(token)
            if user is None:
                raise _unauthenticated()
            self.keys.put(token, user)
            return user
        if not self.jwt_enabled:
            raise _unauthenticated()
        claims = self.verify_jwt(token)
        subject = claims.get(self.settings.jwt_user_claim)
        if not isinstance(subject, str) or not subject:
            raise _unauthenticated()
        found = await self.users.get_by_name(subject)
        if found is None or not found.is_active:
            raise _unauthenticated()
        return found

    def verify_jwt(self, token: str) -> dict[str, Any]:
        """Signature, expiry, and issuer and audience when configured; only the configured
        algorithms are accepted (never ``none``, never a key used for another algorithm)."""
        settings = self.settings
        try:
            algorithm = jwt.get_unverified_header(token).get("alg")
        except jwt.PyJWTError:
            raise _unauthenticated() from None
        if algorithm not in settings.jwt_algorithms:
            raise _unauthenticated()
        key: Any
        if algorithm == "HS256":
            if settings.jwt_secret is None:
                raise _unauthenticated()
            key = settings.jwt_secret.get_secret_value()
        else:
            if settings.jwt_public_key is None:
                raise _unauthenticated()
            key = settings.jwt_public_key
        required = ["exp"] + (["iss"] if settings.jwt_issuer else []) \
            + (["aud"] if settings.jwt_audience else [])
        try:
            claims: dict[str, Any] = jwt.decode(
                token, key, algorithms=[algorithm], issuer=settings.jwt_issuer,
                audience=settings.jwt_audience, options={"require": required},
                leeway=30)
        except jwt.PyJWTError:
            raise _unauthenticated() from None
        return claims


def _unauthenticated() -> AuthenticationError:
    return AuthenticationError("missing or invalid credentials: send 'Authorization: Bearer "
                               "<API key or JWT>'")


async def current_user(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> UserInfo:
    if credentials is None or not credentials.credentials:
        raise _unauthenticated()
    authenticator: Authenticator = request.app.state.authenticator
    return await authenticator.authenticate(credentials.credentials)


CurrentUser = Annotated[UserInfo, Depends(current_user)]
