"""Fill English translations into the catalogue from a table kept beside it.

Source strings are Chinese (the UI speaks zh-CN first); `en*.tsv` (one per area of the UI)
hold `中文<TAB>English` lines. Run by `make i18n` after `pybabel extract`/`update`; lists
what is still missing.
"""

import sys
from pathlib import Path

from babel.messages.pofile import read_po, write_po

HERE = Path(__file__).parent


def main() -> int:
    table = {}
    for path in sorted(HERE.glob("en*.tsv")):
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip() and not line.startswith("#"):
                source, english = line.split("\t", 1)
                table[source] = english
    po_path = HERE / "en" / "LC_MESSAGES" / "messages.po"
    with po_path.open("rb") as handle:
        catalog = read_po(handle, locale="en")
    missing = []
    for message in catalog:
        if not message.id:
            continue
        key = message.id if isinstance(message.id, str) else message.id[0]
        if key in table:
            message.string = table[key]
            message.flags.discard("fuzzy")
        elif not message.string:
            missing.append(key)
    with po_path.open("wb") as handle:
        write_po(handle, catalog, width=100)
    for key in missing:
        print(f"no English for: {key}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
