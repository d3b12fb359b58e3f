"""Diagram drafts: a process owner's unfinished edit of a process, kept until deployed.

One shared draft per process, as a file (the BPMN and a small JSON note of who saved it
and when) under a directory the composition root chooses; saving replaces it.
"""

import json
import os
import re
import tempfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from engine.errors import Forbidden, NotFound, TooLarge

from .roles import Actor

MAX_DRAFT_BYTES = 5 * 1024 * 1024
_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]{0,199}$")


@dataclass
class Draft:
    key: str
    xml: str
    saved_by: str
    saved_at: datetime


class Drafts:
    def __init__(self, directory: Path, clock):
        self.directory = Path(directory)
        self.clock = clock

    def get(self, actor: Actor, key: str) -> Draft | None:
        _owner(actor)
        bpmn, note = self._paths(key)
        try:
            xml = bpmn.read_text(encoding="utf-8")
            meta = json.loads(note.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        return Draft(key, xml, meta["saved_by"], datetime.fromisoformat(meta["saved_at"]))

    def save(self, actor: Actor, key: str, xml: str) -> Draft:
        _owner(actor)
        if len(xml.encode("utf-8")) > MAX_DRAFT_BYTES:
            raise TooLarge(f"a draft may not be larger than {MAX_DRAFT_BYTES} bytes")
        bpmn, note = self._paths(key)
        draft = Draft(key, xml, actor.username, self.clock.now())
        self.directory.mkdir(parents=True, exist_ok=True)
        _write(bpmn, xml)
        note_text = {"saved_by": draft.saved_by, "saved_at": draft.saved_at.isoformat()}
        _write(note, json.dumps(note_text))
        return draft

    def discard(self, actor: Actor, key: str) -> None:
        _owner(actor)
        for path in self._paths(key):
            path.unlink(missing_ok=True)

    def _paths(self, key: str) -> tuple[Path, Path]:
        if not _KEY.match(key):
            raise NotFound(f"process '{key}' does not exist")
        return self.directory / f"{key}.bpmn", self.directory / f"{key}.json"


def _owner(actor: Actor) -> None:
    if not actor.has("process_owner"):
        raise Forbidden("only a process owner may edit diagrams")


def _write(path: Path, text: str) -> None:
    """Replace the file whole: a reader never sees half of it."""
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".draft-")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(text)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
