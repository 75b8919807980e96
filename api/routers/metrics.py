"""``/metrics`` in the Prometheus text format.

Open by default, because the service binds 127.0.0.1 by default, where only local
processes (a Prometheus agent on the same host) can reach it. Before exposing the service
on a network, set ``GRAPHWRIGHT_METRICS_TOKEN`` (scrapers then send ``Authorization:
Bearer <token>``) or turn the endpoint off with ``GRAPHWRIGHT_METRICS_ENABLED=false``.
User API keys are deliberately not accepted here: metrics are operator data.
"""

from __future__ import annotations

import hmac

from fastapi import APIRouter, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST

from api.metrics import ServiceMetrics
from api.problems import AuthenticationError
from api.state import service_state
from shared.database.errors import NotFoundError

router = APIRouter(tags=["health"])


@router.get("/metrics", response_class=Response,
            responses={200: {"description": "Prometheus text exposition format",
                             "content": {"text/plain": {"schema": {"type": "string"}}}}},
            summary="Prometheus metrics (open unless GRAPHWRIGHT_METRICS_TOKEN is set)")
async def metrics(request: Request) -> Response:
    settings = service_state(request).settings
    if not settings.metrics_enabled:
        raise NotFoundError("route", "/metrics")
    if settings.metrics_token is not None:
        expected = f"Bearer {settings.metrics_token.get_secret_value()}"
        given = request.headers.get("authorization", "")
        if not hmac.compare_digest(given.encode(), expected.encode()):
            raise AuthenticationError("/metrics needs 'Authorization: Bearer "
                                      "<GRAPHWRIGHT_METRICS_TOKEN>'")
    registry: ServiceMetrics = request.app.state.metrics
    return Response(await registry.render(), media_type=CONTENT_TYPE_LATEST)
