"""Built-in tools and the ``tool`` node: schemas, results, refusals, and the executor's
checks (unknown tool, argument validation statically and after rendering, tool failures)."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator

from workflow_compiler.errors import NodeExecutionError
from workflow_compiler.nodes.base import NodeContext, ValidationContext
from workflow_compiler.nodes.tool import ToolExecutor
from workflow_compiler.services import RuntimeServices
from workflow_compiler.spec.models import ToolNode
from workflow_compiler.tools.builtins import BUILTIN_TOOLS, evaluate_arithmetic
from workflow_compiler.tools.registry import Tool, ToolRegistry, default_tool_registry

TOOLS = {tool.name: tool for tool in BUILTIN_TOOLS}
EXECUTOR = ToolExecutor()


async def call(name: str, **args: Any) -> Any:
    """Validate like the tool node does, call, and check the result against the output schema."""
    tool = TOOLS[name]
    Draft202012Validator(tool.args_schema).validate(args)
    result = await tool.call(args)
    if tool.output_schema is not None:
        Draft202012Validator(tool.output_schema).validate(result)
    return result


# --- the catalogue ------------------------------------------------------------------------


def test_builtin_catalogue_is_complete_and_schemas_are_valid() -> None:
    expected = {"text.upper", "text.lower", "text.length", "text.split", "text.join",
                "text.replace", "text.slugify", "math.add", "math.sum", "math.mean",
                "math.round", "math.evaluate", "json.parse", "json.format"}
    assert expected <= set(TOOLS)
    assert len(TOOLS) == len(BUILTIN_TOOLS)
    for tool in BUILTIN_TOOLS:
        assert tool.description
        Draft202012Validator.check_schema(tool.args_schema)
        assert tool.args_schema["type"] == "object"
        assert tool.args_schema["additionalProperties"] is False
        assert tool.output_schema is not None
        Draft202012Validator.check_schema(tool.output_schema)
    assert default_tool_registry().names() >= expected


# --- text ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "args", "expected"), [
    ("text.upper", {"text": "straße ok"}, "STRASSE OK"),
    ("text.lower", {"text": "ÀB C"}, "àb c"),
    ("text.length", {"text": "naïve 🙂"}, 7),
    ("text.split", {"text": " a  b\tc "}, ["a", "b", "c"]),
    ("text.split", {"text": "a,b,,c", "separator": ","}, ["a", "b", "", "c"]),
    ("text.split", {"text": "a,b,c", "separator": ",", "max_splits": 1}, ["a", "b,c"]),
    ("text.join", {"items": ["a", "b"], "separator": ", "}, "a, b"),
    ("text.join", {"items": ["n", 1, 2.5, True]}, "n12.5true"),
    ("text.replace", {"text": "a-b-c", "old": "-", "new": "+"}, "a+b+c"),
    ("text.replace", {"text": "a-b-c", "old": "-", "new": "", "count": 1}, "ab-c"),
    ("text.slugify", {"text": "  Crème Brûlée: Ça va?  "}, "creme-brulee-ca-va"),
    ("text.slugify", {"text": "Hello, World!", "separator": "_"}, "hello_world"),
    ("text.slugify", {"text": "one two three", "max_length": 8}, "one-two"),
    ("text.slugify", {"text": "日本語"}, ""),
])
async def test_text_tools(name: str, args: dict[str, Any], expected: Any) -> None:
    assert await call(name, **args) == expected


@pytest.mark.parametrize(("name", "args"), [
    ("text.upper", {}),
    ("text.upper", {"text": 5}),
    ("text.upper", {"text": "a", "extra": 1}),
    ("text.split", {"text": "a", "separator": ""}),
    ("text.replace", {"text": "a", "old": "", "new": "x"}),
    ("text.join", {"items": [{"a": 1}]}),
    ("text.slugify", {"text": "a", "separator": "/"}),
])
def test_text_tool_schemas_refuse_bad_arguments(name: str, args: dict[str, Any]) -> None:
    assert list(Draft202012Validator(TOOLS[name].args_schema).iter_errors(args))


async def test_text_replace_refuses_a_result_past_the_size_limit() -> None:
    with pytest.raises(ValueError, match="exceed"):
        await call("text.replace", text="a" * 1000, old="a", new="b" * 10_000)


# --- math ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "args", "expected"), [
    ("math.add", {"a": 2, "b": 3}, 5),
    ("math.add", {"a": 0.1, "b": 0.2}, 0.30000000000000004),
    ("math.sum", {"numbers": []}, 0),
    ("math.sum", {"numbers": [1, 2, 3]}, 6),
    ("math.sum", {"numbers": [0.1] * 10}, 1.0),  # exactly rounded, unlike a naive loop
    ("math.sum", {"numbers": [1e100, 1.0, -1e100]}, 1.0),
    ("math.mean", {"numbers": [1, 2, 3, 4]}, 2.5),
    ("math.round", {"value": 2.5}, 3),
    ("math.round", {"value": -2.5}, -3),
    ("math.round", {"value": 2.675, "digits": 2}, 2.68),
    ("math.round", {"value": 1234.5, "digits": -2}, 1200),
    ("math.round", {"value": 7}, 7),
])
async def test_math_tools(name: str, args: dict[str, Any], expected: Any) -> None:
    result = await call(name, **args)
    assert result == expected
    assert type(result) is type(expected)


async def test_math_refuses_results_json_cannot_hold() -> None:
    with pytest.raises(ValueError, match="finite"):
        await call("math.add", a=1.7e308, b=1.7e308)
    assert list(Draft202012Validator(TOOLS["math.mean"].args_schema)
                .iter_errors({"numbers": []}))
    assert list(Draft202012Validator(TOOLS["math.add"].args_schema)
                .iter_errors({"a": True, "b": 1}))


@pytest.mark.parametrize(("expression", "expected"), [
    ("1 + 2 * 3", 7),
    ("(1 + 2) * 3", 9),
    ("-2 ** 2", -4),
    ("(-2) ** 2", 4),
    ("2 ** -1", 0.5),
    ("7 // 2 + 7 % 2", 4),
    ("-7 // 2", -4),
    ("10 / 4", 2.5),
    ("+-+3", -3),
    ("abs(-4.5) + max(1, 9, 3) - min(4, 2)", 11.5),
    ("round(2.5) + round(1.005, 2)", 4.01),
    ("sqrt(16) + floor(2.7) + ceil(2.1)", 9.0),
    ("2 ** 1000 // 2 ** 999", 2),
    ("1_000 * 3", 3000),
    (" 1e3 ", 1000.0),
    ("+".join(["1"] * 400), 400),
    ("-" * 500 + "1", 1),
])
def test_math_evaluate_computes_arithmetic(expression: str, expected: float) -> None:
    result = evaluate_arithmetic(expression)
    assert result == pytest.approx(expected)


@pytest.mark.parametrize(("expression", "says"), [
    ("x + 1", "names are not allowed"),
    ("__import__('os')", "unknown function '__import__'"),
    ("__import__('os').system('true')", "may be called, by name"),
    ("(1).__class__", "Attribute"),
    ("[1, 2][0]", "Subscript"),
    ("lambda: 1", "Lambda"),
    ("1 if 1 else 2", "IfExp"),
    ("1 < 2", "Compare"),
    ("1 and 2", "BoolOp"),
    ("1 << 10", "LShift"),
    ("~1", "Invert"),
    ("'a' * 3", "only numbers"),
    ("True + 1", "only numbers"),
    ("1j * 1j", "only numbers"),
    ("max(1, key=abs)", "positional"),
    ("sqrt()", "positional"),
    ("pow(2, 3)", "unknown function 'pow'"),
    ("abs(*[1])", "Starred"),
    ("9 ** 9 ** 9", "exponents are limited"),
    ("2 ** 5000", "exponents are limited"),
    ("3 ** 1000", "1024 bits"),
    ("(2 ** 1000) ** 2", "1024 bits"),
    ("10.0 ** 400", "Numerical result out of range"),
    ("1e308 * 10", "finite"),
    ("(-8) ** 0.5", "not a real number"),
    ("round(1.5, 0.5)", "whole number"),
    ("1 +", "invalid expression"),
    ("(" * 300 + "1" + ")" * 300, "invalid expression"),
    ("1" * 1001, "limited to 1000 characters"),
])
def test_math_evaluate_refuses_what_is_not_bounded_arithmetic(expression: str, says: str) -> None:
    started = time.perf_counter()
    with pytest.raises((ValueError, ArithmeticError), match=None) as caught:
        evaluate_arithmetic(expression)
    assert says in str(caught.value)
    assert time.perf_counter() - started < 10  # refused without doing the work


def test_math_evaluate_division_by_zero_is_an_error() -> None:
    with pytest.raises(ZeroDivisionError):
        evaluate_arithmetic("1 / (2 - 2)")


@settings(max_examples=400, deadline=None)
@given(st.text(alphabet="0123456789.+-*/%() eabcmxsqrtinf_,", max_size=60))
def test_math_evaluate_never_fails_any_other_way(expression: str) -> None:
    started = time.perf_counter()
    try:
        result = evaluate_arithmetic(expression)
    except (ValueError, ArithmeticError):
        pass
    else:
        assert isinstance(result, int | float)
        assert not isinstance(result, bool)
    assert time.perf_counter() - started < 10  # bounded work, not a speed target


# --- json ---------------------------------------------------------------------------------


async def test_json_parse_and_format_round_trip() -> None:
    value = {"b": [1, 2.5, None, True], "a": "é"}
    assert await call("json.parse", text='{"b": [1, 2.5, null, true], "a": "\\u00e9"}') == value
    assert await call("json.format", value=value, indent=None, sort_keys=True) == \
        '{"a":"é","b":[1,2.5,null,true]}'
    assert await call("json.format", value=[1]) == "[\n  1\n]"
    assert await call("json.parse", text="42") == 42


@pytest.mark.parametrize(("text", "says"), [
    ("{", "invalid JSON at line 1"),
    ("NaN", "NaN is not valid JSON"),
    ("[Infinity]", "Infinity is not valid JSON"),
    ("[" * 100_000 + "]" * 100_000, "nested too deeply"),
])
async def test_json_parse_refuses_what_is_not_json(text: str, says: str) -> None:
    with pytest.raises(ValueError, match=says):
        await call("json.parse", text=text)


# --- the tool node: static checks ---------------------------------------------------------


def tool_node(tool: str, args: dict[str, Any] | None = None) -> ToolNode:
    return ToolNode(id="call", tool=tool, args=args or {})


def test_validate_reports_an_unknown_tool_when_the_registry_is_known() -> None:
    context = ValidationContext(tool_names=frozenset({"math.add", "text.upper"}))
    issues = EXECUTOR.validate(tool_node("math.nope"), context, "/nodes/3")
    assert [(i.code, i.path, i.node_id) for i in issues] == [
        ("unknown_tool", "/nodes/3/tool", "call")]
    assert issues[0].hint is not None
    assert "math.add" in issues[0].hint
    assert EXECUTOR.validate(tool_node("math.nope"), ValidationContext(), "/nodes/3") == []


def test_validate_checks_static_arguments_against_the_schema() -> None:
    node = tool_node("math.add", {"a": "seven", "c": 1})
    issues = EXECUTOR.validate(node, ValidationContext(), "/nodes/0")
    assert {(i.code, i.path) for i in issues} == {
        ("invalid_tool_args", "/nodes/0/args"),  # unknown 'c' and missing 'b'
        ("invalid_tool_args", "/nodes/0/args/a"),
    }
    assert any("'seven' is not of type 'number'" in i.message for i in issues)
    assert any("'b' is a required property" in i.message for i in issues)


def test_validate_leaves_templated_values_to_run_time_but_still_checks_keys() -> None:
    ok = tool_node("math.add", {"a": "{{ inputs.x }}", "b": 2})
    assert EXECUTOR.validate(ok, ValidationContext(), "/nodes/0") == []
    nested = tool_node("math.sum", {"numbers": ["{{ inputs.x }}", 2]})
    assert EXECUTOR.validate(nested, ValidationContext(), "/nodes/0") == []
    extra = tool_node("math.add", {"a": "{{ inputs.x }}", "b": 1, "bogus": "{{ inputs.y }}"})
    issues = EXECUTOR.validate(extra, ValidationContext(), "/nodes/0")
    assert [i.code for i in issues] == ["invalid_tool_args"]
    assert "bogus" in issues[0].message
    wrong = tool_node("math.add", {"a": "{{ inputs.x }}", "b": [1]})
    assert [i.path for i in EXECUTOR.validate(wrong, ValidationContext(), "/n")] == ["/n/args/b"]


def test_validate_skips_argument_checks_for_tools_it_cannot_see() -> None:
    context = ValidationContext(tool_names=frozenset({"service.lookup"}))
    assert EXECUTOR.validate(tool_node("service.lookup", {"x": 1}), context, "/n") == []


def test_output_schema_is_the_tools_own() -> None:
    assert EXECUTOR.output_schema(tool_node("math.add")) == {"type": "number"}
    assert EXECUTOR.output_schema(tool_node("text.split")) == {
        "type": "array", "items": {"type": "string"}}
    assert EXECUTOR.output_schema(tool_node("service.lookup")) is None


# --- the tool node: execution -------------------------------------------------------------


def services_with(*extra: Tool) -> RuntimeServices:
    registry = ToolRegistry([*BUILTIN_TOOLS, *extra])
    return RuntimeServices(tools=registry)


def context(node: ToolNode, services: RuntimeServices | None = None,
            **inputs: Any) -> NodeContext:
    return NodeContext(node=node, run_id="run-1", scope={"inputs": inputs, "nodes": {}},
                       services=services or services_with())


async def test_execute_renders_validates_and_calls() -> None:
    node = tool_node("math.add", {"a": "{{ inputs.x }}", "b": 2.5})
    result = await EXECUTOR.execute(context(node, x=4))
    assert result.output == 6.5
    assert result.ports == ("out",)
    slug = await EXECUTOR.execute(context(
        tool_node("text.slugify", {"text": "Report {{ inputs.n }}: Q3"}), n=7))
    assert slug.output == "report-7-q3"


async def test_execute_refuses_an_unknown_tool() -> None:
    with pytest.raises(NodeExecutionError) as caught:
        await EXECUTOR.execute(context(tool_node("no.such", {})))
    assert caught.value.code == "unknown_tool"
    assert caught.value.retryable is False


async def test_execute_lists_every_invalid_rendered_argument_by_path() -> None:
    node = tool_node("text.join", {"items": "{{ inputs.items }}", "separator": 5})
    with pytest.raises(NodeExecutionError) as caught:
        await EXECUTOR.execute(context(node, items=["a", {"b": 1}]))
    error = caught.value
    assert error.code == "invalid_tool_args"
    assert error.retryable is False
    assert [e["path"] for e in error.details["errors"]] == ["/items/1", "/separator"]
    assert "/items/1:" in error.message
    assert "/separator: 5 is not of type 'string'" in error.message


async def test_tool_exceptions_become_non_retryable_tool_errors() -> None:
    node = tool_node("math.evaluate", {"expression": "{{ inputs.e }}"})
    with pytest.raises(NodeExecutionError) as caught:
        await EXECUTOR.execute(context(node, e="1 / 0"))
    assert caught.value.code == "tool_error"
    assert caught.value.retryable is False
    assert "division by zero" in caught.value.message
    assert isinstance(caught.value.__cause__, ZeroDivisionError)


async def test_async_tools_are_awaited_and_coded_errors_pass_through() -> None:
    async def lookup(key: str) -> dict[str, Any]:
        await asyncio.sleep(0)
        if key == "busy":
            raise NodeExecutionError("backend busy", code="backend_busy", retryable=True)
        return {"key": key, "found": True}

    schema = {"type": "object", "properties": {"key": {"type": "string"}},
              "required": ["key"]}
    services = services_with(Tool("svc.lookup", "look a key up", lookup, schema))
    found = await EXECUTOR.execute(context(tool_node("svc.lookup", {"key": "k1"}), services))
    assert found.output == {"key": "k1", "found": True}
    with pytest.raises(NodeExecutionError) as caught:
        await EXECUTOR.execute(context(tool_node("svc.lookup", {"key": "busy"}), services))
    assert (caught.value.code, caught.value.retryable) == ("backend_busy", True)
