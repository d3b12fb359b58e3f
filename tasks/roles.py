"""Who may do what: the role keys of PROCEDURE.md and the rules between them."""

from dataclasses import dataclass, field

ROLES = (
    "applicant",
    "center_staff",
    "center_head",
    "division_head",
    "expert",
    "enterprise",
    # The order procedures (客户订单管理, 接订单, 订单式生产, 订单执行).
    "customer",
    "sales",
    "order_clerk",
    "production",
    "purchasing",
    "quality",
    "warehouse",
    "finance",
    "department_head",
    "management",
    "process_owner",
    "auditor",
    "admin",
)

# Lanes whose people usually have no account: staff enter their forms for them (a customer's
# by sales staff, who also place orders on a customer's behalf: 业务员代客户下单).
PROXY_ROLES = {"enterprise": "center_staff", "expert": "center_staff", "customer": "sales"}
# Staff who start an instance for an applicant (a paper application registered at the
# counter) act for it on that instance's applicant tasks.
REGISTRAR_ROLE = "center_staff"

# Roles that see every instance (read); the applicant sees only its own. The company's order
# staff read every order: they answer for tasks of orders that others started.
ORDER_STAFF_ROLES = frozenset(
    {
        "sales",
        "order_clerk",
        "production",
        "purchasing",
        "quality",
        "warehouse",
        "finance",
        "department_head",
        "management",
    }
)
SEE_ALL_ROLES = (
    frozenset({"center_staff", "center_head", "division_head", "auditor", "admin", "process_owner"})
    | ORDER_STAFF_ROLES
)

DEFAULT_STARTER_ROLES = frozenset({"applicant", "center_staff"})

# Who reads the process pages (versions, diagrams, comparisons): the owners who change the
# processes, the head who answers for them, admins and auditors. Other staff see a
# diagram on the instance pages.
PROCESS_READER_ROLES = frozenset({"process_owner", "center_head", "admin", "auditor"})


@dataclass(frozen=True)
class Actor:
    """The signed-in person a request acts for."""

    username: str
    roles: frozenset[str] = field(default_factory=frozenset)
    # An enterprise or expert user: the name its tasks carry as their subject.
    subject_name: str | None = None

    def has(self, role: str) -> bool:
        return role in self.roles


def acting_role(actor: Actor, task_role: str | None, subject: str | None, starter: str):
    """How `actor` may act on a task of `task_role` for `subject` in an instance that
    `starter` started: ("self", None), ("proxy", whom it acts for), or None."""
    if task_role is None:
        return None
    if task_role == "applicant":
        # The applicant's tasks belong to whoever applied, not to every applicant: the
        # applicant itself, or the clerk who registered the application of a unit without
        # an account (PROCEDURE.md: center staff register applications) acting for it.
        if actor.username != starter:
            return None
        if actor.has("applicant"):
            return ("self", None)
        return ("proxy", "applicant") if actor.has(REGISTRAR_ROLE) else None
    if actor.has(task_role):
        if _for_another_subject(actor, task_role, subject):
            return None  # an enterprise user acts only for its own enterprise
        return ("self", None)
    proxy = PROXY_ROLES.get(task_role)
    if proxy and actor.has(proxy):
        return ("proxy", subject or task_role)
    return None


def for_someone_else(actor: Actor, task_role: str | None, subject: str | None) -> bool:
    """A task of a linked enterprise or expert user's own lane, for another enterprise or
    expert: the user neither acts on it nor sees it (one company's answers are not
    another's to read), unless it reads every instance anyway."""
    return (
        actor.has(task_role)
        and _for_another_subject(actor, task_role, subject)
        and not sees_all(actor)
    )


def _for_another_subject(actor: Actor, task_role: str | None, subject: str | None) -> bool:
    """A linked enterprise or expert user, and a task of a lane with subjects for another."""
    return bool(actor.subject_name) and task_role in PROXY_ROLES and subject != actor.subject_name


def unlinked_lanes(actor: Actor) -> frozenset[str]:
    """The enterprise and expert lanes of a user linked to no enterprise or expert (the
    demo users, one a role): it acts in those lanes for anyone, and sees the instances
    with tasks there. A linked user acts only for its own name."""
    if actor.subject_name:
        return frozenset()
    return frozenset(lane for lane in PROXY_ROLES if actor.has(lane))


def task_roles_for(actor: Actor) -> set[str]:
    """The task roles whose unclaimed tasks reach this actor's group inbox."""
    roles = set(actor.roles)
    roles.update(lane for lane, proxy in PROXY_ROLES.items() if actor.has(proxy))
    if actor.has(REGISTRAR_ROLE):
        roles.add("applicant")  # of the instances it started (tasks/inbox.py)
    return roles


def sees_all(actor: Actor) -> bool:
    return bool(actor.roles & SEE_ALL_ROLES)


def reads_processes(actor: Actor) -> bool:
    return bool(actor.roles & PROCESS_READER_ROLES)


def starter_roles(start_lane: str | None) -> frozenset[str]:
    """Who may start a process: its start event's lane and that lane's proxy; a diagram
    whose start event sits in no lane is started by an applicant or center staff."""
    if not start_lane:
        return DEFAULT_STARTER_ROLES
    proxy = PROXY_ROLES.get(start_lane)
    return frozenset({start_lane, proxy} - {None})
