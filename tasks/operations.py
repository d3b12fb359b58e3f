"""Operating instances: failed ones listed, fixed and retried; suspended and resumed.

Only center staff, the center head and admins operate instances; each action is audited.
"""

from sqlalchemy import select

from engine import audit
from engine.errors import Conflict, Forbidden, InvalidData, ProcessError
from engine.models import HumanTask, Instance
from forms import FormValidationError

from .roles import Actor

OPERATOR_ROLES = frozenset({"center_staff", "center_head", "admin"})


class Operations:
    def __init__(self, engine, tasks):
        self.engine = engine
        self.tasks = tasks

    def failed(self, actor: Actor) -> list[Instance]:
        self._operator(actor)
        with self.engine.unit_of_work() as uow:
            return list(
                uow.session.scalars(
                    select(Instance).where(Instance.status == "failed").order_by(Instance.id)
                )
            )

    def retry(self, actor: Actor, instance_id: str, data=None, patch=None) -> Instance:
        """Run the failed step again: a failed completion with its submission (or `data`,
        corrected), a failed timer as it was. `patch` sets workflow variables first."""
        self._operator(actor)
        if patch is not None and not isinstance(patch, dict):
            raise InvalidData("patch must be an object", fields={"patch": "not an object"})
        with self.engine.unit_of_work() as uow:
            instance = self.engine.lock(uow, instance_id)
            if instance.status != "failed" or not instance.incident:
                raise Conflict("the instance has not failed")
            incident, action = instance.incident, instance.incident["action"]
            version = instance.lock_version
        try:
            if action["kind"] == "complete":
                submission = action["data"] if data is None else data
                self._retry_completion(instance_id, version, action, submission, patch)
            else:
                self._retry_timers(instance_id, version, patch)
        except ProcessError as error:
            self.engine.record_incident(instance_id, error, action, version)
            raise
        with self.engine.unit_of_work() as uow:
            instance = uow.session.get(Instance, instance_id)
            audit.record(
                uow.session,
                instance_id,
                "incident_resolved",
                uow.now,
                actor=actor.username,
                element=incident.get("element"),
                data={"patch": patch or {}, "data": data},
            )
            return instance

    def _retry_completion(self, instance_id, version, action, submission, patch):
        with self.engine.unit_of_work() as uow:
            instance = self._reopen(uow, instance_id, version, patch)
            row = uow.session.get(HumanTask, action["task_id"])
            form = self.tasks.forms.get(row.form_key) if row and row.form_key else None
            try:
                cleaned = form.validate(submission) if form else submission
            except FormValidationError as exc:
                raise InvalidData("the corrected data has errors", fields=exc.fields) from None
            self.engine.complete(
                uow,
                instance,
                action["task_id"],
                cleaned,
                action["actor"],
                on_behalf_of=action.get("on_behalf_of"),
            )

    def _retry_timers(self, instance_id, version, patch):
        with self.engine.unit_of_work() as uow:
            instance = self._reopen(uow, instance_id, version, patch)
            self.engine.fire_timers(uow, instance)

    def _reopen(self, uow, instance_id, version, patch):
        """The failed instance running again, if nobody retried or changed it since it was
        found failed at `version`."""
        instance = self.engine.lock(uow, instance_id)
        if instance.lock_version != version:
            raise Conflict("the instance was changed meanwhile (retried by someone else?)")
        instance.status = "running"
        instance.incident = None
        if patch:
            self.engine.patch_data(uow, instance, patch)
        return instance

    def suspend(self, actor: Actor, instance_id: str) -> Instance:
        return self._set_suspended(actor, instance_id, True)

    def resume(self, actor: Actor, instance_id: str) -> Instance:
        return self._set_suspended(actor, instance_id, False)

    def _set_suspended(self, actor, instance_id, suspended) -> Instance:
        self._operator(actor)
        with self.engine.unit_of_work() as uow:
            instance = self.engine.lock(uow, instance_id)
            if instance.status not in ("running", "failed"):
                raise Conflict(f"the instance is {instance.status}")
            if instance.suspended == suspended:
                return instance
            instance.suspended = suspended
            audit.record(
                uow.session,
                instance.id,
                "instance_suspended" if suspended else "instance_resumed",
                uow.now,
                actor=actor.username,
            )
            return instance

    def _operator(self, actor: Actor) -> None:
        if not actor.roles & OPERATOR_ROLES:
            raise Forbidden("only center staff, the center head or an admin may do this")
