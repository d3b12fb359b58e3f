"""API tokens: random, stored hashed, with an expiry."""

import hashlib
import secrets
from datetime import timedelta

from sqlalchemy import bindparam, delete

from engine import driver_sql
from engine.models import ApiToken, User

from .users import actor_of_rows, actor_query

TOKEN_LIFETIME = timedelta(hours=12)


def issue_token(session, username: str, now, lifetime=TOKEN_LIFETIME) -> str:
    token = secrets.token_urlsafe(32)
    session.execute(delete(ApiToken).where(ApiToken.expires_at < now))  # keep the table small
    session.add(
        ApiToken(
            token_hash=_hash(token), username=username, created_at=now, expires_at=now + lifetime
        )
    )
    return token


def actor_for_token(session, token: str, now):
    """The actor a token stands for, or None when it is unknown, expired, or its user
    is deactivated. One statement: every API request asks this."""
    rows = driver_sql.rows(session, _ACTOR_FOR_TOKEN, {"token_hash": _hash(token)})
    if not rows or rows[0].expires_at <= now:
        return None
    return actor_of_rows(rows)


_ACTOR_FOR_TOKEN = (
    actor_query()
    .join(ApiToken, ApiToken.username == User.username)
    .where(ApiToken.token_hash == bindparam("token_hash"))
    .add_columns(ApiToken.expires_at)
)


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
