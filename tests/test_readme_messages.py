"""The README's list of Message types is the emulator's own table (``scripts/message_types.py`` writes it)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _script():
    spec = importlib.util.spec_from_file_location("message_types", ROOT / "scripts" / "message_types.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_readme_lists_the_message_types_of_the_table() -> None:
    script = _script()
    listed = script.in_readme((ROOT / "README.md").read_text())
    assert listed == script.render(), "README is stale: run python scripts/message_types.py --write"
    assert listed.startswith("89 Message types")
