"""Who may do what: the role keys of PROCEDURE.md and the rules between them."""

from dataclasses import dataclass, field

ROLES = (
    "applicant",
    "center_staff",
    "center_head",
    "division_head",
    "expert",
    "enterprise",
    "process_owner",
    "auditor",
    "admin",
)

# Lanes whose people usually have no account: center staff enter their forms for them.
PROXY_ROLES = {"enterprise": "center_staff", "expert": "center_staff"}

# Roles that see every instance (read); the applicant sees only its own.
SEE_ALL_ROLES = frozenset(
    {"center_staff", "center_head", "division_head", "auditor", "admin", "process_owner"}
)

DEFAULT_STARTER_ROLES = frozenset({"applicant", "center_staff"})


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
        # The applicant's tasks belong to the applicant who applied, not to every applicant.
        return ("self", None) if actor.has("applicant") and actor.username == starter else None
    if actor.has(task_role):
        if actor.subject_name and task_role in PROXY_ROLES and subject != actor.subject_name:
            return None  # an enterprise user acts only for its own enterprise
        return ("self", None)
    proxy = PROXY_ROLES.get(task_role)
    if proxy and actor.has(proxy):
        return ("proxy", subject or task_role)
    return None


def task_roles_for(actor: Actor) -> set[str]:
    """The task roles whose unclaimed tasks reach this actor's group inbox."""
    roles = set(actor.roles)
    roles.update(lane for lane, proxy in PROXY_ROLES.items() if actor.has(proxy))
    return roles


def sees_all(actor: Actor) -> bool:
    return bool(actor.roles & SEE_ALL_ROLES)
