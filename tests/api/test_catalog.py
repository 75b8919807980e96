"""The catalog and spec validation over the API (no database objects involved, but run on
both databases like every API test, since the app opens one)."""

from __future__ import annotations

from typing import Any

import jsonschema
from helpers.api_apps import greeting
from helpers.api_client import Caller, assert_problem

from workflow_compiler.spec.models import NODE_MODELS


async def test_node_types_have_config_schemas_and_ports(alice: Caller) -> None:
    items = (await alice.client.get("/v1/catalog/node-types")).json()["items"]
    by_type = {i["type"]: i for i in items}
    assert set(by_type) == set(NODE_MODELS)
    assert by_type["condition"]["ports"] == ["true", "false"]
    assert by_type["approval"]["ports"] == ["approved", "rejected", "timeout"]
    assert by_type["approval"]["pauses"] and not by_type["transform"]["pauses"]
    assert "options" in by_type["approval"]["dynamic_ports"]
    assert by_type["switch"]["branching"] and by_type["tool"]["ai_tool_source"]
    for item in items:
        assert item["description"]
        schema = item["config_schema"]
        jsonschema.Draft202012Validator.check_schema(schema)
        assert "id" in schema["properties"] and "type" in schema["properties"]
    # a config that validates against its schema is one the compiler accepts
    llm = by_type["llm"]["config_schema"]
    jsonschema.validate({"id": "x", "type": "llm", "provider": "fake", "model": "fake",
                         "prompt": "hi"}, llm)


async def test_tools_models_and_the_spec_schema(alice: Caller) -> None:
    tools = (await alice.client.get("/v1/catalog/tools")).json()["items"]
    assert tools, "the runtime registers built-in tools"
    assert [t["name"] for t in tools] == sorted(t["name"] for t in tools)
    for tool in tools:
        assert tool["args_schema"]["type"] == "object"

    models = (await alice.client.get("/v1/catalog/models")).json()["items"]
    assert {m["provider"] for m in models} == {"openai", "anthropic", "gemini", "fake"}
    anthropic = (await alice.client.get("/v1/catalog/models",
                                        params={"provider": "anthropic"})).json()["items"]
    assert anthropic and {m["provider"] for m in anthropic} == {"anthropic"}
    assert_problem(await alice.client.get("/v1/catalog/models", params={"provider": "x"}), 422)

    schema = (await alice.client.get("/v1/catalog/spec-schema")).json()
    assert schema["$id"] == "https://graphwright.dev/schema/spec-v1.json"
    jsonschema.validate(greeting(), schema)


async def test_validate_answers_200_with_errors_or_a_drawing(alice: Caller) -> None:
    ok = await alice.client.post("/v1/specs/validate", json={"spec": greeting()})
    assert ok.status_code == 200
    report = ok.json()
    assert report["valid"] is True and report["errors"] == []
    assert len(report["spec_hash"]) == 64
    assert report["mermaid"].startswith("flowchart TD")
    assert "say" in report["mermaid"]

    bad: dict[str, Any] = {"name": "bad", "nodes": [
        {"id": "a", "type": "transform", "value": "{{ nodes.a.x }}"},
        {"id": "a", "type": "condition", "if": "{{ 1 +}}"}], "edges": [{"from": "a", "to": "b"}]}
    invalid = await alice.client.post("/v1/specs/validate", json={"spec": bad})
    assert invalid.status_code == 200
    report = invalid.json()
    assert report["valid"] is False and report["mermaid"] is None
    codes = {e["code"] for e in report["errors"]}
    assert {"duplicate_node_id", "dangling_edge"} <= codes, codes
    assert all(e["path"].startswith("/") for e in report["errors"])

    tool = {"name": "t", "nodes": [{"id": "call", "type": "tool", "tool": "no_such_tool"}],
            "edges": []}
    report = (await alice.client.post("/v1/specs/validate", json={"spec": tool})).json()
    assert not report["valid"]  # checked against the runtime's tool registry
    assert_problem(await alice.client.post("/v1/specs/validate", json={"spec": [1]}), 422,
                   "invalid_request")
    assert_problem(await alice.client.post("/v1/specs/validate", json=greeting()), 422)
