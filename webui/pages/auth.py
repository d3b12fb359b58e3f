"""Session sign-in for the pages; `signed_in` guards every page that needs a person."""

import functools

from flask import Blueprint, current_app, g, redirect, render_template, request, session, url_for
from flask_babel import gettext as _

from engine.errors import NotFound

bp = Blueprint("auth", __name__)


def system():
    return current_app.extensions["dingdan"]


def init_app(app) -> None:
    @app.before_request
    def load_actor():
        g.actor = None
        username = session.get("username")
        if username and not request.path.startswith("/api/"):
            try:
                g.actor = system().tasks.actor(username)
            except NotFound:  # the account is gone
                session.clear()


def signed_in(view):
    @functools.wraps(view)
    def wrapped(*args, **kwargs):
        if g.get("actor") is None:
            return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
        return view(*args, **kwargs)

    return wrapped


@bp.route("/login", methods=["GET", "POST"])
def login():
    error = None
    if request.method == "POST":
        username = request.form.get("username", "").strip()
        actor = system().tasks.check_password(username, request.form.get("password", ""))
        if actor is not None:
            session.clear()
            session["username"] = actor.username
            target = request.args.get("next") or ""
            return redirect(
                target
                if target.startswith("/") and not target.startswith("//")
                else url_for("inbox.index")
            )
        error = _("用户名或密码错误。")
    return render_template("pages/login.html", error=error), 401 if error else 200


def _local_target(target: str | None) -> str | None:
    """Only a path on this site: never an open redirect to another host."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return None


@bp.post("/logout")
def logout():
    session.clear()
    return redirect(url_for("auth.login"))


@bp.get("/lang/<code>")
def set_language(code):
    from . import LANGUAGES

    if code in LANGUAGES:
        session["lang"] = code
    target = request.referrer or url_for("inbox.index")
    return redirect(target)
