"""Running the service: `dingdan serve` (web + scheduler) and `dingdan worker` (scheduler).

waitress serves the WSGI app: a production server in pure Python, threaded, on every
platform — Flask's own server is for development only.
"""

import logging
import signal
import threading

from waitress import serve as waitress_serve

from tasks.roles import ROLES

from .app import create_app
from .scheduler import TimerScheduler

log = logging.getLogger("dingdan")


def serve(system, host="127.0.0.1", port=5000, demo=False, threads=8) -> int:
    _configure_logging()
    system.setup()
    if demo:
        for role in ROLES:
            system.tasks.add_user(role, [role], password="demo")
        log.info("demo users: %s (password: demo)", ", ".join(ROLES))
    scheduler = TimerScheduler(system)
    scheduler.start()
    app = create_app(system)
    log.info("Dingdan serving on http://%s:%d", host, port)
    try:
        waitress_serve(app, host=host, port=port, threads=threads, ident="dingdan")
    finally:
        scheduler.shutdown()
    return 0


def run_worker(system) -> int:
    _configure_logging()
    system.setup()
    scheduler = TimerScheduler(system)
    scheduler.start()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    log.info("Dingdan timer worker running")
    try:
        stop.wait()
    except KeyboardInterrupt:
        pass
    finally:
        scheduler.shutdown()
    return 0


def _configure_logging() -> None:
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    logging.getLogger("apscheduler").setLevel(logging.WARNING)  # a line per sweep is noise
