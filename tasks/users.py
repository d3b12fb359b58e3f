"""User accounts and their roles."""

from sqlalchemy import bindparam, delete, select

from engine.errors import InvalidData, NotFound
from engine.models import User, UserRole

from .passwords import hash_password, verify_password
from .roles import ROLES, Actor


def add_user(session, username, roles, now, *, password=None, display_name=None, subject_name=None):
    """Create a user, or give an existing one these roles (and password, if given)."""
    unknown = sorted(set(roles) - set(ROLES))
    if unknown:
        raise InvalidData(f"unknown role: {', '.join(unknown)}", fields={"role": "unknown role"})
    if not username:
        raise InvalidData("a username is required", fields={"username": "required"})
    if len(username) > 200:
        raise InvalidData("a username has at most 200 characters", fields={"username": "too long"})
    if password is not None and is_blank_password(password):
        raise InvalidData("the password must not be empty", fields={"password": "required"})
    user = session.scalar(select(User).where(User.username == username))
    if user is None:
        user = User(username=username, created_at=now, active=True)
        session.add(user)
        session.flush()
    if password is not None:
        user.password_hash = hash_password(password)
    if display_name is not None:
        user.display_name = display_name
    if subject_name is not None:
        user.subject_name = subject_name
    have = set(session.scalars(select(UserRole.role).where(UserRole.user_id == user.id)))
    for role in sorted(set(roles) - have):
        session.add(UserRole(user_id=user.id, role=role))
    return user


def is_blank_password(password) -> bool:
    """An empty or whitespace-only password, which nobody may set or sign in with."""
    return not isinstance(password, str) or not password.strip()


def remove_role(session, username, role) -> None:
    user = _user(session, username)
    session.execute(delete(UserRole).where(UserRole.user_id == user.id, UserRole.role == role))


def actor(session, username: str) -> Actor:
    """The actor for an active user, with its roles as the database has them now; a
    deactivated user is not found (its sessions and tokens stop working at once)."""
    # One statement (the user joined to its roles): every page asks this.
    found = actor_of_rows(session.execute(_ACTOR, {"username": username}).all())
    if found is None:
        raise NotFound(f"user '{username}' does not exist")
    return found


def actor_query():
    """A user joined to its roles, a row per role, as `actor_of_rows` reads them."""
    return select(User.username, User.active, User.subject_name, UserRole.role).outerjoin(
        UserRole, UserRole.user_id == User.id
    )


def actor_of_rows(rows) -> Actor | None:
    """The actor of `actor_query`'s rows of one user; None when there are none or the
    user is deactivated."""
    if not rows or not rows[0].active:
        return None
    roles = frozenset(row.role for row in rows if row.role is not None)
    return Actor(username=rows[0].username, roles=roles, subject_name=rows[0].subject_name)


_ACTOR = actor_query().where(User.username == bindparam("username"))


def authenticate(session, username: str, password: str) -> Actor | None:
    if is_blank_password(password):  # also for an account given one before this was refused
        return None
    user = session.scalar(select(User).where(User.username == username))
    if user is None or not user.active or not verify_password(password, user.password_hash):
        return None
    return actor(session, username)


def _user(session, username) -> User:
    user = session.scalar(select(User).where(User.username == username))
    if user is None:
        raise NotFound(f"user '{username}' does not exist")
    return user
