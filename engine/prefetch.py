"""Workflows loaded ahead of their timers: while a worker waits, it reads the instances
whose timers fall due soon, so that at due time the sweep is left with their steps alone.

Each workflow is valid only at the lock_version it was read at: a step anywhere else
makes it miss, never wrong. The store is bounded by the size of the stored states it
holds, and each prefetch keeps only what is still due soonest.
"""

import threading
import weakref
from datetime import UTC

from sqlalchemy import select
from sqlalchemy.orm import undefer

from . import due_timers
from .models import Instance, Timer

MAX_STATE_BYTES = 32 * 1024 * 1024  # of stored state: about four times that in memory
KEYS = 1000  # due timers listed per query
CHUNK = 100  # workflows read per hold of the sweep lock: what a sweep falling due may wait


class Prefetched:
    def __init__(self):
        self._items: dict[str, tuple[int, int, object]] = {}  # lock_version, size, workflow
        self._lock = threading.Lock()

    def take(self, instance_id: str, lock_version: int):
        with self._lock:
            item = self._items.pop(instance_id, None)
        return item[2] if item is not None and item[0] == lock_version else None

    def size(self, instance_id: str, lock_version: int) -> int | None:
        """The size of the stored state read, if this lock_version is held; else None."""
        with self._lock:
            item = self._items.get(instance_id)
        return item[1] if item is not None and item[0] == lock_version else None

    def put(self, instance_id: str, lock_version: int, size: int, workflow) -> None:
        with self._lock:
            self._items[instance_id] = (lock_version, size, workflow)

    def keep_only(self, instance_ids: set[str]) -> None:
        with self._lock:
            for instance_id in self._items.keys() - instance_ids:
                del self._items[instance_id]

    def __len__(self) -> int:
        return len(self._items)


_STORES: "weakref.WeakKeyDictionary[object, Prefetched]" = weakref.WeakKeyDictionary()


def store(engine) -> Prefetched:
    """The engine's store (one per engine, made when first asked for)."""
    with engine.sweep_lock:
        found = _STORES.get(engine)
        if found is None:
            found = _STORES[engine] = Prefetched()
        return found


def prefetch(engine, until, max_bytes: int = MAX_STATE_BYTES, stopping=lambda: False) -> int:
    """Load the workflows of running instances whose timers fall due by `until`, soonest
    first, until their stored states add up to `max_bytes`; forget those no longer among
    them. Returns how many it read (those already held are not read again). `stopping`
    is asked between chunks: a process that shuts down stops reading.

    Reading holds the sweep lock a chunk at a time, so a sweep that falls due waits for one
    chunk at most, and a read ahead never runs beside a sweep of this process."""
    until = until.astimezone(UTC)  # stored times are UTC, and SQLite compares them as text
    held, wanted, loaded, after, budget = store(engine), set(), 0, None, max_bytes
    while budget > 0 and not stopping():
        with engine.unit_of_work(read_only=True) as uow:
            rows = _due_by(uow.session, until, after)
        if not rows:
            break
        after = rows[-1][2:]
        missing = []
        for instance_id, lock_version, *_ in rows:
            if instance_id in wanted:
                continue  # a second timer of the same instance
            wanted.add(instance_id)
            size = held.size(instance_id, lock_version)
            if size is None:
                missing.append(instance_id)
            else:
                budget -= size
        for first in range(0, len(missing), CHUNK):
            if budget <= 0 or stopping():
                break
            with engine.sweep_lock, engine.unit_of_work(read_only=True) as uow:
                sizes = _read(engine, uow, missing[first : first + CHUNK], held)
            loaded, budget = loaded + len(sizes), budget - sum(sizes)
    with engine.sweep_lock:
        held.keep_only(wanted)
    return loaded


def _due_by(session, until, after) -> list:
    """The next waiting timers due by `until`: (instance id, lock_version, due_at, timer id)."""
    query = due_timers.due_by(
        (Instance.id, Instance.lock_version, Timer.due_at, Timer.id), until, after, KEYS
    )
    return list(session.execute(query))


def _read(engine, uow, instance_ids: list[str], held: Prefetched) -> list[int]:
    """Read these instances' workflows into `held`; return the sizes of their states."""
    query = select(Instance).options(undefer(Instance.state)).where(Instance.id.in_(instance_ids))
    instances = list(uow.session.scalars(query))
    sizes = []
    for instance in instances:
        size = len(instance.state)
        held.put(instance.id, instance.lock_version, size, engine.workflow(uow, instance))
        sizes.append(size)
    return sizes
