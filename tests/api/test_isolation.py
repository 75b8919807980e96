"""Every route of the app, enumerated: no route answers without credentials, and no route
shows, changes or even confirms another user's objects.

The routes come from ``create_app`` itself (``fastapi.routing.iter_route_contexts`` over
``app.routes``), so a route added later is checked without anyone editing this file. The
contract is the path parameter *names*: each one below maps to an object of alice's, and
a route with a parameter name that is not mapped fails the test, so no route can skip it.

For every route that is not explicitly public, and every method:

(a) without credentials it answers a 401 problem;
(b) bob, calling it with path parameters naming alice's objects, gets a 404 problem
    (never 200, 403, 409 or 500: another user's object is indistinguishable from a
    missing one), and afterwards alice's objects are exactly as they were;
(c) alice, reading (GET) the same paths, gets 200: the parameters really name her
    objects, so bob's 404 is the scoping at work and not a bad id;
(d) list routes (GET without path parameters) answer bob without any of alice's ids,
    also when filtered by them (``?workflow_id=<alice's>``).

Bob's requests carry a valid body (built from the route's OpenAPI request schema, or
taken from ``BODIES``) so that they reach the handler instead of stopping at validation.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute, iter_route_contexts
from helpers.api_client import Caller, assert_problem

from api.auth import current_user
from api.run_owner import acting_for
from shared.config import Settings
from shared.database.repositories import (
    ApprovalsRepository,
    RunsRepository,
    SecretsRepository,
    UsersRepository,
)

#: routes anyone may call: probes and metrics (see api/routers/metrics.py for why)
PUBLIC_ROUTES = {"/healthz", "/readyz", "/metrics"}
#: what FastAPI serves itself (not APIRoutes): the OpenAPI document and its viewers
DOCUMENT_ROUTES = {"/openapi.json", "/docs", "/docs/oauth2-redirect", "/redoc"}
#: (method, path) that act on a name in the *caller's own* namespace: bob's PUT of a secret
#: named like alice's creates bob's own secret, which is right; the test proves instead
#: that alice's secret is untouched
OWN_NAMESPACE_WRITES = {("PUT", "/v1/secrets/{name}")}
#: bodies for routes whose minimal schema-built body would not pass validation
BODIES: dict[tuple[str, str], Any] = {
    ("PUT", "/v1/secrets/{name}"): {"value": "bob's own"},
}
PARAM = re.compile(r"{([^}:]+)(?::[^}]+)?}")
SECRET_VALUE = "alice-only-" + uuid.uuid4().hex


@dataclass
class AliceWorld:
    params: dict[str, str]
    ids: list[str]  # strings that must never appear in bob's answers


def approval_spec(approver: str) -> dict[str, Any]:
    return {"spec_version": "1", "name": "gated",
            "nodes": [{"id": "ask", "type": "approval", "question": "Go?",
                       "approvers": [approver]},
                      {"id": "go", "type": "signal", "signal": "go"},
                      {"id": "done", "type": "transform", "value": "ok"}],
            "edges": [{"from": "ask", "port": "approved", "to": "go"},
                      {"from": "go", "to": "done"}],
            "outputs": {"done": "{{ nodes.done | default(none) }}"}}


def routes(app: FastAPI) -> list[tuple[str, str, APIRoute]]:
    found = []
    for context in iter_route_contexts(app.routes):
        route = context.original_route
        path = context.path_format
        assert path, context
        if not isinstance(route, APIRoute):
            assert path in DOCUMENT_ROUTES, f"{path} is not an APIRoute: it escapes this test"
            continue
        found.extend((method, path, route) for method in sorted(route.methods - {"HEAD"}))
    return found


def needs_user(route: APIRoute) -> bool:
    pending = list(route.dependant.dependencies)
    while pending:
        dependency = pending.pop()
        if dependency.call is current_user:
            return True
        pending.extend(dependency.dependencies)
    return False


def has_route(app: FastAPI, method: str, path: str) -> bool:
    return any(m == method and p == path for m, p, _ in routes(app))


async def paused_run(app: FastAPI, alice: Caller, workflow_id: str, version_id: str) -> str:
    """Alice's run, paused at her approval: over the API when the runs routes exist, else
    the way the service does it (register the run, let the runtime start it)."""
    if has_route(app, "POST", "/v1/workflows/{workflow_id}/runs"):
        response = await alice.client.post(f"/v1/workflows/{workflow_id}/runs",
                                           json={"inputs": {}})
        assert response.status_code in (200, 201), response.text
        run_id = str(response.json()["id"])
    else:
        run, _ = await RunsRepository().create(alice.user.id, version_id=version_id)
        version = await alice.client.get(f"/v1/workflows/{workflow_id}/versions/1")
        with acting_for(alice.user.id):
            await app.state.service.runtime.start(version.json()["spec"], {}, run_id=run.id)
        run_id = run.id
    assert (await RunsRepository().get(alice.user.id, run_id)).status == "paused"
    return run_id


async def build_alice(app: FastAPI, alice: Caller, settings: Settings) -> AliceWorld:
    client = alice.client
    name = f"alice_private_{uuid.uuid4().hex[:8]}"  # a valid workflow AND secret name
    workflow = (await client.post("/v1/workflows", json={
        "name": name, "namespace": "alice_space",
        "spec": approval_spec(alice.user.name)})).json()
    version = (await client.post(f"/v1/workflows/{workflow['id']}/versions")).json()
    (await client.post(f"/v1/workflows/{workflow['id']}/versions/1/publish")).raise_for_status()
    run_id = await paused_run(app, alice, workflow["id"], version["id"])
    [approval] = await ApprovalsRepository().list(alice.user.id, alice.user.name,
                                                  run_id=run_id)
    history = await app.state.service.runtime.history(run_id)
    checkpoint_id = str(history[0]["checkpoint_id"])
    upload = await client.post("/v1/files", files={"file": ("alice.txt", b"alice's bytes")})
    file_id = upload.json()["id"]
    (await client.put(f"/v1/secrets/{name}", json={"value": SECRET_VALUE})).raise_for_status()
    key = (await client.post("/v1/me/api-keys", json={"name": "alice-ci"})).json()
    params = {
        "workflow_id": workflow["id"], "namespace": "alice_space", "name": name,
        "number": "1", "file_id": file_id, "run_id": run_id, "checkpoint_id": checkpoint_id,
        "approval_id": str(approval.id), "key_id": key["id"], "signal": "go",
    }
    ids = [workflow["id"], version["id"], run_id, str(approval.id), file_id, key["id"],
           name, checkpoint_id, key["prefix"], SECRET_VALUE]
    return AliceWorld(params, ids)


def minimal(schema: dict[str, Any], components: dict[str, Any], depth: int = 0) -> Any:
    """The smallest instance of a JSON Schema: required properties only."""
    if "$ref" in schema:
        return minimal(components[schema["$ref"].rsplit("/", 1)[1]], components, depth + 1)
    if "default" in schema and depth > 0:
        return schema["default"]
    for key in ("anyOf", "oneOf"):
        if key in schema:
            options = [o for o in schema[key] if o.get("type") != "null"] or schema[key]
            return minimal(options[0], components, depth + 1)
    if "enum" in schema:
        return schema["enum"][0]
    if "const" in schema:
        return schema["const"]
    kind = schema.get("type", "object")
    if kind == "object":
        properties = schema.get("properties", {})
        return {name: minimal(properties.get(name, {}), components, depth + 1)
                for name in schema.get("required", [])}
    if kind == "string":
        return "x" * max(1, int(schema.get("minLength", 1)))
    if kind in ("integer", "number"):
        return max(1, int(schema.get("minimum", 1)))
    if kind == "boolean":
        return False
    if kind == "array":
        return []
    return None


def request_for(app: FastAPI, method: str, path: str) -> dict[str, Any]:
    """httpx keyword arguments giving the route a body that passes validation."""
    if (method, path) in BODIES:
        return {"json": BODIES[method, path]}
    document = app.openapi()
    operation = document["paths"][path][method.lower()]
    body = operation.get("requestBody")
    if body is None:
        return {}
    content = body["content"]
    components = document.get("components", {}).get("schemas", {})
    if "application/json" in content:
        return {"json": minimal(content["application/json"]["schema"], components)}
    if "multipart/form-data" in content:
        return {"files": {"file": ("bob.txt", b"bob")}}
    raise AssertionError(f"{method} {path}: no body recipe for {sorted(content)}")


def fill(path: str, params: dict[str, str]) -> str:
    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        assert name in params, (
            f"{path}: path parameter {name!r} is not mapped to an object of alice's; "
            f"add it to build_alice so this route is checked")
        return params[name]

    return PARAM.sub(value, path)


async def call(client: httpx.AsyncClient, method: str, url: str, **kwargs: Any
               ) -> httpx.Response:
    headers = {"Accept": "application/json"}
    return await client.request(method, url, headers=headers, **kwargs)


async def alice_snapshot(alice: Caller, world: AliceWorld, settings: Settings
                         ) -> dict[str, Any]:
    p = world.params
    client = alice.client
    secret = await SecretsRepository.from_settings(settings).reveal_for_run(alice.user.id,
                                                                           p["name"])
    keys = await UsersRepository().list_api_keys(alice.user.id)
    return {
        "workflow": (await client.get(f"/v1/workflows/{p['workflow_id']}")).json(),
        "draft": (await client.get(f"/v1/workflows/{p['workflow_id']}/draft")).json(),
        "versions": (await client.get(f"/v1/workflows/{p['workflow_id']}/versions")).json(),
        "run": (await RunsRepository().get(alice.user.id, p["run_id"])).model_dump(),
        "approval": (await ApprovalsRepository().get(alice.user.id, alice.user.name,
                                                     p["approval_id"])).model_dump(),
        "file": (await client.get(f"/v1/files/{p['file_id']}/content")).content,
        "secret": secret,
        "keys": [(k.id, k.revoked_at) for k in keys],
    }


async def test_every_route_needs_credentials_and_hides_other_users_objects(
        app: FastAPI, alice: Caller, bob: Caller, anonymous: httpx.AsyncClient,
        settings: Settings) -> None:
    world = await build_alice(app, alice, settings)
    before = await alice_snapshot(alice, world, settings)
    failures: list[str] = []
    own_writes: list[tuple[str, str, str, dict[str, Any]]] = []
    checked = 0
    for method, path, route in routes(app):
        if path in PUBLIC_ROUTES:
            continue
        checked += 1
        label = f"{method} {path}"
        if not needs_user(route):
            failures.append(f"{label}: does not depend on current_user")
        try:
            url = fill(path, world.params)
        except AssertionError as exc:
            failures.append(str(exc))
            continue
        kwargs = request_for(app, method, path)

        response = await call(anonymous, method, url, **kwargs)
        if response.status_code != 401 or not response.headers.get(
                "content-type", "").startswith("application/problem+json"):
            failures.append(f"{label} without credentials: {response.status_code} "
                            f"{response.text[:200]}")

        if not PARAM.search(path):
            if method == "GET":
                # plain, then filtered by alice's ids (?workflow_id=, ?run_id=, ...)
                filters = {q.alias: world.params[q.alias]
                           for q in route.dependant.query_params if q.alias in world.params}
                for query in ({}, filters) if filters else ({},):
                    listing = await call(bob.client, method, url, params=query)
                    leaked = [i for i in world.ids if i in listing.text
                              and i not in query.values()]
                    if listing.status_code not in (200, 404) or leaked:
                        failures.append(f"{label}?{query} as bob: {listing.status_code}, "
                                        f"shows {leaked}")
            continue
        if (method, path) in OWN_NAMESPACE_WRITES:
            own_writes.append((label, method, url, kwargs))  # last: it makes bob's own
            continue

        response = await call(bob.client, method, url, **kwargs)
        if response.status_code != 404:
            failures.append(f"{label} as bob with alice's ids: {response.status_code} "
                            f"{response.text[:300]}")
        else:
            assert_problem(response, 404)
            leaked = [i for i in world.ids if i in response.text
                      and i not in url]  # the problem may repeat the URL it was given
            if leaked:
                failures.append(f"{label} as bob: the 404 shows {leaked}")
        if method == "GET":
            mine = await call(alice.client, method, url)
            if mine.status_code != 200:
                failures.append(f"{label} as alice (control): {mine.status_code} "
                                f"{mine.text[:200]}")
    for label, method, url, kwargs in own_writes:
        own = await call(bob.client, method, url, **kwargs)
        if not 200 <= own.status_code < 300 or SECRET_VALUE in own.text:
            failures.append(f"{label} as bob (own namespace): {own.status_code}")
    assert checked >= 30, f"only {checked} routes found: is the app's route list complete?"
    after = await alice_snapshot(alice, world, settings)
    for key, value in before.items():
        if after[key] != value:
            failures.append(f"bob's calls changed alice's {key}: {value!r} -> {after[key]!r}")
    assert not failures, "\n".join(failures)


def test_an_unmapped_path_parameter_fails_the_check() -> None:
    with pytest.raises(AssertionError, match="thing_id"):
        fill("/v1/things/{thing_id}", {"workflow_id": "x"})
