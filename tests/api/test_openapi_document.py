"""The OpenAPI document is complete enough for clients and schemathesis: every operation
says what it returns on success (a schema, or a declared media type for files, metrics and
event streams), declares its problems as application/problem+json, and /docs serves."""

from __future__ import annotations

import httpx
from fastapi import FastAPI

#: operations whose success body is not JSON described by a schema of ours
NON_JSON_SUCCESS = {"/metrics", "/v1/files/{file_id}/content"}


async def test_docs_and_the_document_serve(anonymous: httpx.AsyncClient) -> None:
    docs = await anonymous.get("/docs")
    assert docs.status_code == 200 and "swagger-ui" in docs.text.lower()
    document = (await anonymous.get("/openapi.json")).json()
    assert document["info"]["title"] == "graphwright"
    assert "/v1/workflows" in document["paths"]


def test_every_operation_declares_its_success_and_problem_responses(app: FastAPI) -> None:
    document = app.openapi()
    missing = []
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            label = f"{method.upper()} {path}"
            responses = operation["responses"]
            success = {code: r for code, r in responses.items() if code.startswith("2")}
            if not success:
                missing.append(f"{label}: no success response")
            for code, response in success.items():
                if code == "204":
                    continue
                content = response.get("content", {})
                json_schema = content.get("application/json", {}).get("schema")
                if not content:
                    missing.append(f"{label} {code}: no content")
                elif path not in NON_JSON_SUCCESS and json_schema in (None, {}) and \
                        "text/event-stream" not in content:
                    missing.append(f"{label} {code}: no response model")
            if path not in {"/healthz", "/readyz"}:
                for code in ("401", "413", "422"):
                    declared = responses.get(code, {}).get("content", {})
                    if "application/problem+json" not in declared:
                        missing.append(f"{label}: {code} not declared as a problem")
    assert not missing, "\n".join(missing)
