"""What an instance looks like outside: the API's answers and the archive bundle's
instance.json share these JSON-ready shapes; times in Asia/Shanghai with their offset."""

from engine.calendar import SHANGHAI


def iso(value):
    return value.astimezone(SHANGHAI).isoformat() if value is not None else None


def instance_summary(instance) -> dict:
    return {
        "id": instance.id,
        "process": instance.process_key,
        "version": instance.version,
        "status": instance.status,
        "stage": instance.stage,
        "file_number": instance.file_number,
        "started_by": instance.started_by,
        "started_at": iso(instance.started_at),
        "ended_at": iso(instance.ended_at),
        "suspended": instance.suspended,
        "incident": instance.incident,
    }
