"""The catalog (``/v1/catalog/...``) and spec validation (``/v1/specs/validate``)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request

from api.auth import CurrentUser
from api.routers._responses import problems
from api.services import catalog
from api.services.specs import SpecBody, ValidationReport, report
from api.state import service_state

router = APIRouter(tags=["catalog"])


@router.get("/catalog/node-types", response_model=catalog.NodeTypeList,
            summary="Node types with their config JSON Schemas and ports")
async def node_types(user: CurrentUser) -> catalog.NodeTypeList:
    return catalog.node_types()


@router.get("/catalog/tools", response_model=catalog.ToolList,
            summary="Tools tool and llm nodes may call, with their argument schemas")
async def tools(user: CurrentUser, request: Request) -> catalog.ToolList:
    return catalog.tools(service_state(request).runtime)


@router.get("/catalog/models", response_model=catalog.ModelList,
            summary="Known models per provider (any model name still works)")
async def models(
    user: CurrentUser,
    provider: Annotated[Literal["openai", "anthropic", "gemini", "fake"] | None,
                        Query()] = None,
) -> catalog.ModelList:
    return catalog.models(provider)


@router.get("/catalog/spec-schema", response_model=dict[str, Any],
            summary="The JSON Schema of spec version 1")
async def spec_schema(user: CurrentUser) -> dict[str, Any]:
    return catalog.spec_schema()


@router.post("/specs/validate", response_model=ValidationReport, responses=problems(400),
             summary="Validate a spec: every problem at once, and a mermaid drawing",
             description="Answers 200 for any spec; an invalid one has valid=false and "
             "its errors.")
async def validate_spec(body: SpecBody, user: CurrentUser, request: Request
                        ) -> ValidationReport:
    return report(service_state(request).runtime, body.spec)
