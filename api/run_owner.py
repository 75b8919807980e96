"""Whose secrets a run may read.

One runtime serves every user of the service, but ``{{ secrets.name }}`` must resolve to
the run owner's secret. The service wraps each runtime call (start, resume, signal,
cancel, fork) in ``acting_for(owner_id)``; LangGraph runs nodes in tasks created inside
that call, which copy the context, so ``OwnerScopedSecrets`` sees the owner there.
Outside any ``acting_for`` no secret resolves (the node fails with ``missing_secret``),
which is the safe default.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from uuid import UUID

from shared.config import Settings
from shared.database.errors import NotFoundError
from shared.database.repositories import SecretsRepository
from shared.security.encryption import SecretsKeyError
from workflow_compiler.errors import SubworkflowNotFoundError

_owner: ContextVar[UUID | None] = ContextVar("graphwright_run_owner", default=None)


@contextmanager
def acting_for(owner_id: UUID) -> Iterator[None]:
    token = _owner.set(owner_id)
    try:
        yield
    finally:
        _owner.reset(token)


def current_owner() -> UUID | None:
    return _owner.get()


@dataclass(slots=True)
class OwnerScopedSecrets:
    """A ``SecretsProvider`` over the service's encrypted secrets of the acting owner."""

    settings: Settings

    async def get(self, name: str) -> str | None:
        owner = _owner.get()
        if owner is None:
            return None
        try:
            repository = SecretsRepository.from_settings(self.settings)
        except SecretsKeyError:
            return None  # no key configured: no secrets stored either
        return await repository.reveal_for_run(owner, name)


@dataclass(slots=True)
class OwnerScopedFileContents:
    """A ``FileContents`` over the acting owner's uploads, by the descriptor's id; the
    bytes' location comes from the database, never from the descriptor."""

    async def locate(self, descriptor: Mapping[str, Any]) -> Path | None:
        from shared.database.repositories import FilesRepository

        owner, file_id = _owner.get(), descriptor.get("id")
        if owner is None or not isinstance(file_id, str):
            return None
        try:
            info = await FilesRepository().get(owner, UUID(file_id))
        except (ValueError, NotFoundError):
            return None
        return Path(info.storage_path)


@dataclass(slots=True)
class OwnerScopedResolver:
    """A ``SubworkflowResolver`` over the acting owner's saved workflows: ``name`` or
    ``namespace/name``, at ``version`` or the published (else latest) one."""

    async def resolve(self, name: str, version: int | None) -> dict[str, Any]:
        from shared.database.repositories import VersionsRepository
        from shared.database.repositories.workflows import DEFAULT_NAMESPACE

        owner = _owner.get()
        if owner is None:
            raise SubworkflowNotFoundError(f"no workflow named {name!r}: no owner in scope")
        namespace, _, short = name.rpartition("/")
        try:
            found = await VersionsRepository().resolve_by_name(
                owner, namespace or DEFAULT_NAMESPACE, short, version)
        except NotFoundError as exc:
            raise SubworkflowNotFoundError(
                f"no saved workflow {name!r}" + (f" version {version}" if version else "")
                + f": {exc.message}") from None
        return dict(found.spec)
