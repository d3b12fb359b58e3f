"""API tokens: random, stored hashed, with an expiry."""

import hashlib
import secrets
from datetime import timedelta

from sqlalchemy import delete, select

from engine.models import ApiToken

from .users import actor

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
    """The actor a token stands for, or None when it is unknown or expired."""
    row = session.scalar(select(ApiToken).where(ApiToken.token_hash == _hash(token)))
    if row is None or row.expires_at <= now:
        return None
    return actor(session, row.username)


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
