"""The `dingdan` command line (API.md, "Command line")."""

import argparse
import getpass
import ipaddress
import socket
import sys
from pathlib import Path

from engine import audit
from engine.errors import DingdanError

from .composition import build


def main(argv=None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if not getattr(args, "run", None):
        parser.print_help()
        return 2
    try:
        return args.run(args) or 0
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
    serve.add_argument("--port", type=int, default=5000)
    serve.add_argument("--demo", action="store_true", help="add one user per role (password demo)")
    serve.set_defaults(run=_serve)

    worker = commands.add_parser("worker", help="the timer scheduler alone")
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
    upgrade = db.add_parser("upgrade", help="bring the schema up to date")
    upgrade.set_defaults(run=_db_upgrade)
    return parser


def _system(args):
    return build(args.database)


def _deploy(args) -> int:
    system = _system(args)
    system.db.create_all()
    files = {path.name: path.read_bytes() for path in args.files}
    with system.engine.unit_of_work() as uow:
        results = system.engine.deploy(uow, files, args.deployed_by)
    for result in results:
        state = "deployed" if result.created else "unchanged"
        print(f"{result.key} version {result.version} {state}")
    return 0


def _users_add(args) -> int:
    system = _system(args)
    system.db.create_all()
    password = sys.stdin.readline().rstrip("\n") if args.password_stdin else None
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
    print(f"audit log intact: {count} events verified")
    return 0


def _db_upgrade(args) -> int:
    system = _system(args)
    system.db.create_all()
    print("database schema is up to date")
    return 0


def _serve(args) -> int:
    if args.demo and not _is_loopback(args.host):
        print("dingdan: --demo serves well-known passwords; bind it to 127.0.0.1", file=sys.stderr)
        return 2
    from .server import serve  # Flask is needed only here

    return serve(_system(args), host=args.host, port=args.port, demo=args.demo)


def _worker(args) -> int:
    from .server import run_worker

    return run_worker(_system(args))


def _is_loopback(host: str) -> bool:
    try:
        return all(
            ipaddress.ip_address(info[4][0]).is_loopback for info in socket.getaddrinfo(host, None)
        )
    except (OSError, ValueError):
        return False


if __name__ == "__main__":
    sys.exit(main())
