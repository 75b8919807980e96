"""The FastAPI application: ``create_app(settings)``.

Start-up connects the service database (applying migrations), opens the LangGraph
checkpointer and memory store the settings name, and builds the one ``WorkflowRuntime``
every request shares; shutdown closes them in reverse. Routers are thin: they parse,
call a service in ``api.services`` and return what it returns.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager

from fastapi import FastAPI

from api.auth import Authenticator
from api.body_limit import BodyLimit, BodyLimitMiddleware
from api.metrics import HttpMetricsMiddleware, ServiceMetrics
from api.problems import COMMON_RESPONSES, install_problem_handlers
from api.routers import ROUTERS
from api.routers.files import UPLOAD_PATH, upload_limit
from api.run_owner import OwnerScopedFileContents, OwnerScopedResolver, OwnerScopedSecrets
from api.state import ServiceState
from shared.config import Settings, get_settings
from shared.security.key_file import with_embedded_secrets_key

API_PREFIX = "/v1"


@asynccontextmanager
async def open_service(settings: Settings) -> AsyncIterator[ServiceState]:
    """Everything a running service holds, opened in order and closed in reverse."""
    from shared.database import close_db, init_db
    from shared.database.run_store import TortoiseRunStore
    from workflow_compiler.compiler.cache import WorkflowCompiler
    from workflow_compiler.nodes.base import ValidationContext
    from workflow_compiler.runtime.checkpointers import open_checkpointer
    from workflow_compiler.runtime.retention import Retention
    from workflow_compiler.runtime.runtime import WorkflowRuntime
    from workflow_compiler.runtime.stores import open_store
    from workflow_compiler.services import RuntimeServices
    from workflow_compiler.tools.file_tools import file_tools
    from workflow_compiler.tools.registry import default_tool_registry

    settings.data_dir.mkdir(parents=True, exist_ok=True)
    async with AsyncExitStack() as stack:
        await init_db(settings.database_url, pool_max=settings.database_pool_max)
        stack.push_async_callback(close_db)
        checkpointer = await stack.enter_async_context(
            open_checkpointer(settings.checkpointer_url,
                              pool_max=settings.checkpointer_pool_max))
        memory = await stack.enter_async_context(open_store(settings.checkpointer_url))
        tools = default_tool_registry()
        for tool in file_tools(OwnerScopedFileContents()):  # the caller's uploads, by id
            tools.register(tool)
        services = RuntimeServices(tools=tools, secrets=OwnerScopedSecrets(settings),
                                   resolver=OwnerScopedResolver())
        compiler = WorkflowCompiler(
            context=ValidationContext(tool_names=services.tools.names()))
        runtime = WorkflowRuntime(checkpointer=checkpointer, store=TortoiseRunStore(),
                                  services=services, compiler=compiler, memory_store=memory,
                                  durability=settings.checkpoint_durability,
                                  retention=Retention(mode=settings.checkpoint_retention))
        yield ServiceState(settings=settings, runtime=runtime,
                           authenticator=Authenticator(settings))


def create_app(settings: Settings | None = None) -> FastAPI:
    # from the environment: on embedded defaults, with the data directory's secrets key
    settings = settings or with_embedded_secrets_key(get_settings())
    metrics = ServiceMetrics()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with open_service(settings) as state:
            app.state.service = state
            app.state.authenticator = state.authenticator
            unsubscribe = state.runtime.subscribe(metrics.on_event)
            try:
                yield
            finally:
                unsubscribe()

    app = FastAPI(
        title="graphwright",
        version=_version(),
        summary="Compile JSON workflow specs into LangGraph graphs and run them over REST.",
        lifespan=lifespan,
        responses=COMMON_RESPONSES,
    )
    app.state.metrics = metrics
    # the body limit inside the metrics, so that its 413s are counted too
    app.add_middleware(
        BodyLimitMiddleware, default=BodyLimit(
            settings.max_request_bytes, f"a request body may have at most "
            f"{settings.max_request_bytes} bytes (GRAPHWRIGHT_MAX_REQUEST_BYTES)"),
        routes={("POST", API_PREFIX + UPLOAD_PATH): upload_limit(settings.max_upload_bytes)})
    app.add_middleware(HttpMetricsMiddleware, metrics=metrics)
    install_problem_handlers(app)
    for router, prefixed in ROUTERS:
        app.include_router(router, prefix=API_PREFIX if prefixed else "")
    return app


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("graphwright")
    except PackageNotFoundError:
        return "0.0.0"
