"""The README's list of the Message types the emulator produces, generated from its own table
(``emulator/messages.py``: ``MESSAGES``, ``FLOWS``). Run from the repository root:
``python scripts/message_types.py`` prints the list, ``--write`` puts it into README.md between its markers.
A test fails when the README and the table disagree.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))
from commercetools_customers_mcp.emulator.message_rules import FLOWS, MESSAGES

README = Path(__file__).resolve().parent.parent / "README.md"
START, END = "<!-- message-types:start -->", "<!-- message-types:end -->"


def _resource(type_id: str) -> str:
    return type_id.replace("-", " ").capitalize()


def render() -> str:
    """A table: each resource type, and every Message type it produces with what produces it."""
    count = len({rule.type for triggers in MESSAGES.values() for rules in triggers.values() for rule in rules})
    lines = [
        f"{count} Message types, by resource (what produces each: an update action, or a request).",
        "",
        "| Resource | Messages (produced by) |",
        "|---|---|",
    ]
    for type_id, triggers in MESSAGES.items():
        produced: dict[str, list[str]] = {}
        for trigger, rules in triggers.items():
            for rule in rules:
                produced.setdefault(rule.type, []).append(FLOWS.get(trigger, trigger))
        cells = ", ".join(f"`{kind}` ({' or '.join(by)})" for kind, by in produced.items())
        lines.append(f"| {_resource(type_id)} | {cells} |")
    return "\n".join(lines)


def in_readme(text: str) -> str:
    """The generated block as it stands in a README text."""
    return text.split(START, 1)[1].split(END, 1)[0].strip()


def main(argv: list[str]) -> int:
    block = render()
    if "--write" not in argv:
        print(block)
        return 0
    text = README.read_text()
    before, rest = text.split(START, 1)
    README.write_text(f"{before}{START}\n{block}\n{END}{rest.split(END, 1)[1]}")
    print(f"wrote {README}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
