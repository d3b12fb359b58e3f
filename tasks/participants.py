"""What an enterprise or expert user sees of an instance it takes part in.

Such a user sees an instance only through its own tasks (records.tasks_taken_part_in):
the questionnaire or evaluation of its enterprise, the outline of its expert. The rest of
the record — the applicant's contacts and documents, the other enterprises' answers, the
experts' phones, the budget — is the center's and the applicant's, so the user gets its
own submissions, the task rows and events of its own tasks, and what the center sends
every participant: the official letter (the activity's date and venue) and the file number.
"""

from dataclasses import dataclass

from sqlalchemy import select

from engine.models import HumanTask, Instance

from .roles import Actor, sees_all

# Instance data and documents every participant of the activity is given.
SHARED_DATA = frozenset({"issue_official_letter", "file_number"})
SHARED_DOCUMENTS = frozenset({"official_letter"})


@dataclass(frozen=True)
class Participation:
    """The tasks through which a participant sees one instance."""

    task_ids: frozenset[str]
    subjects: dict[str, frozenset]  # element -> the subjects of its tasks that are the user's

    def data(self, data: dict) -> dict:
        """The instance data this participant may read."""
        shown = {}
        for key, value in data.items():
            if key in SHARED_DATA:
                shown[key] = value
            elif key in self.subjects and _per_item(value):
                mine = [e for e in value if e.get("subject") in self.subjects[key]]
                if mine:
                    shown[key] = mine
            elif key in self.subjects:
                shown[key] = value
        return shown

    def refers_to(self, file_id: str, data: dict) -> bool:
        """Whether the file is one of this participant's own submissions'."""
        return file_id in repr(self.data(data))


def is_participant(actor: Actor, instance: Instance) -> bool:
    """Sees the instance only through tasks of its own (it neither reads every instance
    nor started this one)."""
    return not sees_all(actor) and instance.started_by != actor.username


def participation(session, actor: Actor, instance: Instance, through) -> Participation:
    """`through`: the condition on task rows the user sees the instance by."""
    rows = session.execute(
        select(HumanTask.id, HumanTask.element, HumanTask.subject).where(
            HumanTask.instance_id == instance.id, through
        )
    ).all()
    subjects: dict[str, set] = {}
    for _, element, subject in rows:
        subjects.setdefault(element, set()).add(subject)
    return Participation(
        frozenset(row.id for row in rows),
        {element: frozenset(found) for element, found in subjects.items()},
    )


def _per_item(value) -> bool:
    return isinstance(value, list) and all(isinstance(e, dict) and "subject" in e for e in value)
