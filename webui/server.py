"""Running the service.

- `dingdan serve`: one process — waitress (a production server in pure Python, threaded)
  serves the WSGI app, and the timer scheduler runs beside it.
- `dingdan serve --workers N`: gunicorn. Its master forks N web workers (`--threads` each)
  and starts one timer worker (`dingdan worker`) as a child of its own, so the
  scheduler runs once, never in a web worker; the master replaces whichever of them dies.
  The web workers and the timer worker share PROMETHEUS_MULTIPROC_DIR (metrics added up) and
  the timer worker's heartbeat file (/healthz). One thread per worker by default: a process
  runs one Python thread at a time, and a thread back from the database would wait for the
  interpreter behind the others while holding its transaction's locks (the instance's, the
  file-number counter's, SQLite's write lock), so every other writer waits too. More
  workers, not threads, serve more at once. With one thread a worker is gunicorn's sync
  worker: it accepts a connection only when it is free, so requests spread over the
  workers (a threaded worker accepts while busy, and one of them could hold every kept-alive
  connection while the others idle); it closes each connection after its answer, which a
  reverse proxy in front makes up for.
- `dingdan worker`: the timer scheduler alone; run any number, on any machine.

Every command brings the schema up to date first (migrations; safe when several start at
once). Nothing here imports prometheus_client before PROMETHEUS_MULTIPROC_DIR is set.
"""

import errno
import gc
import logging
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from tasks.roles import ROLES

log = logging.getLogger("dingdan")
TIMER_WORKER_RESTART_SECONDS = 5


def serve(system, host="127.0.0.1", port=5000, demo=False, threads=8) -> int:
    from waitress import create_server

    from .app import create_app
    from .health import SCHEDULER_EXTENSION
    from .scheduler import TimerScheduler

    problem = _bind_problem(host, port)  # before the migrations and the demo users
    if problem:
        print(f"dingdan: {problem}", file=sys.stderr)
        return 1
    _configure_logging()
    _setup(system, demo)
    app = create_app(system)
    _freeze_startup_heap(system)
    try:  # bind before the scheduler starts: a port taken meanwhile ends here too
        server = create_server(app, host=host, port=port, threads=threads, ident="dingdan")
    except (OSError, ValueError) as exc:  # waitress: ValueError for a host it cannot resolve
        print(f"dingdan: {cannot_listen(host, port, exc)}", file=sys.stderr)
        return 1
    scheduler = TimerScheduler(system)
    scheduler.start()
    app.extensions[SCHEDULER_EXTENSION] = scheduler
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    log.info("Dingdan serving on http://%s:%d", host, port)
    try:
        server.run()
    finally:
        scheduler.shutdown()
    return 0


def cannot_listen(host, port, exc: Exception) -> str:
    """One line for an address the server cannot bind."""
    if getattr(exc, "errno", None) == errno.EADDRINUSE:
        return f"port {port} on {host} is in use"
    if isinstance(exc, socket.gaierror):
        return f"cannot listen on {host}:{port}: unknown host ({exc.strerror or exc})"
    return f"cannot listen on {host}:{port}: {getattr(exc, 'strerror', None) or exc}"


def serve_workers(
    system, database=None, host="127.0.0.1", port=5000, demo=False, workers=2, threads=1
) -> int:
    """gunicorn with `workers` web workers and one timer worker (see the module's doc)."""
    problem = _bind_problem(host, port)  # gunicorn would retry for 5 s, then log its own lines
    if problem:
        print(f"dingdan: {problem}", file=sys.stderr)
        return 1
    _configure_logging()
    _setup(system, demo)
    system.db.dispose()  # the workers open their own connections after the fork
    runtime = Path(tempfile.mkdtemp(prefix="dingdan-serve-"))
    try:
        heartbeat = runtime / "scheduler.heartbeat"
        _prepare_environment(runtime, heartbeat)
        timer_command = [sys.executable, "-m", "webui.cli"]
        if database:
            timer_command += ["--database", database]
        timer_command += ["worker", "--heartbeat-file", str(heartbeat), "--exit-with-parent"]
        options = {
            "bind": f"{host}:{port}",
            "workers": workers,
            "threads": threads,
            "worker_class": "sync" if threads == 1 else "gthread",
            "timeout": 60,
            "graceful_timeout": 20,
            "proc_name": "dingdan",
            "control_socket_disable": True,  # gunicorn ≥ 25: no control socket in cwd or /run
            "child_exit": _worker_exited,
        }
        log.info("Dingdan serving on http://%s:%d with %d web workers", host, port, workers)
        _GunicornApplication(options, lambda: _web_app(database), timer_command, heartbeat).run()
    finally:
        shutil.rmtree(runtime, ignore_errors=True)
    return 0


def run_worker(system, heartbeat_file=None, metrics_port=None, exit_with_parent=False) -> int:
    from . import metrics
    from .scheduler import TimerScheduler

    _configure_logging()
    parent = os.getppid()
    system.setup()
    metrics.instrument(system.db)
    if metrics_port and not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import start_http_server

        try:
            start_http_server(metrics_port)
        except OSError as exc:
            problem = cannot_listen("0.0.0.0", metrics_port, exc)
            print(f"dingdan: --metrics-port: {problem}", file=sys.stderr)
            return 1
        log.info("timer worker metrics on http://0.0.0.0:%d/metrics", metrics_port)
    stop = threading.Event()
    # Before the first sweep, which may be long (everything that fell due while down): a
    # SIGTERM during it still ends the worker cleanly once that sweep is over.
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    scheduler = TimerScheduler(system, heartbeat_file=heartbeat_file)
    _freeze_startup_heap(system)
    scheduler.start()
    log.info("Dingdan timer worker running")
    try:
        while not stop.wait(1):
            if exit_with_parent and os.getppid() != parent:
                log.warning("the serving process is gone; the timer worker stops")
                break
    except KeyboardInterrupt:
        pass
    finally:
        scheduler.shutdown()
    return 0


# -- helpers ------------------------------------------------------------------------------


def _setup(system, demo) -> None:
    system.setup()
    if demo:
        for role in ROLES:
            system.tasks.add_user(role, [role], password="demo")
        log.info("demo users: %s (password: demo)", ", ".join(ROLES))


def _bind_problem(host, port) -> str | None:
    """Why `host:port` cannot be listened on (as a server binds it), or None."""
    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
        with socket.socket(family, kind, proto) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind(address)
    except OSError as exc:
        return cannot_listen(host, port, exc)
    return None


def _exit_on_sigterm(*_):
    raise SystemExit(0)  # unwinds waitress, so the scheduler lets go of its lease


def _prepare_environment(runtime: Path, heartbeat: Path) -> None:
    """What the forked web workers and the timer worker must share, set before any of them
    (or prometheus_client) starts."""
    metrics_dir = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if metrics_dir:  # the operator's: empty it, as prometheus_client asks at each start
        Path(metrics_dir).mkdir(parents=True, exist_ok=True)
        for stale in Path(metrics_dir).glob("*.db"):
            stale.unlink()
    else:
        (runtime / "metrics").mkdir()
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(runtime / "metrics")
    os.environ["DINGDAN_SCHEDULER_HEARTBEAT"] = str(heartbeat)
    if not os.environ.get("DINGDAN_SECRET_KEY"):  # only --demo gets here without one
        log.warning("DINGDAN_SECRET_KEY is not set: one is made up for this run's workers")
        os.environ["DINGDAN_SECRET_KEY"] = secrets.token_hex(32)


def _web_app(database):
    """Build the system and the app in a web worker, after the fork."""
    from .app import create_app
    from .composition import build

    system = build(database)
    app = create_app(system)
    _freeze_startup_heap(system)
    return app


def _freeze_startup_heap(system) -> None:
    """Parse the deployed processes now and hide everything the process has made so far
    (modules, the app, the specs: some 130,000 objects) from the cyclic garbage collector.
    Steps leave cycles behind (a workflow and its tasks), so full collections keep coming,
    every few hundred requests, and each walked all of those objects again for nothing
    (benchmarks/PROFILE.md, eighth round)."""
    try:
        system.engine.load_deployed_specs()
    except Exception:  # a database down at start: /healthz says so; steps parse them later
        log.warning("could not read the deployed processes at start", exc_info=True)
    gc.collect()  # start-up's own garbage goes now instead of being frozen
    gc.freeze()
    # A step makes some 500 objects that outlive it (a cached workflow's tasks, their
    # data), so at Python's default of 700 the collector ran about once a step and a full
    # collection — walking every cached workflow — every hundred or so. At 10,000 a
    # completion of a cold instance spent 0.16 ms collecting instead of 0.45 (of 4.4-5.1,
    # in process; benchmarks/PROFILE.md, tenth round); a cycle waits a little longer.
    gc.set_threshold(*COLLECTOR_THRESHOLDS)


# The cyclic collector's thresholds in the service's processes (Python's: 700, 10, 10).
COLLECTOR_THRESHOLDS = (10_000, 10, 10)


def _worker_exited(_server, worker) -> None:
    from prometheus_client import multiprocess  # not webui.metrics: the master counts nothing

    multiprocess.mark_process_dead(worker.pid)


def _configure_logging() -> None:
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    logging.getLogger("apscheduler").setLevel(logging.WARNING)  # a line per sweep is noise
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)
    logging.getLogger("spiff").setLevel(logging.WARNING)  # a line per task state change


def _gunicorn_classes():
    """gunicorn is imported only for `serve --workers` (and only on Unix)."""
    from gunicorn.app.base import BaseApplication
    from gunicorn.arbiter import Arbiter

    class TimerWorkerArbiter(Arbiter):
        """gunicorn's master, also keeping one timer worker running."""

        def __init__(self, app):
            super().__init__(app)
            self.timer_command = app.timer_command
            self.heartbeat = app.heartbeat
            self.timer_process = None
            self.timer_started = 0.0

        def start(self):
            super().start()
            self._start_timer_worker()

        def manage_workers(self):
            super().manage_workers()
            process = self.timer_process
            if process is not None and process.poll() is not None:
                now = time.monotonic()
                if now - self.timer_started >= TIMER_WORKER_RESTART_SECONDS:
                    self.log.error(
                        "timer worker (pid:%s) exited (%s); starting another",
                        process.pid,
                        process.returncode,
                    )
                    self._start_timer_worker()

        def stop(self, graceful=True):
            process, self.timer_process = self.timer_process, None
            if process is not None and process.poll() is None:
                process.terminate()
            super().stop(graceful)
            if process is not None:
                try:
                    process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    process.kill()
                except ChildProcessError:  # already reaped by the arbiter
                    pass

        def _start_timer_worker(self):
            self.timer_started = time.monotonic()
            self.heartbeat.touch()  # it has STALE_AFTER to start and beat on its own
            self.timer_process = subprocess.Popen(self.timer_command)
            self.log.info("Booting timer worker with pid: %s", self.timer_process.pid)

    class Application(BaseApplication):
        def __init__(self, options, load_app, timer_command, heartbeat):
            self.options = options
            self.load_app = load_app
            self.timer_command = timer_command
            self.heartbeat = heartbeat
            super().__init__()

        def load_config(self):
            for key, value in self.options.items():
                if key in self.cfg.settings:
                    self.cfg.set(key, value)

        def load(self):
            return self.load_app()

        def run(self):
            try:
                TimerWorkerArbiter(self).run()
            except RuntimeError as exc:
                print(f"dingdan: {exc}", file=sys.stderr)
                sys.exit(1)

    return Application


def _GunicornApplication(options, load_app, timer_command, heartbeat):  # noqa: N802 — a class
    return _gunicorn_classes()(options, load_app, timer_command, heartbeat)
