"""JWT authentication: HS256 and RS256 with real signatures, issuer, audience and expiry
checks. Every bad token gets the same 401; a good one authenticates the user its ``sub``
claim names."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import AsyncIterator
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi import FastAPI
from helpers.api_apps import AppFactory
from helpers.api_client import assert_problem, client_for

from shared.database.entities import UserInfo
from shared.database.repositories import UsersRepository

SECRET = "hs256-test-secret-" + "0123456789abcdef" * 3
ISSUER = "https://idp.example"
AUDIENCE = "graphwright"


def rsa_pair() -> tuple[Any, str]:
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public_pem = private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    return private, public_pem


PRIVATE, PUBLIC_PEM = rsa_pair()
OTHER_PRIVATE, _ = rsa_pair()


def claims(user: str, **changes: Any) -> dict[str, Any]:
    now = int(time.time())
    base = {"sub": user, "iss": ISSUER, "aud": AUDIENCE, "iat": now, "exp": now + 300}
    base.update(changes)
    return {k: v for k, v in base.items() if v is not None}


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def hand_signed(header: dict[str, Any], payload: dict[str, Any], key: bytes | None) -> str:
    """A token built by hand, for what PyJWT refuses to make (alg none, a PEM as HMAC key)."""
    signing_input = f"{b64(json.dumps(header).encode())}.{b64(json.dumps(payload).encode())}"
    signature = b"" if key is None else hmac.new(key, signing_input.encode(),
                                                 hashlib.sha256).digest()
    return f"{signing_input}.{b64(signature)}"


@pytest.fixture
async def jwt_app(app_with: AppFactory) -> AsyncIterator[tuple[FastAPI, UserInfo]]:
    async with app_with(jwt_algorithms=("HS256", "RS256"), jwt_secret=SECRET,
                        jwt_public_key=PUBLIC_PEM, jwt_issuer=ISSUER,
                        jwt_audience=AUDIENCE) as app:
        user, _ = await UsersRepository().create_user(f"jwt-{time.time_ns()}")
        yield app, user


async def status_for(app: FastAPI, token: str) -> tuple[int, dict[str, Any]]:
    async with client_for(app, token) as client:
        response = await client.get("/v1/me")
    if response.status_code == 401:
        assert_problem(response, 401, "unauthenticated")
    return response.status_code, response.json()


async def test_valid_hs256_and_rs256_tokens_authenticate_the_named_user(
        jwt_app: tuple[FastAPI, UserInfo]) -> None:
    app, user = jwt_app
    for token in (jwt.encode(claims(user.name), SECRET, algorithm="HS256"),
                  jwt.encode(claims(user.name), PRIVATE, algorithm="RS256")):
        status, body = await status_for(app, token)
        assert status == 200, body
        assert body["id"] == str(user.id)
    async with client_for(app, jwt.encode(claims(user.name), SECRET, algorithm="HS256")) as c:
        assert (await c.get("/v1/workflows")).status_code == 200


async def test_every_bad_token_is_401(jwt_app: tuple[FastAPI, UserInfo]) -> None:
    app, user = jwt_app
    name = user.name
    public_pem = PUBLIC_PEM.encode()
    bad = {
        "hs256 wrong secret": jwt.encode(claims(name), SECRET + "x", algorithm="HS256"),
        "rs256 wrong key": jwt.encode(claims(name), OTHER_PRIVATE, algorithm="RS256"),
        "wrong issuer": jwt.encode(claims(name, iss="https://evil.example"), SECRET,
                                   algorithm="HS256"),
        "no issuer": jwt.encode(claims(name, iss=None), SECRET, algorithm="HS256"),
        "wrong audience": jwt.encode(claims(name, aud="someone-else"), PRIVATE,
                                     algorithm="RS256"),
        "no audience": jwt.encode(claims(name, aud=None), PRIVATE, algorithm="RS256"),
        "expired": jwt.encode(claims(name, exp=int(time.time()) - 120), SECRET,
                              algorithm="HS256"),
        "no expiry": jwt.encode(claims(name, exp=None), SECRET, algorithm="HS256"),
        "alg none": hand_signed({"alg": "none", "typ": "JWT"}, claims(name), None),
        "alg None": hand_signed({"alg": "None", "typ": "JWT"}, claims(name), None),
        "hs256 signed with the rs256 public key": hand_signed(
            {"alg": "HS256", "typ": "JWT"}, claims(name), public_pem),
        "hs512": jwt.encode(claims(name), SECRET + "x" * 40, algorithm="HS512"),
        "unknown user": jwt.encode(claims("nobody-at-all"), SECRET, algorithm="HS256"),
        "no subject": jwt.encode(claims(name, sub=None), SECRET, algorithm="HS256"),
        "tampered payload": (lambda t: t.split(".")[0] + "." + b64(json.dumps(
            claims("someone-else")).encode()) + "." + t.split(".")[2])(
            jwt.encode(claims(name), SECRET, algorithm="HS256")),
        "garbage": "not.a.jwt",
    }
    for label, token in bad.items():
        status, body = await status_for(app, token)
        assert status == 401, f"{label}: {body}"
    await UsersRepository().set_active(user.id, False)
    status, _ = await status_for(app, jwt.encode(claims(name), SECRET, algorithm="HS256"))
    assert status == 401


async def test_only_configured_algorithms_are_accepted(app_with: AppFactory) -> None:
    async with app_with(jwt_algorithms=("RS256",), jwt_public_key=PUBLIC_PEM,
                        jwt_secret=None) as app:
        user, _ = await UsersRepository().create_user(f"rs-{time.time_ns()}")
        ok = jwt.encode(claims(user.name, iss=None, aud=None), PRIVATE, algorithm="RS256")
        assert (await status_for(app, ok))[0] == 200
        for token in (
            jwt.encode(claims(user.name), SECRET, algorithm="HS256"),
            hand_signed({"alg": "HS256", "typ": "JWT"}, claims(user.name),
                        PUBLIC_PEM.encode()),
        ):
            assert (await status_for(app, token))[0] == 401
    async with app_with() as app:  # no JWT settings: JWTs are not accepted at all
        user, _ = await UsersRepository().create_user(f"none-{time.time_ns()}")
        token = jwt.encode(claims(user.name), SECRET, algorithm="HS256")
        assert (await status_for(app, token))[0] == 401
