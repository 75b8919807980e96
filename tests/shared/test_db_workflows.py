"""Workflows, namespaces, drafts (optimistic concurrency) and versions (dedupe, publish,
archive, resolve), each scoped to its owner."""

from __future__ import annotations

import asyncio
from uuid import UUID, uuid4

import pytest
from helpers.db_objects import transform_spec, unique

from shared.database.errors import (
    ConflictError,
    InvalidArgumentError,
    NameTakenError,
    NotFoundError,
    StaleRevisionError,
)
from shared.database.models import Workflow
from shared.database.repositories import (
    DraftsRepository,
    RunsRepository,
    VersionsRepository,
    WorkflowsRepository,
)
from shared.database.repositories._common import utcnow
from workflow_compiler.validation import spec_hash

workflows = WorkflowsRepository()
drafts = DraftsRepository()
versions = VersionsRepository()


# -- workflows and namespaces ------------------------------------------------------------

async def test_create_get_update_and_list(db: str, alice: UUID) -> None:
    made = await workflows.create(alice, "refunds", namespace="support", description="triage")
    assert (made.namespace, made.name, made.description) == ("support", "refunds", "triage")
    assert await workflows.get(alice, made.id) == made
    assert await workflows.get(alice, str(made.id)) == made
    assert await workflows.get_by_name(alice, "support", "refunds") == made

    renamed = await workflows.update(alice, made.id, name="refunds-v2", description="new",
                                     namespace="billing")
    assert (renamed.namespace, renamed.name, renamed.description) == \
        ("billing", "refunds-v2", "new")
    assert await workflows.get_by_name(alice, "billing", "refunds-v2") == \
        await workflows.get(alice, made.id)
    with pytest.raises(NotFoundError):
        await workflows.get_by_name(alice, "support", "refunds")
    assert [n.name for n in await workflows.list_namespaces(alice)] == ["billing", "support"]


async def test_names_are_unique_per_owner_and_namespace(db: str, alice: UUID, bob: UUID) -> None:
    await workflows.create(alice, "same")
    with pytest.raises(NameTakenError):
        await workflows.create(alice, "same")
    await workflows.create(alice, "same", namespace="other")  # another namespace
    await workflows.create(bob, "same")  # another owner
    other = await workflows.create(alice, "free")
    with pytest.raises(NameTakenError):
        await workflows.update(alice, other.id, name="same")
    assert (await workflows.get(alice, other.id)).name == "free"
    for bad in ("", "a/b", "x" * 129):
        with pytest.raises(InvalidArgumentError):
            await workflows.create(alice, bad)
    with pytest.raises(InvalidArgumentError):
        await workflows.create(alice, "fine", namespace="bad namespace")


async def test_list_is_newest_first_with_cursor_pages(db: str, alice: UUID) -> None:
    names = [f"wf{i:02d}" for i in range(7)]
    for name in names:
        await workflows.create(alice, name, namespace="paged")
    seen: list[str] = []
    cursor = None
    while True:
        page = await workflows.list(alice, namespace="paged", limit=3, cursor=cursor)
        seen.extend(w.name for w in page.items)
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    assert seen == list(reversed(names))
    # equal timestamps: the id breaks the tie, nothing is lost or repeated
    await Workflow.filter(owner_id=alice, namespace__name="paged").update(created_at=utcnow())
    tied: list[str] = []
    cursor = None
    while True:
        page = await workflows.list(alice, namespace="paged", limit=2, cursor=cursor)
        tied.extend(w.name for w in page.items)
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    assert sorted(tied) == names
    with pytest.raises(InvalidArgumentError):
        await workflows.list(alice, limit=0)
    with pytest.raises(InvalidArgumentError):
        await workflows.list(alice, cursor="garbage!")


async def test_delete_removes_everything_but_not_while_runs_are_active(
    db: str, alice: UUID,
) -> None:
    made = await workflows.create(alice, unique("wf"), spec=transform_spec())
    version, _ = await versions.create(alice, made.id)
    runs = RunsRepository()
    run, _ = await runs.create(alice, version_id=version.id)
    with pytest.raises(ConflictError):
        await workflows.delete(alice, made.id)
    await runs.transition(alice, run.id, "cancelled")
    await workflows.delete(alice, made.id)
    with pytest.raises(NotFoundError):
        await workflows.get(alice, made.id)
    with pytest.raises(NotFoundError):
        await runs.get(alice, run.id)
    with pytest.raises(NotFoundError):
        await versions.get(alice, made.id, 1)


async def test_another_users_workflow_does_not_exist_for_you(
    db: str, alice: UUID, bob: UUID,
) -> None:
    made = await workflows.create(alice, "private", spec=transform_spec())
    await versions.create(alice, made.id)
    attempts = [
        workflows.get(bob, made.id),
        workflows.get_by_name(bob, "default", "private"),
        workflows.update(bob, made.id, name="stolen"),
        workflows.delete(bob, made.id),
        drafts.get(bob, made.id),
        drafts.put(bob, made.id, transform_spec(), expected_revision=1),
        versions.create(bob, made.id, transform_spec(text="x")),
        versions.list(bob, made.id),
        versions.get(bob, made.id, 1),
        versions.publish(bob, made.id, 1),
        versions.archive(bob, made.id, 1),
        versions.resolve(bob, made.id),
        versions.resolve_by_name(bob, "default", "private"),
    ]
    for attempt in attempts:
        with pytest.raises(NotFoundError):
            await attempt
    assert (await workflows.list(bob)).items == []
    assert await workflows.list_namespaces(bob) == []
    # ... and nothing changed for its owner
    assert (await workflows.get(alice, made.id)).name == "private"
    assert (await drafts.get(alice, made.id)).revision == 1
    assert [v.status for v in await versions.list(alice, made.id)] == ["draft"]


async def test_malformed_and_unknown_ids_are_not_found(db: str, alice: UUID) -> None:
    for bad in ("nope", str(uuid4())):
        with pytest.raises(NotFoundError):
            await workflows.get(alice, bad)
        with pytest.raises(NotFoundError):
            await drafts.get(alice, bad)


# -- drafts ---------------------------------------------------------------------------------

async def test_draft_revisions_count_saves(db: str, alice: UUID) -> None:
    empty = await workflows.create(alice, unique("wf"))
    draft = await drafts.get(alice, empty.id)
    assert (draft.spec, draft.revision) == (None, 0)
    saved = await drafts.put(alice, empty.id, transform_spec(text="a"), expected_revision=0)
    assert (saved.revision, saved.spec) == (1, transform_spec(text="a"))
    saved = await drafts.put(alice, empty.id, transform_spec(text="b"), expected_revision=1)
    assert saved.revision == 2
    seeded = await workflows.create(alice, unique("wf"), spec=transform_spec())
    assert (await drafts.get(alice, seeded.id)).revision == 1


async def test_a_stale_draft_save_is_refused_and_changes_nothing(db: str, alice: UUID) -> None:
    made = await workflows.create(alice, unique("wf"), spec=transform_spec(text="v1"))
    await drafts.put(alice, made.id, transform_spec(text="v2"), expected_revision=1)
    with pytest.raises(StaleRevisionError) as caught:
        await drafts.put(alice, made.id, transform_spec(text="lost"), expected_revision=1)
    assert caught.value.details == {"expected_revision": 1, "current_revision": 2}
    assert caught.value.code == "stale_revision"
    current = await drafts.get(alice, made.id)
    assert (current.revision, current.spec) == (2, transform_spec(text="v2"))
    with pytest.raises(InvalidArgumentError):
        await drafts.put(alice, made.id, [], expected_revision=2)  # type: ignore[arg-type]


async def test_concurrent_saves_of_one_revision_let_exactly_one_win(
    db: str, alice: UUID,
) -> None:
    made = await workflows.create(alice, unique("wf"), spec=transform_spec())
    results = await asyncio.gather(
        *(drafts.put(alice, made.id, transform_spec(text=str(i)), expected_revision=1)
          for i in range(6)),
        return_exceptions=True)
    winners = [r for r in results if not isinstance(r, BaseException)]
    assert len(winners) == 1
    assert all(isinstance(r, StaleRevisionError) for r in results if r not in winners)
    assert (await drafts.get(alice, made.id)).revision == 2


# -- versions ---------------------------------------------------------------------------------

async def test_versions_are_numbered_and_deduplicated_by_spec_hash(db: str, alice: UUID) -> None:
    made = await workflows.create(alice, unique("wf"), spec=transform_spec(text="draft"))
    first, created = await versions.create(alice, made.id)  # from the draft
    assert (first.number, created, first.status) == (1, True, "draft")
    assert first.spec == transform_spec(text="draft")
    assert first.spec_hash == spec_hash(transform_spec(text="draft"))
    reordered = dict(reversed(list(transform_spec(text="draft").items())))
    again, created = await versions.create(alice, made.id, reordered)
    assert (again.id, created) == (first.id, False)
    second, created = await versions.create(alice, made.id, transform_spec(text="other"),
                                            note="tweak")
    assert (second.number, created, second.note) == (2, True, "tweak")
    listed = await versions.list(alice, made.id)
    assert [v.number for v in listed] == [2, 1]
    assert "spec" not in listed[0].model_dump()
    assert (await versions.get(alice, made.id, 2)).spec == transform_spec(text="other")
    assert (await versions.get_by_id(alice, second.id)) == second


async def test_version_from_an_empty_draft_is_refused(db: str, alice: UUID) -> None:
    made = await workflows.create(alice, unique("wf"))
    with pytest.raises(InvalidArgumentError):
        await versions.create(alice, made.id)
    with pytest.raises(NotFoundError):
        await versions.get(alice, made.id, 1)


async def test_concurrent_version_creation_never_reuses_a_number(db: str, alice: UUID) -> None:
    made = await workflows.create(alice, unique("wf"))
    specs = [transform_spec(text=str(i)) for i in range(5)] * 2  # each one twice
    results = await asyncio.gather(*(versions.create(alice, made.id, s) for s in specs))
    numbers = sorted({v.number for v, _ in results})
    assert numbers == [1, 2, 3, 4, 5]
    assert sum(created for _, created in results) == 5


async def test_publish_keeps_exactly_one_published_version(db: str, alice: UUID) -> None:
    made = await workflows.create(alice, unique("wf"))
    for text in ("1", "2", "3"):
        await versions.create(alice, made.id, transform_spec(text=text))
    published = await versions.publish(alice, made.id, 1)
    assert published.status == "published"
    assert published.published_at is not None
    await versions.publish(alice, made.id, 2)
    statuses = {v.number: v.status for v in await versions.list(alice, made.id)}
    assert statuses == {1: "draft", 2: "published", 3: "draft"}  # superseded: back to draft
    assert [v.number for v in await versions.list(alice, made.id, status="published")] == [2]
    again = await versions.publish(alice, made.id, 2)  # idempotent
    assert again.status == "published"
    with pytest.raises(NotFoundError):
        await versions.publish(alice, made.id, 9)
    with pytest.raises(InvalidArgumentError):
        await versions.list(alice, made.id, status="live")


async def test_concurrent_publishes_leave_one_published(db: str, alice: UUID) -> None:
    made = await workflows.create(alice, unique("wf"))
    for text in "abcd":
        await versions.create(alice, made.id, transform_spec(text=text))
    await asyncio.gather(*(versions.publish(alice, made.id, n) for n in (1, 2, 3, 4)))
    assert len(await versions.list(alice, made.id, status="published")) == 1


async def test_resolve_uses_published_else_latest_not_archived(db: str, alice: UUID) -> None:
    made = await workflows.create(alice, unique("wf"), namespace="ops")
    with pytest.raises(NotFoundError):
        await versions.resolve(alice, made.id)  # nothing to run yet
    for text in ("1", "2", "3"):
        await versions.create(alice, made.id, transform_spec(text=text))
    assert (await versions.resolve(alice, made.id)).number == 3  # latest
    await versions.publish(alice, made.id, 1)
    assert (await versions.resolve(alice, made.id)).number == 1  # published wins
    assert (await versions.resolve(alice, made.id, 2)).number == 2  # explicit number
    assert (await versions.resolve_by_name(alice, "ops", made.name)).number == 1
    assert (await versions.resolve_by_name(alice, "ops", made.name, 3)).number == 3

    archived = await versions.archive(alice, made.id, 1)  # the published one
    assert (archived.status, archived.archived_at is not None) == ("archived", True)
    assert (await versions.resolve(alice, made.id)).number == 3  # latest again
    await versions.archive(alice, made.id, 3)
    assert (await versions.resolve(alice, made.id)).number == 2  # latest not archived
    assert (await versions.resolve(alice, made.id, 3)).status == "archived"  # still by number
    await versions.archive(alice, made.id, 2)
    with pytest.raises(NotFoundError):
        await versions.resolve(alice, made.id)
    revived = await versions.publish(alice, made.id, 3)  # publishing brings one back
    assert (revived.status, revived.archived_at) == ("published", None)
    assert (await versions.resolve(alice, made.id)).number == 3
    with pytest.raises(NotFoundError):
        await versions.resolve_by_name(alice, "ops", "missing")


async def test_resolve_by_name_finds_nothing_no_workflow_could_be(db: str, alice: UUID) -> None:
    """A subworkflow's reference comes from a spec: names past their columns and versions
    past 32 bits are not found, never a driver error (Postgres refuses both)."""
    made = await workflows.create(alice, unique("wf"), namespace="ops")
    await versions.create(alice, made.id, transform_spec())
    assert (await versions.resolve_by_name(alice, "ops", made.name, 1)).number == 1
    for namespace, name, version in (("ops", "x" * 129, None), ("o" * 65, made.name, None),
                                     ("ops", made.name + "\x00", None), ("o/ps", made.name, None),
                                     ("ops", made.name, 2**31), ("ops", made.name, 2**40),
                                     ("ops", made.name, 0), ("ops", made.name, -1)):
        with pytest.raises(NotFoundError):
            await versions.resolve_by_name(alice, namespace, name, version)
