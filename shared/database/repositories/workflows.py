"""Workflows and namespaces. A workflow's name is unique within its owner's namespace;
namespaces come into being when first used."""

from __future__ import annotations

import builtins
from datetime import datetime
from typing import Any
from uuid import UUID

from tortoise.exceptions import IntegrityError
from tortoise.expressions import Q
from tortoise.transactions import in_transaction

from shared.database.entities import NamespaceInfo, Page, WorkflowInfo
from shared.database.errors import ConflictError, NameTakenError, NotFoundError
from shared.database.models import Draft, Namespace, Run, Workflow
from shared.database.repositories._common import (
    WORKFLOW_NAME_PATTERN,
    as_uuid,
    check_limit,
    check_name,
    decode_cursor,
    encode_cursor,
    utcnow,
    uuid_key,
)

DEFAULT_NAMESPACE = "default"
ACTIVE_RUN_STATUSES = ("queued", "running", "paused")


def workflow_info(workflow: Workflow, namespace: str) -> WorkflowInfo:
    return WorkflowInfo(id=workflow.id, namespace=namespace, name=workflow.name,
                        description=workflow.description, created_at=workflow.created_at,
                        updated_at=workflow.updated_at)


class WorkflowsRepository:
    async def create(
        self, owner_id: UUID, name: str, *, namespace: str = DEFAULT_NAMESPACE,
        description: str = "", spec: dict[str, Any] | None = None,
    ) -> WorkflowInfo:
        """A workflow with its draft (revision 0 when empty, 1 when ``spec`` is given)."""
        check_name(name, "workflow name", WORKFLOW_NAME_PATTERN)
        space = await self._namespace(owner_id, namespace)
        try:
            async with in_transaction():
                workflow = await Workflow.create(owner_id=owner_id, namespace_id=space.id,
                                                 name=name, description=description)
                await Draft.create(owner_id=owner_id, workflow_id=workflow.id, spec=spec,
                                   revision=0 if spec is None else 1)
        except IntegrityError:
            raise NameTakenError(
                f"a workflow named {name!r} already exists in namespace {namespace!r}",
                details={"namespace": namespace, "name": name}) from None
        return workflow_info(workflow, space.name)

    async def get(self, owner_id: UUID, workflow_id: UUID | str) -> WorkflowInfo:
        workflow = await self._row(owner_id, workflow_id)
        return workflow_info(workflow, workflow.namespace.name)

    async def get_by_name(self, owner_id: UUID, namespace: str, name: str) -> WorkflowInfo:
        workflow = await Workflow.get_or_none(
            owner_id=owner_id, namespace__name=namespace, name=name,
        ).select_related("namespace")
        if workflow is None:
            raise NotFoundError("workflow", f"{namespace}/{name}")
        return workflow_info(workflow, workflow.namespace.name)

    async def list(
        self, owner_id: UUID, *, namespace: str | None = None, limit: int = 50,
        cursor: str | None = None,
    ) -> Page[WorkflowInfo]:
        """Newest first."""
        check_limit(limit)
        query = Workflow.filter(owner_id=owner_id).select_related("namespace")
        if namespace is not None:
            query = query.filter(namespace__name=namespace)
        if cursor is not None:
            moment, key = decode_cursor(cursor, uuid_key)
            query = query.filter(Q(created_at__lt=moment) | Q(created_at=moment, id__lt=key))
        rows = await query.order_by("-created_at", "-id").limit(limit + 1)
        items = [workflow_info(w, w.namespace.name) for w in rows[:limit]]
        more = len(rows) > limit
        return Page(items=items, next_cursor=encode_cursor(rows[limit - 1].created_at,
                                                           rows[limit - 1].id) if more else None)

    async def update(
        self, owner_id: UUID, workflow_id: UUID | str, *, name: str | None = None,
        description: str | None = None, namespace: str | None = None,
    ) -> WorkflowInfo:
        workflow = await self._row(owner_id, workflow_id)
        space_name = workflow.namespace.name
        if name is not None:
            workflow.name = check_name(name, "workflow name", WORKFLOW_NAME_PATTERN)
        if description is not None:
            workflow.description = description
        if namespace is not None and namespace != space_name:
            space = await self._namespace(owner_id, namespace)
            workflow.namespace_id, space_name = space.id, space.name
        try:
            await workflow.save(update_fields=["name", "description", "namespace_id",
                                               "updated_at"])
        except IntegrityError:
            raise NameTakenError(
                f"a workflow named {workflow.name!r} already exists in namespace "
                f"{space_name!r}", details={"namespace": space_name, "name": workflow.name},
            ) from None
        return workflow_info(workflow, space_name)

    async def delete(self, owner_id: UUID, workflow_id: UUID | str) -> None:
        """Deletes the workflow with its draft, versions and runs (their steps, events and
        approvals). Refused while a run of it is queued, running or paused."""
        workflow = await self._row(owner_id, workflow_id)
        if await Run.filter(workflow_id=workflow.id, status__in=ACTIVE_RUN_STATUSES).exists():
            raise ConflictError(
                f"workflow {workflow.name!r} has queued, running or paused runs; cancel them "
                "before deleting it", details={"reason": "active_runs"})
        await workflow.delete()

    async def list_namespaces(self, owner_id: UUID) -> builtins.list[NamespaceInfo]:
        spaces = await Namespace.filter(owner_id=owner_id).order_by("name")
        return [NamespaceInfo.model_validate(s) for s in spaces]

    async def touch(self, workflow_id: UUID, moment: datetime | None = None) -> None:
        await Workflow.filter(id=workflow_id).update(updated_at=moment or utcnow())

    # -- internals ---------------------------------------------------------------------

    @staticmethod
    async def _row(owner_id: UUID, workflow_id: UUID | str) -> Workflow:
        workflow = await Workflow.get_or_none(
            id=as_uuid(workflow_id, "workflow"), owner_id=owner_id).select_related("namespace")
        if workflow is None:
            raise NotFoundError("workflow", workflow_id)
        return workflow

    @staticmethod
    async def _namespace(owner_id: UUID, name: str) -> Namespace:
        check_name(name, "namespace")
        space = await Namespace.get_or_none(owner_id=owner_id, name=name)
        if space is not None:
            return space
        try:
            return await Namespace.create(owner_id=owner_id, name=name)
        except IntegrityError:  # created concurrently
            return await Namespace.get(owner_id=owner_id, name=name)


async def owned_workflow(owner_id: UUID, workflow_id: UUID | str) -> Workflow:
    """The caller's workflow row, for the other repositories of this aggregate."""
    workflow = await Workflow.get_or_none(id=as_uuid(workflow_id, "workflow"), owner_id=owner_id)
    if workflow is None:
        raise NotFoundError("workflow", workflow_id)
    return workflow
