"""A unit of work: one transaction, one instant, and the workflows it has changed.

Everything a step writes — instance state, tasks, timers, audit events, notices — goes
through one session and commits together. If anything fails, the transaction rolls back
and every workflow object the step touched in memory is dropped from the cache, so the
next step reads the instance exactly as it was stored.
"""

from datetime import datetime

from sqlalchemy.exc import OperationalError
from sqlalchemy.orm.exc import StaleDataError

from . import audit
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
                # Closing ends the transaction; a rollback would also expire what was
                # read, and the caller still uses it.
                self.workflows.clear()
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
            audit.write_pending(self.session)
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

    def rollback(self) -> None:
        self.session.rollback()
        self.new_timer_dues.clear()
        for instance_id in self.workflows:
            self.engine.cache.drop(instance_id)
        self.workflows.clear()
