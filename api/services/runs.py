"""Runs over REST: start (sync, async, stream), read, follow, resume, signal, cancel, fork.

Routers stay thin: they parse, call one method here, and shape the HTTP answer. Every
query goes through the owner-scoped repositories, so another user's run is not found; every
runtime call that executes a run runs as the run's owner (``RunTasks`` wraps it in
``acting_for``), so its ``{{ secrets.x }}`` and subworkflows are the owner's.

Checks made before a run is registered (bad inputs, a bad ad-hoc spec, a reused
idempotency key) leave nothing behind: no queued run waits for an execution that will
never come.
"""

from __future__ import annotations

import asyncio
import builtins
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from fastapi import Request

from api.problems import ForbiddenError
from api.services.file_inputs import with_file_inputs
from api.services.run_streams import RunStreams, sse_body
from api.services.runs_execution import RunTasks
from api.services.runs_models import (
    AdHocRunIn,
    CheckpointDetail,
    CheckpointOut,
    ForkIn,
    ResumeIn,
    RunMode,
    RunOut,
    RunOutput,
    RunPage,
    StartRunIn,
    StepPage,
)
from api.state import ServiceState, service_state
from shared.database.entities import RunInfo, UserInfo
from shared.database.errors import ConflictError, InvalidArgumentError
from shared.database.repositories import (
    EventsRepository,
    RunsRepository,
    StepsRepository,
    VersionsRepository,
)
from shared.database.repositories._common import parse_ts
from shared.database.run_store import TortoiseRunStore
from workflow_compiler.errors import GraphwrightError, RunStateError
from workflow_compiler.runtime.events import RunEvent
from workflow_compiler.runtime.records import TRANSITIONS, RunRecord, RunResult
from workflow_compiler.runtime.runtime import WorkflowRuntime

#: statuses a run may be cancelled from, as the run status machine says
CANCELLABLE = frozenset(s for s, nexts in TRANSITIONS.items() if "cancelled" in nexts)
#: ``state.extras`` keys of the process-wide parts (made by the runs router's lifespan)
TASKS_KEY = "runs.tasks"
STREAMS_KEY = "runs.streams"


class InvalidInputsError(GraphwrightError):
    """The inputs do not match the workflow's input schema (422, one error per problem)."""

    code = "invalid_inputs"


class RunNotCancellableError(RunStateError):
    code = "run_not_cancellable"


class ApproverMismatchError(ForbiddenError):
    code = "not_the_responder"


class NotAnApproverError(ForbiddenError):
    code = "not_an_approver"


def check_approver(name: str, approvers: builtins.list[str]) -> None:
    """403 ``not_an_approver`` unless ``name`` may answer an approval naming ``approvers``
    (anyone may when it names nobody): the inbox and /resume refuse alike, before the
    runtime would (as a generic 422 ``invalid_response``)."""
    if approvers and name not in approvers:
        raise NotAnApproverError(f"{name!r} is not an approver of this approval "
                                 f"(approvers: {', '.join(approvers)})")


def _not_cancellable(run_id: str, status: str) -> RunNotCancellableError:
    """Says which statuses can be cancelled, as the run status machine has them."""
    names = [s for s in TRANSITIONS if s in CANCELLABLE]
    allowed = ", ".join(names[:-1]) + f" or {names[-1]}" if len(names) > 1 else names[0]
    return RunNotCancellableError(
        f"run {run_id} is {status}: only {allowed} runs can be cancelled",
        details={"run_status": status, "cancellable": sorted(CANCELLABLE)})


class AlreadyRespondedError(ConflictError):
    code = "already_responded"


def check_not_responded(name: str, responders: builtins.list[Any]) -> None:
    """409 ``already_responded`` when ``name`` answered this approval before: the inbox
    and /resume refuse alike, before the runtime would (as a generic 422)."""
    if name in responders:
        raise AlreadyRespondedError(f"{name!r} has already responded to this approval")


@dataclass(frozen=True, slots=True)
class Launched:
    """What a start, resume or fork gave: the run as it is now, whether this request
    created it, and for ``mode=stream`` the SSE body to send."""

    run: RunOut
    created: bool
    mode: RunMode
    stream: AsyncIterator[str] | None = None


def out(run: RunInfo) -> RunOut:
    return RunOut.model_validate(run.model_dump())


def _as_driven(run: RunInfo, record: RunRecord) -> RunOut:
    """The run as registered, with what its drive changed: what the runtime just stored,
    so the answer needs no read of the row it wrote."""
    return out(run.model_copy(update={
        "status": record.status, "outputs": record.outputs, "error": record.error,
        "interrupts": record.interrupts, "usage": record.usage, "last_seq": record.last_seq,
        "started_at": parse_ts(record.started_at), "finished_at": parse_ts(record.finished_at),
        "spec_hash": record.spec_hash}))


class RunsService:
    def __init__(self, state: ServiceState) -> None:
        self.runtime: WorkflowRuntime = state.runtime
        tasks, streams = state.extras.get(TASKS_KEY), state.extras.get(STREAMS_KEY)
        assert isinstance(tasks, RunTasks), "the runs router's lifespan makes it"
        assert isinstance(streams, RunStreams), "the runs router's lifespan makes it"
        self.tasks, self.streams = tasks, streams
        self.runs = RunsRepository()
        self.versions = VersionsRepository()
        self.events = EventsRepository()
        self.steps = StepsRepository()

    # -- starting ------------------------------------------------------------------------

    async def start_saved(self, user: UserInfo, workflow_id: str, body: StartRunIn,
                          header_key: str | None) -> Launched:
        """A run of the workflow's published version (else its latest, or ``version``)."""
        key = _idempotency_key(body.idempotency_key, header_key)
        version = await self.versions.resolve(user.id, workflow_id, body.version)
        body = await with_file_inputs(self.runtime, user.id, version.spec, body, key)
        self._check_inputs(version.spec, body.inputs)
        run, created = await self.runs.create(user.id, version=version, inputs=body.inputs,
                                              idempotency_key=key, started=body.mode == "sync")
        return await self._launch(user.id, run, version.spec, created, body.mode)

    async def start_adhoc(self, user: UserInfo, body: AdHocRunIn,
                          header_key: str | None) -> Launched:
        """A run of an unsaved spec: validated by the compiler (422 lists every problem),
        stored with the run (``RunsRepository.create(spec=...)``)."""
        key = _idempotency_key(body.idempotency_key, header_key)
        body = await with_file_inputs(self.runtime, user.id, body.spec, body, key)
        self._check_inputs(body.spec, body.inputs)
        run, created = await self.runs.create(user.id, spec=body.spec, inputs=body.inputs,
                                              idempotency_key=key, started=body.mode == "sync")
        return await self._launch(user.id, run, body.spec, created, body.mode)

    def _check_inputs(self, spec: dict[str, Any], inputs: dict[str, Any]) -> None:
        """Compile (cached by spec hash; ``SpecValidationError`` for a bad spec) and check
        the inputs before anything is stored."""
        errors = self.runtime.compiler.compile(spec).input_errors(inputs, limit=50)
        if errors:
            structured = [_input_error(e) for e in errors]
            raise InvalidInputsError(
                "the inputs do not match the workflow's input schema: "
                + "; ".join(errors[:3]) + (f" (and {len(errors) - 3} more)"
                                           if len(errors) > 3 else ""),
                details={"errors": structured})

    async def _launch(self, owner: UUID, run: RunInfo, spec: dict[str, Any], created: bool,
                      mode: RunMode) -> Launched:
        if not created:  # an idempotent repeat: the first request's run, never a second one
            return await self._attach(owner, run, mode)
        if isinstance(self.runtime.store, TortoiseRunStore):
            self.runtime.store.registered(run, owner)
        if mode == "sync":
            record = await self.tasks.run(owner, run.id, self.runtime.execute(
                spec, run.inputs, run_id=run.id))
            return Launched(_as_driven(run, record), True, mode)
        queued = await self.runtime.enqueue(run.id, {"mode": mode})
        self.tasks.spawn(owner, run.id, self._start_queued(spec, run, queued.seq))
        current = out(run.model_copy(update={"last_seq": queued.seq}))
        stream = self._sse(owner, run.id, 0) if mode == "stream" else None
        return Launched(current, True, mode, stream)

    async def _start_queued(self, spec: dict[str, Any], run: RunInfo, last_seq: int
                            ) -> RunResult | None:
        try:
            return await self.runtime.start(spec, run.inputs, run_id=run.id,
                                            last_seq=last_seq)
        except RunStateError:  # cancelled while it waited: nothing to run
            return None

    async def _attach(self, owner: UUID, run: RunInfo, mode: RunMode) -> Launched:
        if mode == "stream":
            return Launched(out(run), False, mode, self._sse(owner, run.id, 0))
        if mode == "sync" and run.status in ("queued", "running"):
            async for _ in self._follow(owner, run.id, run.last_seq):
                pass  # wait until the first request's execution pauses or ends
            run = await self.runs.get(owner, run.id)
        return Launched(out(run), False, mode)

    # -- reading --------------------------------------------------------------------------

    async def get(self, user: UserInfo, run_id: str) -> RunOut:
        return await self._get(user.id, run_id)

    async def _get(self, owner: UUID, run_id: str) -> RunOut:
        return out(await self.runs.get(owner, run_id))

    async def output(self, user: UserInfo, run_id: str) -> RunOutput:
        run = await self.runs.get(user.id, run_id)
        return RunOutput(run_id=run.id, status=run.status, outputs=run.outputs,
                         error=run.error, interrupts=run.interrupts)

    async def list(
        self, user: UserInfo, *, workflow_id: str | None, status: str | None,
        source: str | None, created_after: datetime | None, created_before: datetime | None,
        limit: int, cursor: str | None,
    ) -> RunPage:
        page = await self.runs.list(
            user.id, workflow_id=workflow_id, status=status, source=source,
            created_after=created_after, created_before=created_before, limit=limit,
            cursor=cursor)
        return RunPage(items=[out(r) for r in page.items], next_cursor=page.next_cursor)

    async def event_list(self, user: UserInfo, run_id: str, after: int, limit: int
                         ) -> builtins.list[RunEvent]:
        return await self.events.list(user.id, run_id, after_seq=after, limit=limit)

    async def event_stream(self, user: UserInfo, run_id: str, after: int
                           ) -> AsyncIterator[str]:
        """Checks the run is the caller's before the first byte (a 404, not a stream)."""
        await self.runs.get(user.id, run_id)
        return self._sse(user.id, run_id, after)

    def _follow(self, owner: UUID, run_id: str, after: int
                ) -> AsyncIterator[RunEvent | None]:
        async def state() -> tuple[str, int]:
            run = await self.runs.get(owner, run_id)
            return run.status, run.last_seq

        async def stored(after_seq: int) -> builtins.list[RunEvent]:
            return await self.events.after(run_id, after_seq)

        return self.streams.follow(run_id, after, state=state, stored=stored)

    def _sse(self, owner: UUID, run_id: str, after: int) -> AsyncIterator[str]:
        return sse_body(self._follow(owner, run_id, after))

    async def steps_page(
        self, user: UserInfo, run_id: str, *, node_id: str | None, node_type: str | None,
        status: str | None, errors_only: bool, limit: int, after_id: int | None,
    ) -> StepPage:
        items = await self.steps.list(user.id, run_id, node_id=node_id, node_type=node_type,
                                      status=status, errors_only=errors_only, limit=limit,
                                      after_id=after_id, peek=True)
        more, items = len(items) > limit, items[:limit]
        return StepPage(items=items, next_after_id=items[-1].id if more else None)

    # -- acting on a run ------------------------------------------------------------------

    async def cancel(self, user: UserInfo, run_id: str) -> RunOut:
        run = await self.runs.get(user.id, run_id)
        if run.status not in CANCELLABLE:
            raise _not_cancellable(run_id, run.status)
        try:
            await self.tasks.run(user.id, run_id, self.runtime.cancel(run_id))
        except RunStateError as exc:  # it ended meanwhile
            current = await self.runs.get(user.id, run_id)
            raise _not_cancellable(run_id, current.status) from exc
        return await self._get(user.id, run_id)

    async def resume(self, user: UserInfo, run_id: str, body: ResumeIn) -> Launched:
        """Answer a pending interrupt. A refused response (422) leaves the run paused: the
        runtime checks it before touching the graph, and that check runs here, in the
        request, before the rest of the drive is handed to a task."""
        run = await self.runs.get(user.id, run_id)
        if run.status != "paused":
            raise RunStateError(f"run {run_id} is {run.status}, not paused",
                                details={"run_status": run.status})
        response = _as_responder(user, run, body.interrupt_id, body.response)
        drive = self.runtime.stream_resume(run_id, response, interrupt_id=body.interrupt_id)
        opened: asyncio.Future[RunEvent] = asyncio.get_running_loop().create_future()
        task = self.tasks.spawn(user.id, run_id, _drive_reporting_first(drive, opened))
        first = await asyncio.shield(opened)
        if body.mode == "sync":
            await asyncio.shield(task)
            return Launched(await self._get(user.id, run_id), False, "sync")
        current = await self._get(user.id, run_id)
        stream = self._sse(user.id, run_id, first.seq - 1) if body.mode == "stream" else None
        return Launched(current, False, body.mode, stream)

    async def signal(self, user: UserInfo, run_id: str, name: str, data: Any) -> RunOut:
        await self.runs.get(user.id, run_id)
        await self.tasks.run(user.id, run_id, self.runtime.signal(run_id, name, data))
        return await self._get(user.id, run_id)

    # -- checkpoints and forks -----------------------------------------------------------

    async def checkpoints(self, user: UserInfo, run_id: str
                          ) -> builtins.list[CheckpointOut]:
        await self.runs.get(user.id, run_id)
        return [CheckpointOut.model_validate(c) for c in await self.runtime.history(run_id)]

    async def checkpoint(self, user: UserInfo, run_id: str, checkpoint_id: str
                         ) -> CheckpointDetail:
        await self.runs.get(user.id, run_id)
        return CheckpointDetail.model_validate(
            await self.runtime.checkpoint(run_id, checkpoint_id))

    async def fork(self, user: UserInfo, run_id: str, body: ForkIn) -> Launched:
        """A new run of the caller's, continuing from a checkpoint of ``run_id``."""
        parent = await self.runs.get(user.id, run_id)
        await self.runtime.checkpoint(run_id, body.checkpoint_id)  # 404 if there is none
        target: dict[str, Any] = {"spec": await self.runs.spec(user.id, run_id),
                                  "workflow_id": parent.workflow_id}
        if parent.version_id is not None:
            version = await self.versions.get_by_id(user.id, parent.version_id)
            if version.spec_hash == parent.spec_hash:
                target = {"version_id": version.id}
        child, _ = await self.runs.create(user.id, inputs=parent.inputs, source=parent.source,
                                          parent_run_id=parent.id, **target)
        work = self.runtime.fork(run_id, body.checkpoint_id, new_run_id=child.id)
        if body.mode == "sync":
            await self.tasks.run(user.id, child.id, work)
            return Launched(await self._get(user.id, child.id), True, "sync")
        self.tasks.spawn(user.id, child.id, work)
        return Launched(out(child), True, "async")


async def runs_service(request: Request) -> RunsService:
    """A FastAPI dependency; async because a plain ``def`` one runs in the thread pool
    (a thread hop on every request)."""
    return RunsService(service_state(request))


def _idempotency_key(body_key: str | None, header_key: str | None) -> str | None:
    if body_key is not None and header_key is not None and body_key != header_key:
        raise InvalidArgumentError(
            "the Idempotency-Key header and the body's idempotency_key differ; send one",
            field="idempotency_key")
    key = body_key if body_key is not None else header_key
    if key is not None and not 1 <= len(key) <= 255:
        raise InvalidArgumentError("an idempotency key has 1 to 255 characters",
                                   field="idempotency_key")
    return key


def _input_error(message: str) -> dict[str, Any]:
    """``"/amount: 'x' is not of type 'number'"`` -> a structured error."""
    path, _, text = message.partition(": ")
    return {"code": "invalid_input", "path": "" if path == "(root)" else path,
            "message": text or message}


def _as_responder(user: UserInfo, run: RunInfo, interrupt_id: str | None, response: Any
                  ) -> Any:
    """An approval answered through /resume is answered by the caller: ``by`` is filled
    in with the caller's name, and naming anyone else is refused (403), as is a caller
    outside the node's ``approvers``."""
    pending = run.interrupts
    if interrupt_id is not None:
        pending = [i for i in pending if interrupt_id in (i.id, i.node_id)]
    if len(pending) != 1 or pending[0].kind != "approval" or not isinstance(response, dict):
        return response  # the runtime explains what is wrong, if anything
    by = response.get("by")
    if by is not None and by != user.name:
        raise ApproverMismatchError(
            f"an approval response is given by the caller ({user.name!r}), not {by!r}")
    approvers = pending[0].payload.get("approvers")
    check_approver(user.name, [str(a) for a in approvers] if isinstance(approvers, list) else [])
    earlier = pending[0].payload.get("responses")
    check_not_responded(user.name, [r.get("by") for r in earlier if isinstance(r, dict)]
                        if isinstance(earlier, list) else [])
    return {**response, "by": user.name}


async def _drive_reporting_first(drive: AsyncIterator[RunEvent],
                                 opened: asyncio.Future[RunEvent]) -> None:
    """Run a drive to its end, telling ``opened`` its first event (by then the runtime
    has accepted the response) or why it refused to start."""
    try:
        first = await anext(drive)
    except Exception as exc:
        opened.set_exception(exc)
        return
    opened.set_result(first)
    async for _ in drive:
        pass
