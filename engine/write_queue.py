"""On SQLite, writers queue on a lock that wakes the next one at once.

Every write transaction takes SQLite's write lock at BEGIN IMMEDIATE (engine/db.py). A
writer that finds it taken waits in SQLite's busy handler, which sleeps and polls in growing
steps (up to 100 ms): under load the lock often sits free while every waiter sleeps. Here a
writer first queues on a lock that blocks in the kernel — a thread lock within the process,
then `flock` on a file beside the database across processes (web workers, the timer
worker, the command line) — and is woken the moment the previous writer's connection goes
back to the pool, after its COMMIT or ROLLBACK. SQLite's own lock still decides; the queue
only orders the writers.
"""

import fcntl
import os
import threading


class WriteQueue:
    def __init__(self, path: str):
        self.path = path
        self._reset()

    def _reset(self) -> None:
        self._mutex = threading.Lock()
        self._fd = None
        self._pid = None
        self._holder = None  # the pool record (its record_info) of the connection holding it
        self._holder_thread = None

    def take(self, record) -> None:
        """Before BEGIN IMMEDIATE on the connection of pool record `record` (its info)."""
        if self._pid not in (None, os.getpid()):  # a forked child: nothing of the parent's
            self._reset()
        if record is None or self._holder is record:
            return  # a later transaction of the connection that holds it
        if self._holder is not None and self._holder_thread == threading.get_ident():
            return  # this thread holds it through another connection: never wait for ourselves
        self._mutex.acquire()
        try:
            fcntl.flock(self._file(), fcntl.LOCK_EX)
        except BaseException:
            self._mutex.release()
            raise
        self._holder, self._holder_thread = record, threading.get_ident()

    def release(self, record) -> None:
        """When the connection of `record` is back in the pool."""
        if self._holder is None or self._holder is not record:
            return
        self._holder = self._holder_thread = None
        try:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
        finally:
            self._mutex.release()

    def _file(self) -> int:
        if self._fd is None:
            self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
            self._pid = os.getpid()
        return self._fd
