"""The `dingdan` command line (API.md, "Command line")."""

import argparse
import getpass
import ipaddress
import os
import re
import socket
import sys
from pathlib import Path

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, SQLAlchemyError

from engine import audit
from engine.db import DEFAULT_SQLITE_PATH, Database
from engine.errors import DingdanError
from tasks.users import is_blank_password

from .composition import build

MIN_SECRET_KEY_LENGTH = 32
SECRET_KEY_MISSING = (
    "dingdan: set DINGDAN_SECRET_KEY to a random value of at least 32 characters: it signs the"
    " session cookies, and every web process must share it (for example:"
    " python3 -c 'import secrets; print(secrets.token_hex(32))'). Only --demo runs without one."
)


def main(argv=None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if not getattr(args, "run", None):
        parser.print_help()
        return 2
    garbled = _not_text(args)
    if garbled:
        print(f"dingdan: {garbled} is not valid UTF-8 text", file=sys.stderr)
        return 2
    try:
        return args.run(args) or 0
    except DatabaseUnusable as exc:
        print(f"dingdan: {exc}", file=sys.stderr)
        return 1
    except SQLAlchemyError as exc:  # the database went away, or refused, mid-command
        print(f"dingdan: {_database_problem(args.database, exc)}", file=sys.stderr)
        return 1
    except DingdanError as exc:
        print(f"dingdan: {exc.message}", file=sys.stderr)
        for detail in exc.details:
            where = ":".join(str(detail.get(k)) for k in ("file", "line") if detail.get(k))
            element = detail.get("element") or ""
            print(f"  {where} {element}: {detail.get('message', '')}".rstrip(), file=sys.stderr)
        for field, message in exc.fields.items():
            print(f"  {field}: {message}", file=sys.stderr)
        return 1


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="dingdan", description="Dingdan workflow service")
    parser.add_argument("--database", help="SQLAlchemy URL (default: DINGDAN_DATABASE_URL)")
    commands = parser.add_subparsers(metavar="COMMAND")

    serve = commands.add_parser("serve", help="the web UI, the API and the timer scheduler")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=_port, default=5000)
    serve.add_argument("--demo", action="store_true", help="add one user per role (password demo)")
    serve.add_argument(
        "--workers",
        type=int,
        metavar="N",
        help="gunicorn with N web processes and one timer worker (default: one process)",
    )
    serve.add_argument(
        "--threads", type=_positive, help="threads per web process (default 8; with --workers, 1)"
    )
    serve.set_defaults(run=_serve)

    worker = commands.add_parser("worker", help="the timer scheduler alone")
    worker.add_argument("--metrics-port", type=_port, help="serve this worker's /metrics here")
    worker.add_argument("--heartbeat-file", help=argparse.SUPPRESS)  # set by serve --workers
    worker.add_argument("--exit-with-parent", action="store_true", help=argparse.SUPPRESS)
    worker.set_defaults(run=_worker)

    deploy = commands.add_parser("deploy", help="deploy BPMN files as new versions")
    deploy.add_argument("files", nargs="+", type=Path)
    deploy.add_argument("--as", dest="deployed_by", default=getpass.getuser())
    deploy.set_defaults(run=_deploy)

    users = commands.add_parser("users", help="manage users").add_subparsers(metavar="ACTION")
    add = users.add_parser("add", help="add a user, or give one more roles")
    add.add_argument("name")
    add.add_argument("--role", action="append", required=True)
    add.add_argument("--password-stdin", action="store_true")
    add.add_argument("--subject", help="the enterprise or expert name this user acts for")
    add.set_defaults(run=_users_add)

    timers = commands.add_parser("timers", help="timers").add_subparsers(metavar="ACTION")
    run_due = timers.add_parser("run-due", help="fire every timer due now, once")
    run_due.set_defaults(run=_timers_run_due)

    audit = commands.add_parser("audit", help="the audit log").add_subparsers(metavar="ACTION")
    verify = audit.add_parser("verify", help="recompute the hash chains; exit 1 on a break")
    verify.add_argument("instance", nargs="?", help="one instance (default: every chain)")
    verify.set_defaults(run=_audit_verify)

    db = commands.add_parser("db", help="the database").add_subparsers(metavar="ACTION")
    upgrade = db.add_parser("upgrade", help="bring the schema up to date (migrations)")
    upgrade.set_defaults(run=_db_upgrade)
    revision = db.add_parser("revision", help="write a new migration from the model changes")
    revision.add_argument("-m", "--message", required=True)
    revision.set_defaults(run=_db_revision)
    return parser


class DatabaseUnusable(Exception):
    """The database URL cannot be parsed, or the database cannot be opened."""


def _system(args):
    """The system on the configured database, once a connection to it has worked."""
    try:
        db = Database(args.database)
    except (SQLAlchemyError, ImportError, ValueError, OSError) as exc:
        # A URL that does not parse, an unknown dialect or a driver not installed.
        raise DatabaseUnusable(_database_problem(args.database, exc, parsing=True)) from None
    try:
        with db.engine.connect():
            pass
    except (SQLAlchemyError, OSError) as exc:
        raise DatabaseUnusable(_database_problem(args.database, exc)) from None
    finally:
        db.dispose()
    return build(args.database)


def _database_problem(url_argument, exc, parsing=False) -> str:
    """One line naming the database URL (its password hidden), where it came from and
    what is wrong with it."""
    source = "--database" if url_argument else "DINGDAN_DATABASE_URL"
    url = url_argument or os.environ.get("DINGDAN_DATABASE_URL")
    if not url:
        source, url = "the default database", str(DEFAULT_SQLITE_PATH)
    shown = _hide_password(url)
    reason = getattr(exc, "orig", None) or exc
    if isinstance(exc, NoSuchModuleError):  # an ArgumentError too
        reason = f"unknown database kind '{url.split(':', 1)[0]}'"
    elif isinstance(exc, ArgumentError):
        reason = "not a database URL (dialect://user:password@host/name, or sqlite:///path)"
    elif isinstance(exc, ImportError):
        reason = f"its database driver is not installed ({exc.name or exc})"
    text = " ".join(str(reason).split()) or type(reason).__name__
    text = re.sub(r"\s*\(Background on this error at: [^)]*\)", "", text)
    password = _password(url)
    if password:
        text = text.replace(password, "***")
    what = "invalid database URL" if parsing else "cannot use the database"
    return f"{what} {shown} (from {source}): {text}"


def _password(url: str) -> str | None:
    try:
        return make_url(url).password
    except (ArgumentError, ValueError):
        return None


def _hide_password(url: str) -> str:
    try:
        return make_url(url).render_as_string(hide_password=True)
    except (ArgumentError, ValueError):
        return re.sub(r"(://[^:/@]*:)[^@]*@", r"\1***@", url)


def _deploy(args) -> int:
    try:
        files = {path.name: path.read_bytes() for path in args.files}
    except OSError as exc:
        print(f"dingdan: cannot read {exc.filename}: {exc.strerror}", file=sys.stderr)
        return 1
    system = _system(args)
    system.db.upgrade()
    with system.engine.unit_of_work() as uow:
        results = system.engine.deploy(uow, files, args.deployed_by)
    for result in results:
        state = "deployed" if result.created else "unchanged"
        print(f"{result.key} version {result.version} {state}")
    return 0


def _users_add(args) -> int:
    password = sys.stdin.readline().rstrip("\n") if args.password_stdin else None
    if password is not None and is_blank_password(password):
        print("dingdan: the password read from standard input is empty", file=sys.stderr)
        return 1
    if password is not None and not _is_text(password):
        print("dingdan: the password read from standard input is not UTF-8 text", file=sys.stderr)
        return 1
    system = _system(args)
    system.db.upgrade()
    actor = system.tasks.add_user(
        args.name, args.role, password=password, subject_name=args.subject
    )
    print(f"{actor.username}: {', '.join(sorted(actor.roles))}")
    return 0


def _timers_run_due(args) -> int:
    system = _system(args)
    system.setup()
    print(system.engine.fire_due())
    return 0


def _audit_verify(args) -> int:
    system = _system(args)
    with system.engine.unit_of_work() as uow:
        problems = audit.verify(uow.session, args.instance)
        count = audit.count(uow.session, args.instance)
    if problems:
        for problem in problems:
            print(f"dingdan: audit log broken: {problem}", file=sys.stderr)
        return 1
    if args.instance and not count:
        print(f"dingdan: no audit events of instance '{args.instance}'", file=sys.stderr)
        return 1
    print(f"audit log intact: {count} events verified")
    return 0


def _db_upgrade(args) -> int:
    system = _system(args)
    try:
        system.db.upgrade()
        print(f"database schema is up to date (revision {system.db.schema_revision()})")
    finally:
        system.db.dispose()
    return 0


def _db_revision(args) -> int:
    """For developers: compare the models with a database at head and write the
    migration that closes the gap into engine/migrations/versions/ (review it!)."""
    from alembic import command

    from engine.db import alembic_config

    system = _system(args)
    system.db.upgrade()
    command.revision(alembic_config(system.db), message=args.message, autogenerate=True)
    return 0


def _serve(args) -> int:
    if args.demo and not _is_loopback(args.host):
        print("dingdan: --demo serves well-known passwords; bind it to 127.0.0.1", file=sys.stderr)
        return 2
    if not args.demo and len(os.environ.get("DINGDAN_SECRET_KEY", "")) < MIN_SECRET_KEY_LENGTH:
        print(SECRET_KEY_MISSING, file=sys.stderr)
        return 2
    if args.workers is not None:
        if args.workers < 1:
            print("dingdan: --workers needs at least 1", file=sys.stderr)
            return 2
        from .server import serve_workers

        return serve_workers(
            _system(args),
            database=args.database,
            host=args.host,
            port=args.port,
            demo=args.demo,
            workers=args.workers,
            threads=args.threads or 1,
        )
    from .server import serve  # Flask is needed only here

    return serve(
        _system(args), host=args.host, port=args.port, demo=args.demo, threads=args.threads or 8
    )


def _worker(args) -> int:
    from .server import run_worker

    return run_worker(
        _system(args),
        heartbeat_file=args.heartbeat_file,
        metrics_port=args.metrics_port,
        exit_with_parent=args.exit_with_parent,
    )


def _port(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a port number: {text!r}") from None
    if not 1 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"{port} is not a port (1 to 65535)")
    return port


def _positive(text: str) -> int:
    try:
        number = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if number < 1:
        raise argparse.ArgumentTypeError(f"needs at least 1, not {number}")
    return number


# The arguments stored as text (the database URL may name a file, in any bytes).
_TEXT_ARGUMENTS = {
    "name": "NAME",
    "role": "--role",
    "subject": "--subject",
    "instance": "INSTANCE",
    "deployed_by": "--as",
    "message": "--message",
    "host": "--host",
}


def _not_text(args) -> str | None:
    """The first argument that the command line gave in bytes that are not UTF-8."""
    for key, shown in _TEXT_ARGUMENTS.items():
        value = getattr(args, key, None)
        values = value if isinstance(value, list) else [value]
        if any(isinstance(item, str) and not _is_text(item) for item in values):
            return shown
    return None


def _is_text(value: str) -> bool:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:  # undecodable bytes arrive as lone surrogates
        return False
    return True


def _is_loopback(host: str) -> bool:
    try:
        return all(
            ipaddress.ip_address(info[4][0]).is_loopback for info in socket.getaddrinfo(host, None)
        )
    except (OSError, ValueError):
        return False


if __name__ == "__main__":
    sys.exit(main())
