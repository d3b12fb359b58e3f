"""The expert register: experts and service institutions that staff choose from when they
select experts for a service (PROCEDURE.md, stage 3). The center's staff read it; center
staff, the center head and admins keep it. Every change is an audit event."""

import re

from sqlalchemy import or_, select

from engine import audit
from engine.errors import Forbidden, InvalidData, NotFound
from engine.models import Expert

from .roles import Actor, sees_all

EDITOR_ROLES = frozenset({"center_staff", "center_head", "admin"})
# field -> (required, longest length); `experience` is free text.
FIELDS = {
    "name": (True, 200),
    "organisation": (True, 300),
    "specialty": (True, 300),
    "qualification": (True, 300),
    "experience": (False, 5000),
    "phone": (False, 50),
}
PHONE = re.compile(r"^\+?[0-9][0-9 ()\-]{2,48}$")


def may_edit(actor: Actor | None) -> bool:
    return actor is not None and bool(actor.roles & EDITOR_ROLES)


def clean(data, *, partial: bool = False) -> dict:
    """The register fields of `data`, stripped, or InvalidData naming every bad field.

    With `partial`, fields left out keep their stored value (an update); `active` may be
    sent then too."""
    if not isinstance(data, dict):
        raise InvalidData("an expert must be an object", fields={"": "must be an object"})
    allowed = set(FIELDS) | ({"active"} if partial else set())
    errors = {key: "unknown field" for key in data if key not in allowed}
    cleaned = {}
    for key, (required, longest) in FIELDS.items():
        if key not in data:
            if required and not partial:
                errors[key] = "required"
            continue
        value = data[key]
        if value is None:
            value = ""
        if not isinstance(value, str):
            errors[key] = "must be text"
            continue
        value = value.strip()
        if "\x00" in value:
            errors[key] = "must not contain NUL characters"
        elif required and not value:
            errors[key] = "required"
        elif len(value) > longest:
            errors[key] = f"at most {longest} characters"
        elif key == "phone" and value and not PHONE.match(value):
            errors[key] = "must be a phone number"
        else:
            cleaned[key] = value if value or required else None
    if "active" in data and partial:
        if isinstance(data["active"], bool):
            cleaned["active"] = data["active"]
        else:
            errors["active"] = "must be true or false"
    if errors:
        raise InvalidData(f"check the fields: {', '.join(sorted(errors))}", fields=errors)
    return cleaned


class ExpertService:
    def __init__(self, engine):
        self.engine = engine

    # -- reading --------------------------------------------------------------------------

    def search(self, actor: Actor, q: str | None = None, active: bool | None = None, limit=500):
        """Experts whose name, organisation or specialty holds every word of `q`."""
        _staff(actor)
        with self.engine.unit_of_work() as uow:
            query = select(Expert)
            for word in (q or "").split():
                query = query.where(
                    or_(
                        Expert.name.icontains(word, autoescape=True),
                        Expert.organisation.icontains(word, autoescape=True),
                        Expert.specialty.icontains(word, autoescape=True),
                    )
                )
            if active is not None:
                query = query.where(Expert.active == active)
            query = query.order_by(Expert.active.desc(), Expert.name, Expert.id).limit(limit)
            return list(uow.session.scalars(query))

    def get(self, actor: Actor, expert_id: int) -> Expert:
        _staff(actor)
        with self.engine.unit_of_work() as uow:
            return _expert(uow.session, expert_id)

    # -- changing -------------------------------------------------------------------------

    def add(self, actor: Actor, data) -> Expert:
        _may_edit(actor)
        cleaned = clean(data)
        with self.engine.unit_of_work() as uow:
            expert = Expert(**cleaned, active=True, updated_by=actor.username, updated_at=uow.now)
            uow.session.add(expert)
            uow.session.flush()
            audit.record(
                uow.session,
                None,
                "expert_added",
                uow.now,
                actor=actor.username,
                data={"expert_id": expert.id, **_snapshot(expert)},
            )
            return expert

    def update(self, actor: Actor, expert_id: int, data) -> Expert:
        """Change the fields sent; the others keep their values."""
        _may_edit(actor)
        cleaned = clean(data, partial=True)
        with self.engine.unit_of_work() as uow:
            expert = _expert(uow.session, expert_id, lock=not self.engine.db.is_sqlite)
            return self._change(uow, actor, expert, cleaned)

    def deactivate(self, actor: Actor, expert_id: int) -> Expert:
        return self.update(actor, expert_id, {"active": False})

    def activate(self, actor: Actor, expert_id: int) -> Expert:
        return self.update(actor, expert_id, {"active": True})

    def _change(self, uow, actor, expert, cleaned) -> Expert:
        before = _snapshot(expert)
        for key, value in cleaned.items():
            setattr(expert, key, value)
        after = _snapshot(expert)
        changed = {k: {"from": before[k], "to": after[k]} for k in after if before[k] != after[k]}
        if changed:  # saving an unchanged form writes nothing
            expert.updated_by = actor.username
            expert.updated_at = uow.now
            audit.record(
                uow.session,
                None,
                "expert_updated",
                uow.now,
                actor=actor.username,
                data={"expert_id": expert.id, "name": expert.name, "changed": changed},
            )
        return expert


def _snapshot(expert: Expert) -> dict:
    return {key: getattr(expert, key) for key in (*FIELDS, "active")}


def _expert(session, expert_id, lock=False) -> Expert:
    expert = None
    if isinstance(expert_id, int) and 0 < expert_id < 2**31:  # beyond: no such row anywhere
        query = select(Expert).where(Expert.id == expert_id)
        expert = session.scalar(query.with_for_update() if lock else query)
    if expert is None:
        raise NotFound(f"expert {expert_id} does not exist")
    return expert


def _staff(actor) -> None:
    """The register holds experts' phones and qualifications: for the center's staff (who
    see every instance), not for applicants, enterprises or the experts themselves."""
    if actor is None or not sees_all(actor):
        raise Forbidden("only the center's staff read the expert register")


def _may_edit(actor) -> None:
    if not may_edit(actor):
        raise Forbidden("only center staff, the center head or an admin may change the register")
