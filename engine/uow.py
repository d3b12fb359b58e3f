"""A unit of work: one transaction, one instant, and the workflows it has changed.

Everything a step writes — instance state, tasks, timers, audit events, notices — goes
through one session and commits together. If anything fails, the transaction rolls back
and every workflow object the step touched in memory is dropped from the cache, so the
next step reads the instance exactly as it was stored.
"""

from datetime import datetime

from sqlalchemy.exc import OperationalError
from sqlalchemy.orm.exc import StaleDataError

from . import audit, driver_sql, row_writes
from .errors import Conflict


class UnitOfWork:
    def __init__(
        self, engine, now: datetime | None = None, read_only: bool = False, one_statement=False
    ):
        self.engine = engine
        self._fixed_now = now
        self.read_only = read_only  # a read: no write lock taken, nothing committed
        self.one_statement = one_statement  # a read of one statement: no transaction needed
        self.session = None
        self.now: datetime | None = None
        # instance id -> workflow loaded (and perhaps changed) in this unit
        self.workflows: dict[str, object] = {}
        self.instances: dict[str, object] = {}
        self.new_timer_dues: list[datetime] = []

    def __enter__(self):
        self.session = self.engine.db.session(self.read_only, self.one_statement)
        self.now = self._fixed_now or self.engine.clock.now()
        return self

    def __exit__(self, exc_type, exc, tb):
        try:
            if exc_type is None and self.read_only:
                self.workflows.clear()
                self._end_read()
            elif exc_type is None:
                self.commit()
            else:
                self.rollback()
                if isinstance(exc, StaleDataError):
                    raise Conflict("the instance was changed by someone else; try again") from None
        finally:
            self.session.close()
        return False

    def commit(self) -> None:
        try:
            with driver_sql.pipelined(self.session):
                updates = row_writes.flush_step_rows(self.session)
                self.write_pending()
            row_writes.check_versions(updates)
            self.session.commit()
        except StaleDataError:
            self.rollback()
            raise Conflict(
                "the instance was changed by someone else; reload and try again"
            ) from None
        except OperationalError as exc:
            self.rollback()
            if "locked" in str(exc).lower():
                raise Conflict("the database is busy; try again") from None
            raise
        for instance_id, workflow in self.workflows.items():
            instance = self.instances[instance_id]
            self.engine.cache.put(instance_id, instance.lock_version, workflow)
        self.workflows.clear()
        if self.new_timer_dues:
            earliest = min(self.new_timer_dues)
            self.new_timer_dues.clear()
            for listener in self.engine.timer_listeners:
                listener(earliest)

    def _end_read(self) -> None:
        """On PostgreSQL, end a read's transaction with COMMIT: for a read-only transaction
        the same as a rollback, but psycopg keeps its prepared statements (after a ROLLBACK
        it deallocates them all, one more round trip, and prepares them again later).
        Nothing read is expired (expire_on_commit is off). A read that changed an object
        by mistake is rolled back, as on SQLite, where closing rolls back whatever a read
        flushed."""
        session = self.session
        if self.engine.db.is_sqlite or not session.in_transaction():
            return
        if not (session.new or session.dirty or session.deleted):
            session.commit()

    def rollback(self) -> None:
        self.session.rollback()
        self.discard_pending()
        self.new_timer_dues.clear()
        self.forget(list(self.workflows))

    def write_pending(self) -> None:
        """Send what the steps so far left for the commit: their deferred row writes, then
        their audit events (the commit, or a batch of steps before its savepoint ends)."""
        row_writes.write_deferred(self.session)
        audit.write_pending(self.session)

    def discard_pending(self) -> None:
        """Forget what the steps since the last `write_pending` left for the commit: they
        were rolled back (the whole unit, or to a savepoint)."""
        row_writes.discard_deferred(self.session)
        audit.discard_pending(self.session)

    def forget(self, instance_ids) -> None:
        """Drop these instances' workflows, here and from the engine's cache: steps that
        were rolled back changed them in memory only."""
        for instance_id in instance_ids:
            self.engine.cache.drop(instance_id)
            self.workflows.pop(instance_id, None)
            self.instances.pop(instance_id, None)
