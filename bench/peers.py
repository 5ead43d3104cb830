"""The peers we compare against, installed from the npm registry into bench/.peers/ (git-ignored).

bench/peers/package.json pins them. ``@commercetools/commerce-mcp`` 4.1.0 does not resolve as published, so the
manifest carries npm ``overrides`` and the install runs with ``--ignore-scripts``.
"""

from __future__ import annotations

import filecmp
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from .util import BENCH

MANIFEST = BENCH / "peers" / "package.json"
PEERS_DIR = BENCH / ".peers"
MOCK_LAUNCHER = BENCH / "mock_launcher.mjs"
MOCK_PACKAGE = PEERS_DIR / "node_modules" / "@labdigital" / "commercetools-mock" / "package.json"
COMMERCE_MCP = PEERS_DIR / "node_modules" / "@commercetools" / "commerce-mcp" / "dist" / "index.js"


@dataclass
class Peers:
    node: str | None
    mock: bool
    commerce_mcp: bool
    note: str = ""


def ensure(install: bool = True) -> Peers:
    node, npm = shutil.which("node"), shutil.which("npm")
    if not node or not npm:
        return Peers(None, False, False, "Node.js/npm not found: the peer columns are skipped.")
    PEERS_DIR.mkdir(exist_ok=True)
    target = PEERS_DIR / "package.json"
    fresh = target.exists() and filecmp.cmp(MANIFEST, target, shallow=False)
    if install and not (fresh and MOCK_PACKAGE.exists() and COMMERCE_MCP.exists()):
        shutil.copyfile(MANIFEST, target)
        print("installing the peers from npm into bench/.peers/ (about a minute, once) ...", flush=True)
        done = subprocess.run(
            [npm, "install", "--ignore-scripts", "--no-audit", "--no-fund", "--loglevel=error"],
            cwd=PEERS_DIR,
            capture_output=True,
            text=True,
            timeout=600,
        )
        if done.returncode != 0:
            tail = (done.stderr or done.stdout).strip().splitlines()[-3:]
            return Peers(node, False, False, "npm install of the peers failed: " + " / ".join(tail))
    note = ""
    if not MOCK_PACKAGE.exists() or not COMMERCE_MCP.exists():
        note = "peer packages missing under bench/.peers/ (run without --no-install)"
    return Peers(node, MOCK_PACKAGE.exists(), COMMERCE_MCP.exists(), note)


def version(package_json: Path) -> str:
    import json

    try:
        return json.loads(package_json.read_text())["version"]
    except (OSError, ValueError, KeyError):
        return "?"


def mock_version() -> str:
    return version(MOCK_PACKAGE)


def commerce_mcp_version() -> str:
    return version(Path(COMMERCE_MCP).parent.parent / "package.json")
