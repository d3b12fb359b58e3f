"""Administration, for admins only: user accounts with their roles, and the working-day
calendar's overrides (the days an admin declares working days or days off, e.g. the next
year's State Council schedule before the `chinese-calendar` package has it).

Every change is an audit event without an instance: `user_changed`, `calendar_changed`.
"""

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import chinese_calendar
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from engine import audit
from engine.calendar import SHANGHAI, WorkingDayCalendar
from engine.errors import Conflict, Forbidden, InvalidData, NotFound
from engine.models import ApiToken, CalendarOverride, User, UserRole

from . import users
from .passwords import hash_password
from .roles import ROLES, Actor

USERNAME = re.compile(r"^[\w.@-]+$")
MIN_PASSWORD = 8
# Users of these roles act for one enterprise or expert: without a subject they would act
# for every one of them.
SUBJECT_ROLES = frozenset({"enterprise", "expert"})
FIRST_YEAR, LAST_YEAR = 1990, 2100
HOLIDAYS = {holiday.value: holiday.name for holiday in chinese_calendar.Holiday}


@dataclass(frozen=True)
class UserView:
    username: str
    display_name: str | None
    subject_name: str | None
    active: bool
    roles: tuple[str, ...]
    created_at: datetime


@dataclass(frozen=True)
class OverrideView:
    day: date
    is_working_day: bool
    note: str | None
    updated_by: str | None
    updated_at: datetime
    # What the day would be without the override (official schedule or Monday–Friday).
    default_working_day: bool


@dataclass(frozen=True)
class CalendarYear:
    year: int
    has_official_data: bool  # False: Monday–Friday applies to every day not overridden
    overrides: list[OverrideView]


@dataclass(frozen=True)
class DayView:
    day: date
    is_working_day: bool
    source: str  # override, official, fallback (Monday–Friday)
    note: str | None
    holiday: str | None  # chinese_calendar.Holiday name (national_day, …), official days only


class AdminService:
    def __init__(self, engine):
        self.engine = engine

    # -- users ----------------------------------------------------------------------------

    def users(self, actor: Actor) -> list[UserView]:
        _admin(actor)
        with self.engine.unit_of_work() as uow:
            rows = uow.session.scalars(select(User).order_by(User.username))
            roles = _roles_by_user(uow.session)
            return [_view(row, roles.get(row.id, ())) for row in rows]

    def user(self, actor: Actor, username: str) -> UserView:
        _admin(actor)
        with self.engine.unit_of_work() as uow:
            row = _user(uow.session, username)
            return _view(row, _roles(uow.session, row))

    def add_user(
        self, actor: Actor, username, roles, password, display_name=None, subject_name=None
    ) -> UserView:
        _admin(actor)
        username = username.strip() if isinstance(username, str) else username
        errors = {}
        errors.update(_check_username(username))
        errors.update(_check_roles(roles))
        errors.update(_check_password(password))
        details, detail_errors = _clean_details(display_name, subject_name)
        errors.update(detail_errors)
        if not errors.get("roles") and not details["subject_name"] and set(roles) & SUBJECT_ROLES:
            errors["subject_name"] = "required for an enterprise or expert user"
        with self.engine.unit_of_work() as uow:
            if "username" not in errors and _find(uow.session, username) is not None:
                errors["username"] = "already exists"
            _raise(errors)
            row = users.add_user(
                uow.session, username, sorted(set(roles)), uow.now, password=password, **details
            )
            view = _view(row, _ordered(roles))
            self._changed(uow, actor, username, "added", roles=list(view.roles), **details)
            return view

    def set_roles(self, actor: Actor, username: str, roles) -> UserView:
        _admin(actor)
        _raise(_check_roles(roles))
        with self.engine.unit_of_work() as uow:
            row = self._lock(uow, username)
            before = _roles(uow.session, row)
            after = _ordered(roles)
            if username == actor.username and "admin" in before and "admin" not in after:
                _raise({"roles": "you cannot take away your own admin role"})
            if set(after) & SUBJECT_ROLES and not row.subject_name:
                _raise({"subject_name": "required for an enterprise or expert user"})
            if before != after:
                uow.session.execute(delete(UserRole).where(UserRole.user_id == row.id))
                uow.session.add_all(UserRole(user_id=row.id, role=role) for role in after)
                self._changed(uow, actor, username, "roles", **{"from": before, "to": after})
            return _view(row, after)

    def update_user(self, actor: Actor, username: str, display_name, subject_name) -> UserView:
        """Change the display name and the enterprise or expert the user acts for."""
        _admin(actor)
        details, errors = _clean_details(display_name, subject_name)
        with self.engine.unit_of_work() as uow:
            row = self._lock(uow, username)
            roles = _roles(uow.session, row)
            if set(roles) & SUBJECT_ROLES and not details["subject_name"]:
                errors["subject_name"] = "required for an enterprise or expert user"
            _raise(errors)
            before = {"display_name": row.display_name, "subject_name": row.subject_name}
            if before != details:
                row.display_name = details["display_name"]
                row.subject_name = details["subject_name"]
                self._changed(uow, actor, username, "details", **{"from": before, "to": details})
            return _view(row, roles)

    def reset_password(self, actor: Actor, username: str, password) -> None:
        _admin(actor)
        _raise(_check_password(password))
        with self.engine.unit_of_work() as uow:
            row = self._lock(uow, username)
            row.password_hash = hash_password(password)
            # Tokens issued with the old password end with it.
            uow.session.execute(delete(ApiToken).where(ApiToken.username == row.username))
            self._changed(uow, actor, username, "password")

    def deactivate(self, actor: Actor, username: str) -> UserView:
        """The user can no longer sign in; its API tokens end now. The account and its
        history stay (audit events name it)."""
        _admin(actor)
        if username == actor.username:
            _raise({"active": "you cannot deactivate your own account"})
        return self._set_active(actor, username, False)

    def activate(self, actor: Actor, username: str) -> UserView:
        return self._set_active(actor, username, True)

    def _set_active(self, actor, username, active: bool) -> UserView:
        _admin(actor)
        with self.engine.unit_of_work() as uow:
            row = self._lock(uow, username)
            if row.active != active:
                row.active = active
                if not active:
                    uow.session.execute(delete(ApiToken).where(ApiToken.username == row.username))
                self._changed(uow, actor, username, "activated" if active else "deactivated")
            return _view(row, _roles(uow.session, row))

    def _lock(self, uow, username) -> User:
        query = select(User).where(User.username == username)
        if not self.engine.db.is_sqlite:  # SQLite's BEGIN IMMEDIATE already serialises
            query = query.with_for_update()
        row = uow.session.scalar(query) if isinstance(username, str) else None
        if row is None:
            raise NotFound(f"user '{username}' does not exist")
        return row

    def _changed(self, uow, actor, username, change, **data) -> None:
        audit.record(
            uow.session,
            None,
            "user_changed",
            uow.now,
            actor=actor.username,
            data={"username": username, "change": change, **data},
        )

    # -- the working-day calendar ---------------------------------------------------------

    def calendar_year(self, actor: Actor, year) -> CalendarYear:
        _admin(actor)
        year = _check_year(year)
        with self.engine.unit_of_work() as uow:
            calendar = self.engine.calendar(uow.session)
            rows = uow.session.scalars(
                select(CalendarOverride)
                .where(
                    CalendarOverride.day >= date(year, 1, 1),
                    CalendarOverride.day <= date(year, 12, 31),
                )
                .order_by(CalendarOverride.day)
            )
            return CalendarYear(
                year=year,
                has_official_data=calendar.has_official_data(year),
                overrides=[_override(row) for row in rows],
            )

    def upcoming(self, actor: Actor, days: int = 30, start: date | None = None) -> list[DayView]:
        """Each day from `start` (today in the service center's time zone) on: working or not,
        and why."""
        _admin(actor)
        days = max(1, min(int(days), 366))
        with self.engine.unit_of_work() as uow:
            calendar = self.engine.calendar(uow.session)
            first = start or uow.now.astimezone(SHANGHAI).date()
            last = first + timedelta(days=days - 1)
            notes = {
                row.day: row.note
                for row in uow.session.scalars(
                    select(CalendarOverride).where(
                        CalendarOverride.day >= first, CalendarOverride.day <= last
                    )
                )
            }
            result = []
            for offset in range(days):
                day = first + timedelta(days=offset)
                official = calendar.has_official_data(day.year)
                if day in calendar.overrides:
                    source = "override"
                else:
                    source = "official" if official else "fallback"
                result.append(
                    DayView(
                        day=day,
                        is_working_day=calendar.is_working_day(day),
                        source=source,
                        note=notes.get(day),
                        holiday=_holiday(day) if official else None,
                    )
                )
            return result

    def today(self) -> date:
        """Today in the service center's time zone, by the engine's clock."""
        return self.engine.clock.now().astimezone(SHANGHAI).date()

    def set_day(self, actor: Actor, day, is_working_day, note=None) -> OverrideView:
        """Declare `day` a working day or a day off, whatever the official schedule says.
        Deadlines computed from now on follow it; deadlines already set stay as they are."""
        _admin(actor)
        errors = {}
        try:
            day = _check_day(day)
        except InvalidData as error:
            errors.update(error.fields)
        if not isinstance(is_working_day, bool):
            errors["is_working_day"] = "required: a working day or a day off"
        if note is not None and not isinstance(note, str):
            errors["note"] = "must be text"
        elif note and len(note.strip()) > 500:
            errors["note"] = "at most 500 characters"
        elif note and "\x00" in note:
            errors["note"] = "must not contain NUL characters"
        _raise(errors)
        note = (note or "").strip() or None
        with self.engine.unit_of_work() as uow:
            row = uow.session.get(CalendarOverride, day)
            was = None
            if row is None:
                row = CalendarOverride(day=day)
                uow.session.add(row)
            else:
                was = {"is_working_day": row.is_working_day, "note": row.note}
            row.is_working_day = is_working_day
            row.note = note
            row.updated_by = actor.username
            row.updated_at = uow.now
            try:
                uow.session.flush()
            except IntegrityError:  # another admin added the same day at the same moment
                raise Conflict(f"{day} was just changed by someone else; try again") from None
            audit.record(
                uow.session,
                None,
                "calendar_changed",
                uow.now,
                actor=actor.username,
                data={
                    "day": day.isoformat(),
                    "change": "set",
                    "is_working_day": is_working_day,
                    "note": note,
                    "was": was,
                },
            )
            return _override(row)

    def remove_day(self, actor: Actor, day) -> None:
        """Remove an override: the day follows the official schedule (or Monday–Friday)."""
        _admin(actor)
        day = _check_day(day)
        with self.engine.unit_of_work() as uow:
            row = uow.session.get(CalendarOverride, day)
            if row is None:
                raise NotFound(f"{day} has no override")
            was = {"is_working_day": row.is_working_day, "note": row.note}
            uow.session.delete(row)
            audit.record(
                uow.session,
                None,
                "calendar_changed",
                uow.now,
                actor=actor.username,
                data={"day": day.isoformat(), "change": "removed", "was": was},
            )


# -- helpers ------------------------------------------------------------------------------


def _admin(actor) -> None:
    if not isinstance(actor, Actor) or not actor.has("admin"):
        raise Forbidden("only an admin may do this")


def _raise(errors: dict) -> None:
    if errors:
        raise InvalidData(f"check the fields: {', '.join(sorted(errors))}", fields=errors)


def _check_username(username) -> dict:
    if not isinstance(username, str) or not username:
        return {"username": "required"}
    if len(username) > 200:
        return {"username": "at most 200 characters"}
    if not USERNAME.match(username):
        return {"username": "letters, digits and . _ - @ only"}
    return {}


def _check_roles(roles) -> dict:
    if not isinstance(roles, list | tuple | set | frozenset) or not all(
        isinstance(r, str) for r in roles
    ):
        return {"roles": "must be a list of roles"}
    if not roles:
        return {"roles": "choose at least one role"}
    unknown = sorted(set(roles) - set(ROLES))
    if unknown:
        return {"roles": f"unknown role: {', '.join(unknown)}"}
    return {}


def _check_password(password) -> dict:
    if users.is_blank_password(password):
        return {"password": "required"}
    if len(password) < MIN_PASSWORD:
        return {"password": f"at least {MIN_PASSWORD} characters"}
    if len(password) > 1000 or "\x00" in password:
        return {"password": "at most 1000 characters, no NUL"}
    return {}


def _clean_details(display_name, subject_name) -> tuple[dict, dict]:
    details, errors = {}, {}
    for key, value, longest in (
        ("display_name", display_name, 200),
        ("subject_name", subject_name, 500),
    ):
        if value is not None and not isinstance(value, str):
            errors[key] = "must be text"
            value = None
        value = (value or "").strip()
        if len(value) > longest:
            errors[key] = f"at most {longest} characters"
        elif "\x00" in value:
            errors[key] = "must not contain NUL characters"
        details[key] = value or None
    return details, errors


def _check_year(year) -> int:
    if isinstance(year, str) and year.strip().isdigit():
        year = int(year)
    if not isinstance(year, int) or isinstance(year, bool) or not FIRST_YEAR <= year <= LAST_YEAR:
        raise InvalidData(
            "the year is out of range",
            fields={"year": f"a year from {FIRST_YEAR} to {LAST_YEAR}"},
        )
    return year


def _check_day(day) -> date:
    if isinstance(day, str):
        try:
            day = date.fromisoformat(day.strip()) if len(day.strip()) == 10 else None
        except ValueError:
            day = None
    if isinstance(day, datetime) or not isinstance(day, date):
        raise InvalidData("the day is not a date", fields={"day": "must be a date (YYYY-MM-DD)"})
    if not FIRST_YEAR <= day.year <= LAST_YEAR:
        raise InvalidData(
            "the day is out of range",
            fields={"day": f"a day from {FIRST_YEAR} to {LAST_YEAR}"},
        )
    return day


def _find(session, username) -> User | None:
    return session.scalar(select(User).where(User.username == username))


def _user(session, username) -> User:
    row = _find(session, username) if isinstance(username, str) else None
    if row is None:
        raise NotFound(f"user '{username}' does not exist")
    return row


def _ordered(roles) -> tuple[str, ...]:
    wanted = set(roles)  # once: `roles` may be a one-pass result
    return tuple(role for role in ROLES if role in wanted)


def _roles(session, row) -> tuple[str, ...]:
    return _ordered(session.scalars(select(UserRole.role).where(UserRole.user_id == row.id)))


def _roles_by_user(session) -> dict[int, tuple[str, ...]]:
    found: dict[int, set[str]] = {}
    for user_id, role in session.execute(select(UserRole.user_id, UserRole.role)):
        found.setdefault(user_id, set()).add(role)
    return {user_id: _ordered(roles) for user_id, roles in found.items()}


def _view(row: User, roles) -> UserView:
    return UserView(
        username=row.username,
        display_name=row.display_name,
        subject_name=row.subject_name,
        active=row.active,
        roles=tuple(roles),
        created_at=row.created_at,
    )


def _override(row: CalendarOverride) -> OverrideView:
    return OverrideView(
        day=row.day,
        is_working_day=row.is_working_day,
        note=row.note,
        updated_by=row.updated_by,
        updated_at=row.updated_at,
        default_working_day=_default_working_day(row.day),
    )


def _default_working_day(day: date) -> bool:
    return WorkingDayCalendar().is_working_day(day)  # no overrides: official or Mon–Fri


def _holiday(day: date) -> str | None:
    try:
        _, name = chinese_calendar.get_holiday_detail(day)
    except NotImplementedError:
        return None
    return HOLIDAYS.get(name) if name else None
