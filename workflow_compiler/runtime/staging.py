"""``StagedSaver``: a new run's checkpoints stay in memory until they matter.

With ``durability="exit"`` LangGraph checkpoints a run once, when it pauses or ends. For a
run that completes and keeps no checkpoints afterwards (``Retention(mode="none")``) even
that one write, and the read LangGraph makes of a fresh thread before it starts, go to the
database for nothing: a short sync run on Postgres spent a third of its CPU on them. So a
fresh run's thread is *staged*: read and written in an in-process ``InMemorySaver``, and
copied to the durable saver, every namespace and every pending write, only when the run
pauses or fails (it will be resumed or forked). The copy is made before the run's store
marks it paused, so another process that sees it paused finds its checkpoint.

A staged thread lives in one process only while its drive runs; a process dying
mid-drive loses it, which ``durability="exit"`` accepts anyway (nothing is written before
the end). Every thread that is not staged (a resume, a fork, history and state reads) goes
straight to the durable saver.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator, Sequence
from typing import Any

from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import (
    BaseCheckpointSaver,
    ChannelVersions,
    Checkpoint,
    CheckpointMetadata,
    CheckpointTuple,
)
from langgraph.checkpoint.memory import InMemorySaver


class StagedSaver(BaseCheckpointSaver[Any]):
    def __init__(self, durable: BaseCheckpointSaver[Any], *,
                 memory: InMemorySaver | None = None, staged: set[str] | None = None) -> None:
        super().__init__(serde=durable.serde)
        self.durable = durable
        self.memory = memory if memory is not None else InMemorySaver(serde=durable.serde)
        self._staged: set[str] = staged if staged is not None else set()

    # -- staging ----------------------------------------------------------------------

    def stage(self, thread_id: str) -> None:
        """Keep ``thread_id`` (a run that has no checkpoint yet) in memory from now on."""
        self._staged.add(thread_id)

    def is_staged(self, thread_id: str) -> bool:
        return thread_id in self._staged

    async def release(self, thread_id: str, *, keep: bool) -> None:
        """End the staging of ``thread_id``: with ``keep``, its checkpoints and pending
        writes move to the durable saver first; either way memory forgets them."""
        if thread_id not in self._staged:
            return
        try:
            if keep:
                await _copy_thread(self.memory, self.durable, thread_id)
        finally:
            self._staged.discard(thread_id)
            await self.memory.adelete_thread(thread_id)

    def _for(self, config: RunnableConfig | None) -> BaseCheckpointSaver[Any]:
        thread = (config or {}).get("configurable", {}).get("thread_id")
        return self.memory if thread in self._staged else self.durable

    # -- BaseCheckpointSaver ------------------------------------------------------------

    @property
    def config_specs(self) -> list[Any]:
        return list(self.durable.config_specs)

    def get_next_version(self, current: Any, channel: None) -> Any:
        return self.durable.get_next_version(current, channel)

    def with_allowlist(self, extra_allowlist: Any) -> StagedSaver:
        durable = self.durable.with_allowlist(extra_allowlist)
        memory = self.memory.with_allowlist(extra_allowlist)
        if durable is self.durable and memory is self.memory:
            return self
        assert isinstance(memory, InMemorySaver)
        return StagedSaver(durable, memory=memory, staged=self._staged)

    def get_tuple(self, config: RunnableConfig) -> CheckpointTuple | None:
        return self._for(config).get_tuple(config)

    async def aget_tuple(self, config: RunnableConfig) -> CheckpointTuple | None:
        return await self._for(config).aget_tuple(config)

    def list(self, config: RunnableConfig | None, *, filter: dict[str, Any] | None = None,
             before: RunnableConfig | None = None, limit: int | None = None,
             ) -> Iterator[CheckpointTuple]:
        return self._for(config).list(config, filter=filter, before=before, limit=limit)

    async def alist(self, config: RunnableConfig | None, *,
                    filter: dict[str, Any] | None = None, before: RunnableConfig | None = None,
                    limit: int | None = None) -> AsyncIterator[CheckpointTuple]:
        async for item in self._for(config).alist(config, filter=filter, before=before,
                                                  limit=limit):
            yield item

    def put(self, config: RunnableConfig, checkpoint: Checkpoint, metadata: CheckpointMetadata,
            new_versions: ChannelVersions) -> RunnableConfig:
        return self._for(config).put(config, checkpoint, metadata, new_versions)

    async def aput(self, config: RunnableConfig, checkpoint: Checkpoint,
                   metadata: CheckpointMetadata, new_versions: ChannelVersions,
                   ) -> RunnableConfig:
        return await self._for(config).aput(config, checkpoint, metadata, new_versions)

    def put_writes(self, config: RunnableConfig, writes: Sequence[tuple[str, Any]],
                   task_id: str, task_path: str = "") -> None:
        self._for(config).put_writes(config, writes, task_id, task_path)

    async def aput_writes(self, config: RunnableConfig, writes: Sequence[tuple[str, Any]],
                          task_id: str, task_path: str = "") -> None:
        await self._for(config).aput_writes(config, writes, task_id, task_path)

    def delete_thread(self, thread_id: str) -> None:
        self.memory.delete_thread(thread_id)
        self.durable.delete_thread(thread_id)

    async def adelete_thread(self, thread_id: str) -> None:
        await self.memory.adelete_thread(thread_id)
        await self.durable.adelete_thread(thread_id)

    async def aprune(self, thread_ids: Sequence[str], *, strategy: str = "keep_latest"
                     ) -> None:
        await self.durable.aprune(thread_ids, strategy=strategy)


async def _copy_thread(source: InMemorySaver, target: BaseCheckpointSaver[Any],
                       thread_id: str) -> None:
    """Every checkpoint of ``thread_id`` in every namespace (subgraphs have their own),
    oldest first so each finds its parent, with its pending writes: a paused step's
    finished parallel tasks and its interrupts live there, and must not run again."""
    found = [item async for item in source.alist({"configurable": {"thread_id": thread_id}})]
    for item in sorted(found, key=lambda t: (t.config["configurable"].get("checkpoint_ns", ""),
                                             t.checkpoint["id"])):
        conf = item.config["configurable"]
        parent = (item.parent_config or {}).get("configurable", {}).get("checkpoint_id")
        into: RunnableConfig = {"configurable": {
            "thread_id": thread_id, "checkpoint_ns": conf.get("checkpoint_ns", ""),
            **({"checkpoint_id": parent} if parent else {})}}
        saved = await target.aput(into, item.checkpoint, item.metadata,
                                  dict(item.checkpoint["channel_versions"]))
        paths = _task_paths(source, thread_id, conf.get("checkpoint_ns", ""),
                            item.checkpoint["id"])
        by_task: dict[str, list[tuple[str, Any]]] = {}
        for task_id, channel, value in item.pending_writes or ():
            by_task.setdefault(task_id, []).append((channel, value))
        for task_id, writes in by_task.items():
            await target.aput_writes(saved, writes, task_id, paths.get(task_id, ""))


def _task_paths(source: InMemorySaver, thread_id: str, namespace: str, checkpoint_id: str
                ) -> dict[str, str]:
    """Task id -> task path of a checkpoint's writes (LangGraph orders pending writes by
    it); ``CheckpointTuple.pending_writes`` leaves the path out."""
    stored = getattr(source, "writes", {}).get((thread_id, namespace, checkpoint_id), {})
    return {entry[0]: entry[3] for entry in stored.values() if len(entry) > 3}
