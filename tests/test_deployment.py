"""docker-compose.yml and the Dockerfile cannot run here (no Docker), so what can be
checked without it is: the compose file parses, names the services DESIGN lists that
exist so far, passes only settings graphwright knows, and starts a real CLI command."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from click.testing import CliRunner

from shared.config import ENV_PREFIX, Settings
from workflow_compiler.cli.main import _add_commands, cli

ROOT = Path(__file__).resolve().parent.parent


def compose() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    return data


def test_compose_services() -> None:
    services = compose()["services"]
    assert {"postgres", "redis", "api"} <= set(services)
    assert services["api"]["build"] == "."
    assert set(services["api"]["depends_on"]) == {"postgres", "redis"}


def test_compose_passes_only_known_settings() -> None:
    known = {ENV_PREFIX + name.upper() for name in Settings.model_fields}
    environment = compose()["services"]["api"]["environment"]
    unknown = {name for name in environment if name.startswith(ENV_PREFIX)} - known
    assert not unknown, f"settings graphwright does not read: {unknown}"


def test_compose_and_image_commands_exist() -> None:
    _add_commands()
    command = compose()["services"]["api"]["command"]
    assert command[0] == "graphwright"
    result = CliRunner().invoke(cli, [*command[1:2], "--help"])
    assert result.exit_code == 0, result.output
    for option in command[2::2]:
        assert option in result.output
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert 'CMD ["graphwright", "serve"]' in dockerfile
    for package in ("workflow_compiler", "api", "worker", "agents", "shared"):
        assert f"COPY {package} ./{package}" in dockerfile


def test_the_server_gets_uvloop_and_httptools() -> None:
    """uvicorn falls back to asyncio's selector loop and h11 without them, silently; sync
    runs over HTTP then served about half as many per second (bench/README.md)."""
    import uvicorn

    async def app(scope: Any, receive: Any, send: Any) -> None:  # never called
        raise AssertionError

    config = uvicorn.Config(app, loop="auto", http="auto", lifespan="off")
    config.load()
    assert config.http_protocol_class.__name__ == "HttpToolsProtocol"
    factory = config.get_loop_factory()
    assert factory is not None and factory.__module__.startswith("uvloop")
