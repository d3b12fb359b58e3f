"""Running the service: `dingdan serve` (web + scheduler) and `dingdan worker` (scheduler)."""

import signal
import threading

from tasks.roles import ROLES

from .app import create_app
from .scheduler import TimerScheduler


def serve(system, host="127.0.0.1", port=5000, demo=False) -> int:
    system.setup()
    if demo:
        for role in ROLES:
            system.tasks.add_user(role, [role], password="demo")
    scheduler = TimerScheduler(system)
    scheduler.start()
    app = create_app(system)
    try:
        app.run(host=host, port=port, threaded=True, use_reloader=False)
    finally:
        scheduler.shutdown()
    return 0


def run_worker(system) -> int:
    system.setup()
    scheduler = TimerScheduler(system)
    scheduler.start()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        stop.wait()
    except KeyboardInterrupt:
        pass
    finally:
        scheduler.shutdown()
    return 0
