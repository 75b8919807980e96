"""Runs (DESIGN section 4): start a saved workflow or an ad-hoc spec (sync, async,
stream), list and read runs, follow their events, the steps log, cancel, resume, signals,
checkpoints and forks. Thin: parsing and HTTP shapes here, the work in
``api.services.runs``.

The router's lifespan owns the process-wide parts of in-process execution: the set of
run tasks (finished or cancelled cleanly on shutdown) and the live events fan-out.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, FastAPI, Header, Path, Query, Request
from fastapi.responses import Response, StreamingResponse

from api.auth import CurrentUser
from api.problems import PROBLEM_JSON, Problem
from api.services.run_streams import RunStreams
from api.services.runs import (
    STREAMS_KEY,
    TASKS_KEY,
    Launched,
    RunsService,
    runs_service,
)
from api.services.runs_execution import RunTasks
from api.services.runs_models import (
    MAX_INT,
    NO_NUL,
    SSE_MEDIA_TYPE,
    SSE_RESPONSE,
    AdHocRunIn,
    CheckpointDetail,
    CheckpointOut,
    ForkIn,
    ResumeIn,
    RunOut,
    RunOutput,
    RunPage,
    SignalIn,
    StartRunIn,
    StepPage,
)
from api.state import ServiceState
from shared.database.models.run_log import STEP_STATUSES
from shared.database.models.runs import RUN_SOURCES, RUN_STATUSES
from workflow_compiler.runtime.events import RunEvent


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    state: ServiceState = app.state.service
    tasks, streams = RunTasks(state.runtime), RunStreams(state.runtime)
    state.extras[TASKS_KEY], state.extras[STREAMS_KEY] = tasks, streams
    try:
        yield
    finally:
        await tasks.shutdown()
        streams.close()


router = APIRouter(tags=["runs"], lifespan=lifespan)

Service = Annotated[RunsService, Depends(runs_service)]
RunId = Annotated[str, Path(max_length=64, pattern=NO_NUL, description="a run id")]
IdempotencyHeader = Annotated[str | None, Header(
    alias="Idempotency-Key", max_length=255,
    description="same as the body's idempotency_key")]


def _problem(description: str) -> dict[str, Any]:
    return {"model": Problem, "description": description, "content": {PROBLEM_JSON: {}}}


CONFLICT: dict[int | str, dict[str, Any]] = {
    409: _problem("the run is not in a state that allows this")}
STARTED: dict[int | str, dict[str, Any]] = {
    200: {"model": RunOut, "description": "an idempotent repeat: the run the first request "
          "made (sync: once it paused or ended)",
          "content": {"application/json": {}, SSE_MEDIA_TYPE: SSE_RESPONSE["content"][
              SSE_MEDIA_TYPE]}},
    202: {"model": RunOut, "description": "mode=async: the run, queued; it runs in the "
          "background"},
    409: _problem("the idempotency key was used for a different request "
                  "(idempotency_key_reused)"),
}


def _launched(launched: Launched, *, status: int | None = None) -> Response:
    location = {"Location": f"/v1/runs/{launched.run.id}"}
    if launched.stream is not None:
        return _sse(launched.stream, status or 200, location)
    if status is None:
        status = 202 if launched.mode == "async" else 201 if launched.created else 200
    return Response(launched.run.model_dump_json(), status_code=status,
                    media_type="application/json", headers=location)


def _sse(body: AsyncIterator[str], status: int = 200,
         headers: dict[str, str] | None = None) -> StreamingResponse:
    return StreamingResponse(body, status_code=status, media_type=SSE_MEDIA_TYPE, headers={
        "Cache-Control": "no-cache", "X-Accel-Buffering": "no", **(headers or {})})


@router.post(
    "/workflows/{workflow_id}/runs", status_code=201, response_model=RunOut,
    summary="Run a saved workflow",
    responses={**STARTED, 201: {"description": "mode=sync: the run, completed, failed or "
                                "paused; mode=stream: its events (text/event-stream)",
                                "content": {"application/json": {},
                                            SSE_MEDIA_TYPE: SSE_RESPONSE["content"][
                                                SSE_MEDIA_TYPE]}}},
)
async def start_run(
    workflow_id: Annotated[str, Path(max_length=64, pattern=NO_NUL)], body: StartRunIn,
    user: CurrentUser, service: Service, idempotency_key: IdempotencyHeader = None,
) -> Response:
    """Runs the published version, else the latest (or ``version``). Inputs are checked
    against the spec's input schema first (422 with one error per problem)."""
    return _launched(await service.start_saved(user, workflow_id, body, idempotency_key))


@router.post(
    "/runs", status_code=201, response_model=RunOut, summary="Run an ad-hoc spec",
    responses={**STARTED, 201: {"description": "as for a saved workflow",
                                "content": {"application/json": {},
                                            SSE_MEDIA_TYPE: SSE_RESPONSE["content"][
                                                SSE_MEDIA_TYPE]}}},
)
async def start_adhoc_run(body: AdHocRunIn, user: CurrentUser, service: Service,
                          idempotency_key: IdempotencyHeader = None) -> Response:
    """The spec is validated by the compiler: 422 ``invalid_spec`` lists every problem
    (``errors``: code, message, node_id, path, hint)."""
    return _launched(await service.start_adhoc(user, body, idempotency_key))


@router.get("/runs", response_model=RunPage, summary="List runs, newest first")
async def list_runs(
    user: CurrentUser, service: Service,
    workflow_id: Annotated[str | None, Query(max_length=64, pattern=NO_NUL)] = None,
    status: Annotated[Literal[RUN_STATUSES] | None, Query()] = None,  # type: ignore[valid-type]
    source: Annotated[Literal[RUN_SOURCES] | None, Query()] = None,  # type: ignore[valid-type]
    created_after: datetime | None = None,
    created_before: datetime | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 50,
    cursor: Annotated[str | None, Query(max_length=512, pattern=NO_NUL)] = None,
) -> RunPage:
    return await service.list(user, workflow_id=workflow_id, status=status, source=source,
                              created_after=created_after, created_before=created_before,
                              limit=limit, cursor=cursor)


@router.get("/runs/{run_id}", response_model=RunOut, summary="A run")
async def get_run(run_id: RunId, user: CurrentUser, service: Service) -> RunOut:
    return await service.get(user, run_id)


@router.get("/runs/{run_id}/output", response_model=RunOutput,
            summary="A run's outputs, error or pending interrupts")
async def get_run_output(run_id: RunId, user: CurrentUser, service: Service) -> RunOutput:
    return await service.output(user, run_id)


@router.get(
    "/runs/{run_id}/events", response_model=list[RunEvent],
    summary="A run's events: SSE (attach at any time), or JSON",
    responses={200: {"description": "text/event-stream (default): the stored events after "
                     "Last-Event-ID / after, then live ones until the run pauses or ends; "
                     "with Accept: application/json, the stored events as a list",
                     "content": {"application/json": {}, **SSE_RESPONSE["content"]}}},
)
async def run_events(
    run_id: RunId, request: Request, user: CurrentUser, service: Service,
    after: Annotated[int, Query(ge=0, le=MAX_INT,
                                description="replay events after this seq")] = 0,
    limit: Annotated[int, Query(ge=1, le=10_000, description="JSON form only")] = 1000,
    last_event_id: Annotated[int | None, Header(alias="Last-Event-ID", ge=0,
                                                le=MAX_INT)] = None,
) -> Response:
    cursor = last_event_id if last_event_id is not None else after
    if _wants_json(request.headers.get("accept", "")):
        events = await service.event_list(user, run_id, cursor, limit)
        body = b"[" + b",".join(e.model_dump_json().encode() for e in events) + b"]"
        return Response(body, media_type="application/json")
    return _sse(await service.event_stream(user, run_id, cursor))


def _wants_json(accept: str) -> bool:
    return "application/json" in accept and SSE_MEDIA_TYPE not in accept


@router.get("/runs/{run_id}/steps", response_model=StepPage,
            summary="The per-node log, chronological, with durations")
async def run_steps(
    run_id: RunId, user: CurrentUser, service: Service,
    node_id: Annotated[str | None, Query(max_length=512, pattern=NO_NUL)] = None,
    node_type: Annotated[str | None, Query(max_length=32, pattern=NO_NUL)] = None,
    status: Annotated[Literal[STEP_STATUSES] | None, Query()] = None,  # type: ignore[valid-type]
    errors_only: bool = False,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    after_id: Annotated[int | None, Query(ge=0, le=2**63 - 1)] = None,
) -> StepPage:
    return await service.steps_page(user, run_id, node_id=node_id, node_type=node_type,
                                    status=status, errors_only=errors_only, limit=limit,
                                    after_id=after_id)


@router.post("/runs/{run_id}/cancel", response_model=RunOut, responses={
    409: _problem("the run is completed, failed or cancelled (run_not_cancellable)")},
    summary="Cancel a queued, running or paused run")
async def cancel_run(run_id: RunId, user: CurrentUser, service: Service) -> RunOut:
    return await service.cancel(user, run_id)


@router.post(
    "/runs/{run_id}/resume", response_model=RunOut, summary="Answer a pending interrupt",
    responses={**CONFLICT, 202: {"model": RunOut, "description": "mode=async"},
               200: {"description": "mode=sync: the run once it pauses again or ends; "
                     "mode=stream: its events from run.resumed on",
                     "content": {"application/json": {}, **SSE_RESPONSE["content"]}},
               403: _problem("an approval answered in someone else's name "
                             "(not_the_responder) or by someone not among its approvers "
                             "(not_an_approver)")},
)
async def resume_run(run_id: RunId, body: ResumeIn, user: CurrentUser,
                     service: Service) -> Response:
    """A refused response (422 ``invalid_response``) leaves the run paused; a run that is
    not paused answers 409."""
    launched = await service.resume(user, run_id, body)
    return _launched(launched, status=None if launched.mode == "async" else 200)


@router.post("/runs/{run_id}/signals/{signal}", response_model=RunOut, responses=CONFLICT,
             summary="Send a named signal to a paused run")
async def signal_run(run_id: RunId,
                     signal: Annotated[str, Path(max_length=128, pattern=NO_NUL)],
                     user: CurrentUser, service: Service, body: SignalIn | None = None
                     ) -> RunOut:
    """409 when the run is not paused or no node waits for this signal."""
    return await service.signal(user, run_id, signal, body.data if body else None)


@router.get("/runs/{run_id}/checkpoints", response_model=list[CheckpointOut],
            summary="The run's checkpoints, newest first")
async def list_checkpoints(run_id: RunId, user: CurrentUser, service: Service
                           ) -> list[CheckpointOut]:
    return await service.checkpoints(user, run_id)


@router.get("/runs/{run_id}/checkpoints/{checkpoint_id}", response_model=CheckpointDetail,
            summary="One checkpoint with the state saved there")
async def get_checkpoint(run_id: RunId,
                         checkpoint_id: Annotated[str, Path(max_length=128, pattern=NO_NUL)],
                         user: CurrentUser, service: Service) -> CheckpointDetail:
    return await service.checkpoint(user, run_id, checkpoint_id)


@router.post("/runs/{run_id}/fork", status_code=201, response_model=RunOut,
             responses={202: {"model": RunOut, "description": "mode=async"}},
             summary="A new run continuing from one of this run's checkpoints")
async def fork_run(run_id: RunId, body: ForkIn, user: CurrentUser, service: Service
                   ) -> Response:
    return _launched(await service.fork(user, run_id, body))
