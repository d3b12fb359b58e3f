"""The database schema (SQLAlchemy 2.0 declarative models). Times are stored in UTC."""

from datetime import UTC, date, datetime

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.dialects import sqlite
from sqlalchemy.engine import processors
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator


class UtcDateTime(TypeDecorator):
    """A timezone-aware datetime on every database: SQLite forgets the zone, so restore UTC."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        return _aware(value)

    def process_result_value(self, value, dialect):
        return _utc(value)

    def bind_processor(self, dialect):
        """On SQLite, the text SQLAlchemy's DATETIME writes (its default storage format) of
        the time in UTC, in one function: its own builds a dict of the fields and formats
        them, after this decorator's check, three Python calls a value (a step writes a
        dozen). It also wrote an aware time's wall clock whatever its zone."""
        impl = self.impl_instance.dialect_impl(dialect)
        if getattr(impl, "_storage_format", None) is sqlite.DATETIME._storage_format:
            return _sqlite_text
        return super().bind_processor(dialect)

    def result_processor(self, dialect, coltype):
        """One function a value where the driver's value is a datetime already (psycopg)
        or SQLite's text: a list of 500 tasks reads 1,500 of them, and the decorator's
        layers (the impl's processor, then process_result_value) cost more than the rest
        of reading the row."""
        impl = self.impl_instance.dialect_impl(dialect).result_processor(dialect, coltype)
        if impl is None:
            return _utc
        if impl is processors.str_to_datetime:
            return _utc_from_text
        return super().result_processor(dialect, coltype)


def _utc(value):
    if value is None:
        return None
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def _aware(value):
    if value is not None and value.tzinfo is None:
        raise ValueError("naive datetimes are not stored")
    return value


def _sqlite_text(value):
    if value is None:
        return None
    if value.tzinfo is not UTC:  # a naive time refused, another zone's converted
        value = _aware(value).astimezone(UTC)
    return value.replace(tzinfo=None).isoformat(" ", "microseconds")


def _utc_from_text(value):
    """`_utc` of what SQLAlchemy's SQLite DATETIME reads (datetime.fromisoformat)."""
    return None if value is None else _utc(datetime.fromisoformat(value))


class Base(DeclarativeBase):
    type_annotation_map = {datetime: UtcDateTime, dict: JSON, list: JSON}


class ProcessVersion(Base):
    """One deployed version of one process key; its spec is stored once, here."""

    __tablename__ = "process_versions"
    __table_args__ = (UniqueConstraint("key", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(200), index=True)
    version: Mapped[int]
    name: Mapped[str] = mapped_column(String(500))
    sha256: Mapped[str] = mapped_column(String(64))
    filename: Mapped[str] = mapped_column(String(500))
    bpmn: Mapped[str] = mapped_column(Text)
    called: Mapped[list] = mapped_column(default=list)
    # The version of each called process bundled into this one: {key: version}.
    called_versions: Mapped[dict] = mapped_column(default=dict)
    spec_json: Mapped[str] = mapped_column(Text)
    start_form: Mapped[str | None] = mapped_column(String(200))
    deployed_by: Mapped[str | None] = mapped_column(String(200))
    deployed_at: Mapped[datetime]


class Instance(Base):
    __tablename__ = "instances"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    process_key: Mapped[str] = mapped_column(String(200), index=True)
    process_version_id: Mapped[int] = mapped_column(ForeignKey("process_versions.id"))
    version: Mapped[int]
    status: Mapped[str] = mapped_column(String(20), index=True)
    stage: Mapped[str | None] = mapped_column(String(50))
    file_number: Mapped[str | None] = mapped_column(String(50), unique=True)
    started_by: Mapped[str] = mapped_column(String(200), index=True)
    started_at: Mapped[datetime]
    ended_at: Mapped[datetime | None]
    data: Mapped[dict] = mapped_column(default=dict)
    # Why the instance is `failed`: element, error, when, and the step to retry.
    incident: Mapped[dict | None] = mapped_column(default=None)
    suspended: Mapped[bool] = mapped_column(Boolean, default=False)
    # The engine's workflow (engine/spiff.py); loaded only when a step needs it and the
    # engine has no copy of this lock_version cached: it grows with the history.
    state: Mapped[str] = mapped_column(Text, deferred=True)
    lock_version: Mapped[int] = mapped_column(default=1)

    __mapper_args__ = {"version_id_col": lock_version}


class StateSegment(Base):
    """A frozen run of finished tasks of one instance's workflow state: written once, read
    back in front of its task table (engine/state_store.py). The instance's state lists
    the segments it uses, in order; a segment it no longer lists is never read."""

    __tablename__ = "state_segments"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    instance_id: Mapped[str] = mapped_column(ForeignKey("instances.id"), index=True)
    text: Mapped[str] = mapped_column(Text)


class ReportFacts(Base):
    """What the reports need of one order_service instance (tasks/report_facts.py), brought
    up to date by the reports before they count: the page aggregates these rows, not every
    instance's data and tasks. `revision` is the instance's lock_version the row was worked
    out at: older than the instance, the row is stale; and as it only grows, a report knows
    when a row it counted has changed."""

    __tablename__ = "report_facts"
    # The page reads one period, in the order the applications were submitted.
    __table_args__ = (Index("ix_report_facts_period", "started_at", "instance_id"),)

    instance_id: Mapped[str] = mapped_column(ForeignKey("instances.id"), primary_key=True)
    version: Mapped[int]
    started_at: Mapped[datetime]
    revision: Mapped[int] = mapped_column(default=1)
    month: Mapped[str] = mapped_column(String(7))  # submitted, Asia/Shanghai: YYYY-MM
    region: Mapped[str] = mapped_column(String(200))  # the city
    unit: Mapped[str] = mapped_column(String(500))
    file_number: Mapped[str | None] = mapped_column(String(50))
    decision: Mapped[str | None] = mapped_column(String(50))
    topics: Mapped[list]  # distinct, as the application lists them
    experts: Mapped[list]  # distinct names
    evaluations: Mapped[int]
    content_sum: Mapped[float]
    expert_sum: Mapped[float]
    organisation_sum: Mapped[float]
    content_count: Mapped[int]
    expert_count: Mapped[int]
    organisation_count: Mapped[int]
    visit_methods: Mapped[list]  # one per follow-up visit
    needing_methods: Mapped[list]  # one per visit that asks for an extended service
    needing: Mapped[int]
    agreed: Mapped[bool] = mapped_column(Boolean)
    contract_price: Mapped[float]
    # The cost approval's amounts per category and total; no total, no budget.
    budget_expert_fee: Mapped[float | None]
    budget_travel: Mapped[float | None]
    budget_venue: Mapped[float | None]
    budget_materials: Mapped[float | None]
    budget_other: Mapped[float | None]
    budget_total: Mapped[float | None]
    review_state: Mapped[str | None] = mapped_column(String(20))
    review_created_at: Mapped[datetime | None]
    review_due_at: Mapped[datetime | None]
    review_completed_at: Mapped[datetime | None]
    # Seconds from a stage's first task opening to its last one completed.
    application_seconds: Mapped[float | None]
    survey_seconds: Mapped[float | None]
    preparation_seconds: Mapped[float | None]
    implementation_seconds: Mapped[float | None]
    follow_up_seconds: Mapped[float | None]
    archiving_seconds: Mapped[float | None]


class HumanTask(Base):
    """An open or finished user task: the inbox reads this table, never the engine state."""

    __tablename__ = "tasks"
    # The inbox reads one range per role (unclaimed tasks) and one per assignee (held
    # tasks), each in its page order: due_at, created_at, id (tasks/inbox.py).
    # An instance's open tasks (its record, a client looking up its task) are one range
    # however long its history.
    __table_args__ = (
        Index("ix_tasks_inbox_role", "state", "role", "due_at", "created_at", "id"),
        Index("ix_tasks_inbox_assignee", "state", "assignee", "due_at", "created_at", "id"),
        Index("ix_tasks_instance_state", "instance_id", "state"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    instance_id: Mapped[str] = mapped_column(ForeignKey("instances.id"))
    process_key: Mapped[str] = mapped_column(String(200))
    # The BPMN process (main or called) whose diagram holds the element.
    diagram: Mapped[str | None] = mapped_column(String(200))
    element: Mapped[str] = mapped_column(String(200))
    name: Mapped[str] = mapped_column(String(500))
    name_en: Mapped[str | None] = mapped_column(String(500))
    role: Mapped[str | None] = mapped_column(String(100))
    form_key: Mapped[str | None] = mapped_column(String(200))
    subject: Mapped[str | None] = mapped_column(String(500))
    stage: Mapped[str | None] = mapped_column(String(50))
    state: Mapped[str] = mapped_column(String(20))  # open, completed, cancelled
    assignee: Mapped[str | None] = mapped_column(String(200))
    due_at: Mapped[datetime | None]
    escalated_at: Mapped[datetime | None]
    created_at: Mapped[datetime]
    completed_at: Mapped[datetime | None]
    completed_by: Mapped[str | None] = mapped_column(String(200))
    # Set when staff entered the form for the enterprise or expert the task is for.
    on_behalf_of: Mapped[str | None] = mapped_column(String(500))


class Timer(Base):
    """A timer event waiting in an instance; the sweep reads due rows, not engine state."""

    __tablename__ = "timers"
    # The sweep claims waiting timers in (due_at, id) order: one index range scan per claim.
    # An instance's waiting timers are one range, in due order, however many fired before.
    __table_args__ = (
        Index("ix_timers_claim", "state", "due_at", "id"),
        Index("ix_timers_instance_state", "instance_id", "state", "due_at"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    instance_id: Mapped[str] = mapped_column(ForeignKey("instances.id"))
    diagram: Mapped[str | None] = mapped_column(String(200))
    element: Mapped[str] = mapped_column(String(200))
    name: Mapped[str | None] = mapped_column(String(500))
    attached_to: Mapped[str | None] = mapped_column(String(200))
    due_at: Mapped[datetime]
    state: Mapped[str] = mapped_column(String(20))  # waiting, fired, cancelled
    fired_at: Mapped[datetime | None]


class AuditEvent(Base):
    """One change, appended and never altered. Each chain — an instance's events, or the
    system's (deploys, users, calendar) — is hash-linked: `hash` covers the event's
    canonical JSON and the previous event's hash, so an edited or deleted row shows."""

    __tablename__ = "audit_events"
    __table_args__ = (UniqueConstraint("chain", "seq"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    chain: Mapped[str] = mapped_column(String(36))
    instance_id: Mapped[str | None] = mapped_column(String(36), index=True)
    seq: Mapped[int]
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime]
    type: Mapped[str] = mapped_column(String(50))
    actor: Mapped[str | None] = mapped_column(String(200))
    element: Mapped[str | None] = mapped_column(String(200))
    task_id: Mapped[str | None] = mapped_column(String(36))
    data: Mapped[dict] = mapped_column(default=dict)


class AuditHead(Base):
    """The last event of each chain, so that cutting events off a chain's end shows too."""

    __tablename__ = "audit_heads"

    chain: Mapped[str] = mapped_column(String(36), primary_key=True)
    seq: Mapped[int]
    hash: Mapped[str] = mapped_column(String(64))


class Notice(Base):
    """A message to a role or a user (the rejection to the applicant, say)."""

    __tablename__ = "notices"

    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[str] = mapped_column(ForeignKey("instances.id"), index=True)
    role: Mapped[str | None] = mapped_column(String(100), index=True)
    username: Mapped[str | None] = mapped_column(String(200), index=True)
    element: Mapped[str | None] = mapped_column(String(200))
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime]
    read_at: Mapped[datetime | None]


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(200), unique=True)
    password_hash: Mapped[str | None] = mapped_column(String(300))
    display_name: Mapped[str | None] = mapped_column(String(200))
    # An enterprise or expert user acts only for tasks whose subject is this name.
    subject_name: Mapped[str | None] = mapped_column(String(500))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime]


class UserRole(Base):
    __tablename__ = "user_roles"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    role: Mapped[str] = mapped_column(String(100), primary_key=True)


class ApiToken(Base):
    """A bearer token, stored as its SHA-256 only, valid until it expires."""

    __tablename__ = "api_tokens"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    username: Mapped[str] = mapped_column(String(200), index=True)
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]


class SignInFailure(Base):
    """A failed sign-in, kept while it counts towards throttling (webui/security.py). The
    username and the client address are stored only as keyed hashes: a password typed into
    the username field is never written down."""

    __tablename__ = "sign_in_failures"
    __table_args__ = (
        Index("ix_sign_in_failures_username_at", "username_key", "at"),
        Index("ix_sign_in_failures_address_at", "address_key", "at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    username_key: Mapped[str] = mapped_column(String(64))
    address_key: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime]


class Counter(Base):
    """Gap-free sequences (file numbers): incremented inside the step's transaction."""

    __tablename__ = "counters"

    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    value: Mapped[int] = mapped_column(Integer, default=0)


class StoredFile(Base):
    __tablename__ = "files"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    name: Mapped[str] = mapped_column(String(500))
    content_type: Mapped[str] = mapped_column(String(200))
    size: Mapped[int]
    sha256: Mapped[str] = mapped_column(String(64))
    content: Mapped[bytes] = mapped_column(LargeBinary)
    uploaded_by: Mapped[str | None] = mapped_column(String(200))
    uploaded_at: Mapped[datetime]
    instance_id: Mapped[str | None] = mapped_column(String(36), index=True)


class Document(Base):
    """A generated document (the official letter, the archive record), kept as HTML."""

    __tablename__ = "documents"
    __table_args__ = (UniqueConstraint("instance_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[str] = mapped_column(ForeignKey("instances.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    title: Mapped[str] = mapped_column(String(500))
    content_type: Mapped[str] = mapped_column(String(100))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime]
    created_by: Mapped[str | None] = mapped_column(String(200))


class Expert(Base):
    """The register of experts and service institutions that staff choose from."""

    __tablename__ = "experts"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), index=True)
    organisation: Mapped[str] = mapped_column(String(300))
    specialty: Mapped[str] = mapped_column(String(300))
    qualification: Mapped[str] = mapped_column(String(300))
    experience: Mapped[str | None] = mapped_column(Text)
    phone: Mapped[str | None] = mapped_column(String(50))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    updated_by: Mapped[str | None] = mapped_column(String(200))
    updated_at: Mapped[datetime]


class CalendarOverride(Base):
    __tablename__ = "calendar_overrides"

    day: Mapped[date] = mapped_column(primary_key=True)
    is_working_day: Mapped[bool] = mapped_column(Boolean)
    note: Mapped[str | None] = mapped_column(String(500))
    updated_by: Mapped[str | None] = mapped_column(String(200))
    updated_at: Mapped[datetime]


class Lease(Base):
    """A named lease held by one process until it expires (engine/leases.py): on SQLite, which
    timer scheduler sweeps while the others stand by."""

    __tablename__ = "leases"

    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    holder: Mapped[str] = mapped_column(String(200))
    expires_at: Mapped[datetime]
