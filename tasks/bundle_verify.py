#!/usr/bin/env python3
"""Check an archive bundle of the Dingdan service: its audit log and its files.

    python verify.py [events.jsonl]

Needs nothing but Python 3.8 or later. Each line of events.jsonl is one audit event as
`{"event": {...}, "prev_hash": "...", "hash": "..."}`; an event's hash is the SHA-256 of
the previous event's hash followed by the event as canonical JSON (keys sorted, no spaces,
UTF-8), and the first event follows 64 zeros. The script recomputes every hash and checks
that each event follows the one before, that none is missing (seq 1, 2, 3, …), that the
chain ends at the head recorded in head.json (when it lies beside events.jsonl), and that
every file listed in ../manifest.json (when there is one) has its size and SHA-256.

Exit status 0 when everything holds; 1 naming the first problem found.
"""

import hashlib
import json
import sys
from pathlib import Path

GENESIS = "0" * 64


def canonical(event) -> str:
    return json.dumps(event, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def check_events(path: Path):
    """(number of events, the last hash) or raise ValueError naming the first problem."""
    previous, expected_seq, chain = GENESIS, 1, None
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            where = f"{path.name} line {number}"
            try:
                record = json.loads(line)
                event, prev_hash, hash_ = record["event"], record["prev_hash"], record["hash"]
                seq = event["seq"]
            except (ValueError, KeyError, TypeError):
                raise ValueError(f"{where}: not an audit event") from None
            if chain is None:
                chain = event.get("chain")
            if event.get("chain") != chain:
                raise ValueError(f"{where}: belongs to another chain ({event.get('chain')})")
            if seq != expected_seq:
                raise ValueError(f"{where}: event {seq} where event {expected_seq} should be")
            if prev_hash != previous:
                raise ValueError(f"{where}: event {seq} does not follow the event before it")
            digest = hashlib.sha256((prev_hash + canonical(event)).encode("utf-8")).hexdigest()
            if digest != hash_:
                raise ValueError(f"{where}: event {seq} does not match its hash: it was altered")
            previous, expected_seq = hash_, seq + 1
    if expected_seq == 1:
        raise ValueError(f"{path.name}: no events")
    return expected_seq - 1, previous


def check_head(path: Path, count: int, last_hash: str) -> None:
    head = json.loads(path.read_text(encoding="utf-8"))
    if (head.get("seq"), head.get("hash")) != (count, last_hash):
        raise ValueError(
            f"the log ends at event {count}, its recorded head is event {head.get('seq')}: "
            "events are missing from its end"
        )


def check_manifest(path: Path) -> int:
    manifest = json.loads(path.read_text(encoding="utf-8"))
    root = path.parent.resolve()
    for entry in manifest["files"]:
        target = (root / entry["path"]).resolve()
        if root not in target.parents:
            raise ValueError(f"manifest: {entry['path']} lies outside the bundle")
        if not target.is_file():
            raise ValueError(f"manifest: {entry['path']} is missing")
        content = target.read_bytes()
        if len(content) != entry["size"] or hashlib.sha256(content).hexdigest() != entry["sha256"]:
            raise ValueError(f"manifest: {entry['path']} does not match its checksum")
    return len(manifest["files"])


def main(argv) -> int:
    events = Path(argv[1]) if len(argv) > 1 else Path(__file__).resolve().with_name("events.jsonl")
    try:
        count, last_hash = check_events(events)
        head = events.with_name("head.json")
        if head.is_file():
            check_head(head, count, last_hash)
        manifest = events.parent.parent / "manifest.json"
        files = check_manifest(manifest) if manifest.is_file() else None
    except (OSError, ValueError, KeyError, TypeError) as problem:
        print(f"FAILED: {problem}")
        return 1
    print(f"OK: {count} events, the chain ends at {last_hash}")
    if files is not None:
        print(f"OK: {files} files match the manifest")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
