"""The composition root: builds the engine, the forms and the task service from settings.

The web app, the command line and the tests all build the system here, so there is one
place that decides which database, clock, calendar and directories are used.
"""

import os
from dataclasses import dataclass
from datetime import time
from pathlib import Path

from sqlalchemy import text

from engine.clock import SettableClock, SystemClock
from engine.db import Database
from engine.runtime import Engine, Settings
from forms import FormRegistry
from tasks.documents import DocumentRenderer
from tasks.drafts import Drafts
from tasks.files import MAX_FILE_BYTES
from tasks.operations import Operations
from tasks.records import Records
from tasks.roles import ROLES
from tasks.service import TaskService

REPO_ROOT = Path(__file__).resolve().parent.parent
# Process owners' unsaved diagram edits (tasks/drafts.py), beside the default database.
DEFAULT_DRAFTS_DIR = Path("instance") / "drafts"
PROCESSES_DIR = Path(os.environ.get("DINGDAN_PROCESSES", REPO_ROOT / "processes"))


@dataclass
class System:
    db: Database
    engine: Engine
    forms: FormRegistry
    tasks: TaskService
    records: Records
    operations: Operations
    processes_dir: Path
    max_file_bytes: int = MAX_FILE_BYTES
    drafts: Drafts | None = None

    def setup(self) -> list:
        """Bring the schema up to date (migrations) and deploy processes/ (a no-op when
        nothing changed). Safe when several processes start at once."""
        self.db.upgrade()
        files = bpmn_files(self.processes_dir)
        if not files:
            return []
        with self.engine.unit_of_work() as uow:
            if not self.db.is_sqlite:  # one deployer at a time: the system chain's lock
                uow.session.execute(text("SELECT pg_advisory_xact_lock(4242)"))
            return self.engine.deploy(uow, files, "system")


def settings_from_env(environ=os.environ) -> Settings:
    hour, minute = environ.get("DINGDAN_CLOSE_OF_BUSINESS", "17:30").split(":")
    return Settings(
        follow_up_working_days=int(environ.get("DINGDAN_FOLLOW_UP_WORKING_DAYS", "5")),
        close_of_business=time(int(hour), int(minute)),
    )


def build(database_url=None, clock=None, settings=None, processes_dir=None) -> System:
    processes_dir = Path(processes_dir or PROCESSES_DIR)
    db = Database(database_url)
    forms = FormRegistry.from_directory(processes_dir / "forms")
    if clock is None:
        clock = SettableClock() if os.environ.get("DINGDAN_TEST_CLOCK") == "1" else SystemClock()
    engine = Engine(
        db,
        clock,
        settings or settings_from_env(),
        form_exists=lambda filename: _has_form(forms, filename),
        role_exists=ROLES.__contains__,  # a lane names a role key
    )
    documents = DocumentRenderer(processes_dir / "templates")
    tasks = TaskService(engine, forms, documents)
    records = Records(engine, forms, tasks.may_see)
    operations = Operations(engine, tasks)
    max_file_bytes = int(os.environ.get("DINGDAN_MAX_FILE_BYTES", MAX_FILE_BYTES))
    drafts = Drafts(Path(os.environ.get("DINGDAN_DRAFTS_DIR", DEFAULT_DRAFTS_DIR)), clock)
    return System(
        db, engine, forms, tasks, records, operations, processes_dir, max_file_bytes, drafts
    )


def _has_form(forms: FormRegistry, filename: str) -> bool:
    try:
        forms.get_by_filename(filename)
    except KeyError:
        return False
    return True


def bpmn_files(directory: Path) -> dict[str, bytes]:
    return {path.name: path.read_bytes() for path in sorted(directory.glob("*.bpmn"))}
