"""Every error code graphwright gives, with what it means: the one list clients branch on.

Codes appear in three places: a spec's problems (``validate``, a 422 ``invalid_spec``'s
``errors``), a run's or node's failure (``run.error``, ``node.failed``, a failed tool call
reported to a model) and an API problem (``code`` and the last segment of ``type`` of an
RFC 7807 body). A code keeps its meaning once published; a new one is added here first.

``tests/test_error_codes.py`` finds every code written in our sources and checks it is
here, and ``docs/errors.md`` is rendered from this list (``render_markdown``). Spec
problems, graphwright's error classes and run failures check their code as they are made
(``check_code`` warns about one missing, so a test exercising it fails: warnings are
errors there).

One kind of code is not ours to list: a tool registered by an embedder or the service may
raise ``NodeExecutionError`` with a code of its own, which reaches the node's error as
given (other exceptions of a tool become ``tool_error``).
"""

from __future__ import annotations

import warnings
from typing import Final, Literal

Kind = Literal["spec", "run", "api"]

SPEC: Final = "spec"
RUN: Final = "run"
API: Final = "api"

#: code -> (where it appears, what it means)
CODES: Final[dict[str, tuple[tuple[Kind, ...], str]]] = {
    # -- spec problems ----------------------------------------------------------------------
    "invalid_spec": ((API, SPEC), "the spec has problems; `errors` lists every one"),
    "invalid_json": ((SPEC,), "the spec text is not valid JSON (or YAML)"),
    "unreadable_spec": ((SPEC,), "the spec file cannot be read"),
    "spec_too_large": ((SPEC,), "the spec is larger than a spec may be"),
    "too_many_nodes": ((SPEC,), "the spec has more nodes than a workflow may have"),
    "unsupported_spec_version": ((SPEC,), "`spec_version` is not one this release reads"),
    "missing_field": ((SPEC,), "a required field is missing"),
    "unknown_field": ((SPEC,), "a field the object does not have (the hint may name the "
                      "one meant)"),
    "invalid_value": ((SPEC,), "a value of the wrong type, out of range, or one the node "
                      "could never act on"),
    "invalid_duration": ((SPEC,), "a duration is neither seconds nor ISO 8601 (`PT48H`)"),
    "invalid_node_id": ((SPEC,), "a node id is not a valid identifier"),
    "duplicate_node_id": ((SPEC,), "two nodes have the same id"),
    "unknown_node_type": ((SPEC,), "a node's `type` is not a node type"),
    "unknown_edge_kind": ((SPEC,), "an edge's `kind` is not an edge kind"),
    "dangling_edge": ((SPEC,), "an edge names a node that does not exist"),
    "duplicate_edge": ((SPEC,), "the same edge is given twice"),
    "unknown_port": ((SPEC,), "an edge leaves from a port the node does not have"),
    "invalid_ai_edge": ((SPEC, RUN), "an `ai_tool`/`ai_memory` edge joins nodes that "
                        "cannot be joined that way"),
    "no_entry_node": ((SPEC,), "no node can start the run (every node has a predecessor)"),
    "unreachable_node": ((SPEC,), "no path from an entry node reaches this node"),
    "cycle_without_exit": ((SPEC,), "a cycle has no way out (no condition or switch port "
                           "leading outside it)"),
    "cycle_multiple_entries": ((SPEC,), "a cycle is entered at several nodes; enter a loop "
                               "through exactly one"),
    "cycle_exit_not_branch": ((SPEC,), "an edge leaves a loop from a node that would "
                              "leave on every pass; leave through a branching node"),
    "port_never_fires": ((SPEC,), "an edge leaves a node's `timeout` port, but the node "
                         "never times out"),
    "missing_timeout": ((SPEC,), "an approval routes its timeout (`on_timeout: route`) "
                        "but has no `timeout`"),
    "timeout_not_routed": ((SPEC,), "an approval routes its timeout but no edge leaves "
                           "its `timeout` port"),
    "missing_input": ((SPEC,), "an inline subworkflow requires inputs the node's "
                      "`inputs` do not give"),
    "bad_expression": ((SPEC,), "a template does not parse"),
    "unknown_reference": ((SPEC,), "a template names a node, input or variable that does "
                          "not exist"),
    "unknown_property": ((SPEC,), "a template reads a property its value cannot have"),
    "not_an_ancestor": ((SPEC,), "a template reads a node that cannot have run before it"),
    "conditional_reference": ((SPEC,), "a template reads a node that may not have run "
                              "(on a branch not taken); guard it with `default`"),
    "secret_not_allowed": ((SPEC,), "`secrets.*` read outside the fields that may use "
                           "them (http fields, tool args, an llm node's `base_url` and "
                           "`provider_options`)"),
    "type_mismatch": ((SPEC, RUN), "a value is declared with a type its place cannot "
                      "take (a map's items, a switch case that can never match)"),
    "invalid_json_schema": ((SPEC,), "a JSON Schema in the spec is not valid"),
    "duplicate_case": ((SPEC,), "a switch case repeats another case or the default port"),
    "invalid_cron": ((SPEC, RUN), "a cron expression does not parse"),
    "invalid_timestamp": ((SPEC, RUN), "an `until` is not an ISO 8601 time"),
    "invalid_subworkflow": ((SPEC, RUN), "the child workflow of a subworkflow node is "
                            "not a valid spec"),
    "approval_may_never_decide": ((SPEC,), "an approval's thresholds cannot be reached by "
                                  "its approvers"),
    "invalid_file_input": ((SPEC,), "a `format: file` input declared with another type or "
                           "with string keywords"),
    "unsupported_file_input": ((SPEC,), "a `format: file` input where no value could be "
                               "resolved (inside `anyOf`, `$defs`, ...)"),
    "invalid_allow_host": ((SPEC,), "an http node's `allow_hosts` entry is malformed"),
    "invalid_base_url": ((SPEC, RUN), "an llm node's `base_url` is not an http(s) URL"),
    "unknown_provider": ((SPEC, RUN), "an llm node's `provider` is not a provider"),
    "unknown_provider_option": ((SPEC,), "a `provider_options` key the provider does not "
                                "take"),
    "llm_invalid_config": ((SPEC, RUN), "the provider's model could not be set up from "
                           "the node's settings"),
    "invalid_memory_key": ((SPEC, RUN), "an llm node's memory key did not give a string "
                           "or a number"),
    "invalid_memory_source": ((SPEC, RUN), "an `ai_memory` edge's source is not a spec "
                              "node"),
    "duplicate_tool_name": ((SPEC, RUN), "two tools of an llm node have the same name"),
    # -- run and node failures --------------------------------------------------------------
    "node_failed": ((RUN,), "a node failed (the message says why)"),
    "node_timeout": ((RUN,), "a node attempt ran past its `timeout`"),
    "run_limit_exceeded": ((RUN,), "the run passed `limits.timeout` or `limits.max_steps`"),
    "internal_error": ((RUN, API), "a defect in graphwright, logged with its traceback; "
                       "please report it"),
    "expression_error": ((RUN,), "a template failed when evaluated (an undefined value, "
                         "a type error, a limit)"),
    "missing_secret": ((RUN,), "a secret the run reads is not set"),
    "subworkflow_not_found": ((RUN, API), "no saved workflow of that name (and version)"),
    "subworkflow_too_deep": ((RUN,), "subworkflows nest deeper than allowed"),
    "map_item_failed": ((RUN,), "an item of a map node failed"),
    "too_many_items": ((RUN,), "a map node's items exceed its `max_items`"),
    "unknown_tool": ((RUN,), "no tool of that name is registered"),
    "invalid_tool_args": ((RUN,), "a tool's arguments do not match its schema"),
    "tool_error": ((RUN,), "a tool raised an error"),
    "approval_timeout": ((RUN,), "an approval was not decided in time"),
    "attempt_replayed": ((RUN,), "an llm node's replayed attempt met a step of a later "
                         "attempt (handled internally by a retry)"),
    "llm_replay_mismatch": ((RUN,), "an llm node's saved steps do not match the ones it "
                            "replays (a checkpoint of an older release)"),
    "llm_auth_failed": ((RUN,), "the provider refused the API key"),
    "llm_rate_limited": ((RUN,), "the provider rate-limited the call (retried per the "
                         "node's retry policy, honouring Retry-After)"),
    "llm_timeout": ((RUN,), "the provider did not answer in time"),
    "llm_connection_error": ((RUN,), "the provider could not be reached"),
    "llm_server_error": ((RUN,), "the provider answered with a server error"),
    "llm_invalid_request": ((RUN,), "the provider refused the request as invalid"),
    "llm_model_not_found": ((RUN,), "the provider does not know the model"),
    "llm_context_overflow": ((RUN,), "the conversation is longer than the model's context"),
    "llm_error": ((RUN,), "another error from the provider"),
    "invalid_model_output": ((RUN,), "the model's structured output did not match the "
                             "schema, also after one repair"),
    "invalid_messages": ((RUN,), "an llm node's `messages` are not a list of role and "
                         "content"),
    "max_iterations_exceeded": ((RUN,), "an llm node's agent loop used `max_iterations` "
                                "model calls"),
    "memory_unavailable": ((RUN,), "an llm node has memory but the graph runs without a "
                           "store (outside `WorkflowRuntime`)"),
    "http_status": ((RUN,), "an http node got a status it does not accept"),
    "http_error": ((RUN,), "an http request failed (connection, TLS, protocol)"),
    "http_timeout": ((RUN,), "an http request did not finish in time"),
    "ssrf_blocked": ((RUN,), "an http request would reach a private, loopback or metadata "
                     "address"),
    "host_not_allowed": ((RUN,), "an http request's host is not in the node's "
                         "`allow_hosts`"),
    "invalid_url": ((RUN, SPEC), "an http URL is not a valid http(s) URL"),
    "invalid_header": ((RUN,), "an http header name or value is invalid"),
    "invalid_query": ((RUN,), "http query parameters are not an object of strings"),
    "invalid_body": ((RUN,), "an http body cannot be sent as given"),
    "conflicting_body": ((RUN, SPEC), "an http node has both `json` and `body`"),
    "invalid_json_response": ((RUN,), "an http response said JSON but did not parse"),
    "response_too_large": ((RUN,), "an http response is larger than `max_response_bytes`"),
    # -- API problems -----------------------------------------------------------------------
    "graphwright_error": ((API,), "an error without a more specific code"),
    "invalid_request": ((API,), "the request does not match the endpoint's schema; "
                        "`errors` lists each problem"),
    "invalid_argument": ((API,), "a parameter's value is not allowed"),
    "invalid_input": ((API, RUN), "one input value (or file reference) is not valid"),
    "invalid_inputs": ((API, RUN), "the inputs do not match the workflow's input schema"),
    "unknown_file": ((API, RUN), "a file reference names no file the caller has"),
    "invalid_cursor": ((API,), "a page cursor is malformed or from another listing"),
    "invalid_configuration": ((API, RUN), "a setting of the server or CLI is invalid"),
    "invalid_response": ((API,), "a response to a paused run (approval, input, signal) "
                         "was refused; the run stays paused"),
    "unauthenticated": ((API,), "no valid API key or token"),
    "forbidden": ((API,), "authenticated, but not allowed to do this"),
    "not_found": ((API,), "no such object for this caller (another user's answers the "
                  "same)"),
    "run_not_found": ((API,), "no such run for this caller"),
    "conflict": ((API,), "the request conflicts with the object's state"),
    "name_taken": ((API,), "a workflow of that name exists in the namespace"),
    "stale_revision": ((API,), "the draft changed since `expected_revision`"),
    "idempotency_key_reused": ((API,), "the idempotency key was used for another request"),
    "invalid_run_state": ((API,), "the run is not in a state that allows this"),
    "invalid_transition": ((API,), "the status change is not allowed"),
    "run_not_cancellable": ((API,), "only queued, running or paused runs can be cancelled"),
    "approval_not_pending": ((API,), "the approval has been decided or withdrawn"),
    "already_responded": ((API,), "this approver has responded already"),
    "not_an_approver": ((API,), "the caller is not among the approval's approvers"),
    "not_the_responder": ((API,), "the paused step asked someone else"),
    "payload_too_large": ((API,), "the request body is larger than allowed"),
    "secrets_key_error": ((API,), "secrets cannot be used: no key, or a key that does not "
                          "decrypt them"),
}


class UnregisteredCodeWarning(UserWarning):
    """An error code not in ``CODES``: a client could not look it up."""


def check_code(code: str) -> str:
    """``code``, after warning when it is not registered."""
    if code not in CODES:
        warnings.warn(f"error code {code!r} is not in workflow_compiler.error_codes.CODES",
                      UnregisteredCodeWarning, stacklevel=3)
    return code


def render_markdown() -> str:
    """``docs/errors.md``."""
    titles = {SPEC: "Spec problems", RUN: "Run and node failures", API: "API problems"}
    where = {SPEC: "a spec's `errors`", RUN: "`run.error`, `node.failed`",
             API: "a problem's `code`"}
    lines = ["# Error codes", "",
             "Generated from `workflow_compiler/error_codes.py` "
             "(`tests/test_error_codes.py` keeps the two equal). A code keeps its meaning "
             "once published. Where: " + "; ".join(f"**{k}**: {v}" for k, v in where.items())
             + ".", ""]
    for kind in (SPEC, RUN, API):
        lines += [f"## {titles[kind]}", "", "| code | also in | meaning |", "|---|---|---|"]
        for code, (kinds, meaning) in CODES.items():
            if kinds[0] == kind:
                also = ", ".join(k for k in kinds[1:]) or ""
                lines.append(f"| `{code}` | {also} | {meaning} |")
        lines.append("")
    return "\n".join(lines)
