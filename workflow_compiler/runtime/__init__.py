"""The one runtime every caller uses: start, stream, resume, cancel, inspect, fork."""

from workflow_compiler.runtime.events import EVENT_TYPES, RunEvent
from workflow_compiler.runtime.records import PendingInterrupt, RunRecord, RunResult, RunStatus
from workflow_compiler.runtime.runtime import WorkflowRuntime

__all__ = [
    "EVENT_TYPES",
    "PendingInterrupt",
    "RunEvent",
    "RunRecord",
    "RunResult",
    "RunStatus",
    "WorkflowRuntime",
]
