"""Sign-in: tokens for API clients; every other API route needs `Authorization: Bearer`."""

from flask import g, jsonify, request

from . import bp
from .common import json_body, system
from .errors import BadRequest, Unauthorized

PUBLIC_ENDPOINTS = {"api.create_token", "api.openapi_document"}


@bp.before_request
def authenticate():
    if "\x00" in request.path or any("\x00" in v for v in request.args.values()):
        raise BadRequest("the address may not contain NUL characters")
    if request.endpoint in PUBLIC_ENDPOINTS:
        return
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("sign in: send Authorization: Bearer TOKEN")
    actor = system().tasks.actor_for_token(token.strip())  # None: unknown, expired, user gone
    if actor is None:
        raise Unauthorized("the token is unknown or has expired")
    g.actor = actor


@bp.post("/auth/token")
def create_token():
    body = json_body({"username", "password"}, {"username", "password"})
    if not all(isinstance(body[k], str) for k in ("username", "password")):
        raise BadRequest("username and password must be strings")
    signed_in = system().tasks.sign_in(body["username"], body["password"])
    if signed_in is None:
        raise Unauthorized("wrong username or password")
    token, actor = signed_in
    return jsonify(
        {"token": token, "user": {"username": actor.username, "roles": sorted(actor.roles)}}
    )
