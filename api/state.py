"""What the app builds once at start-up and every request shares."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, cast

from fastapi import Request

from shared.config import Settings

if TYPE_CHECKING:
    from api.auth import Authenticator
    from workflow_compiler.runtime.runtime import WorkflowRuntime


@dataclass(slots=True)
class ServiceState:
    settings: Settings
    runtime: WorkflowRuntime
    authenticator: Authenticator
    #: free slots for services that keep process-wide state (metrics, live run streams)
    extras: dict[str, object] = field(default_factory=dict)


def service_state(request: Request) -> ServiceState:
    return cast(ServiceState, request.app.state.service)
