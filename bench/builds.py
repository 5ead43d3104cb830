"""Our own server as a user installs it (``pip install <source>``, not editable), from a git ref or from the
working tree, each into its own virtual environment under bench/.peers/ (git-ignored), cached.

- ``baseline-<shortsha>/``: the source of one commit (``git archive``), cached by that commit;
- ``current-<hash>/``: the working tree (tracked and untracked files, ignored ones left out), cached by a hash
  of what the build reads (``src/``, ``pyproject.toml``, ``README.md``); older ``current-*`` are removed.

Both installs are constrained to the dependency versions of the environment running the bench (``pip freeze``
of it), so the two servers differ by our code only; if a ref's own requirements do not allow that, it is
installed unconstrained and the build says so. The default baseline is :func:`default_baseline`.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
import tarfile
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from .peers import PEERS_DIR
from .util import ROOT

BUILD_INPUTS = ("src", "pyproject.toml", "README.md")  # what `pip install .` reads (hatch: src/ + metadata)
PACKAGE = "commercetools-customers-mcp"
MAIN = "main"
INSTALL_TIMEOUT = 900


@dataclass
class Build:
    """One installed server: its console script and what it was built from."""

    name: str  # "baseline" or "current"
    venv: Path
    source: str  # "4a12709 Bench: one start_loaded() …" or "working tree (HEAD ec88e76, src unchanged)"
    commit: str  # the full sha it was built from (for the working tree: HEAD)
    versions: dict[str, str]  # installed distributions, lower-case name -> version
    note: str = ""

    @property
    def cli(self) -> str:
        return str(self.venv / "bin" / "commercetools-customers-mcp")

    def describe(self) -> dict[str, object]:
        return {
            "source": self.source,
            "commit": self.commit,
            "venv": str(self.venv.relative_to(ROOT)) if self.venv.is_relative_to(ROOT) else str(self.venv),
            "mcp": self.versions.get("mcp", "?"),
            "note": self.note,
        }


def git(*args: str) -> str:
    done = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, check=True)
    return done.stdout.strip()


def default_baseline() -> str:
    """The newest commit of ``main``'s first-parent line, from where HEAD branched off it (or HEAD itself when
    ``main`` is absent), whose server code (``src/``, ``pyproject.toml``) differs from the working tree's: "the
    previous release" as far as this tree's changes go. On ``main`` itself with a clean tree that is the last
    commit that changed the code; on a branch, the main commit it started from, unless the branch did not touch
    the code yet."""
    try:
        start = git("merge-base", MAIN, "HEAD")
    except subprocess.CalledProcessError:
        start = git("rev-parse", "HEAD")
    for sha in git("rev-list", "--first-parent", "--max-count=500", start).split():
        same = subprocess.run(["git", "diff", "--quiet", sha, "--", "src", "pyproject.toml"], cwd=ROOT)
        if same.returncode == 1:
            return sha
    raise RuntimeError(f"no commit on {MAIN}'s line from {start[:7]} differs from the working tree's code")


def _freeze() -> list[str]:
    """Pins of the running environment, minus our own package (editable or not)."""
    done = subprocess.run(
        [sys.executable, "-m", "pip", "freeze", "--exclude", PACKAGE, "--exclude-editable"],
        capture_output=True,
        text=True,
        check=True,
    )
    return [line for line in done.stdout.splitlines() if "==" in line and not line.startswith(("-", "#"))]


def _versions(venv: Path) -> dict[str, str]:
    done = subprocess.run(
        [str(venv / "bin" / "python"), "-m", "pip", "list", "--format=json", "--disable-pip-version-check"],
        capture_output=True,
        text=True,
        check=True,
    )
    return {d["name"].lower().replace("_", "-"): d["version"] for d in json.loads(done.stdout)}


def _pip(venv: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(venv / "bin" / "python"), "-m", "pip", "--disable-pip-version-check", "--quiet", *args],
        capture_output=True,
        text=True,
        timeout=INSTALL_TIMEOUT,
    )


def _install(venv: Path, source: Path, label: str) -> str:
    """A fresh venv at ``venv`` with ``source`` installed; returns a note when it could not be constrained."""
    shutil.rmtree(venv, ignore_errors=True)
    venv.parent.mkdir(parents=True, exist_ok=True)
    print(f"  installing {label} into {venv.relative_to(ROOT)} (pip install, once) ...", flush=True)
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    constraints = venv / "bench-constraints.txt"
    constraints.write_text("\n".join(_freeze()) + "\n")
    done = _pip(venv, "install", "--constraint", str(constraints), str(source))
    if done.returncode == 0:
        return ""
    note = f"{label}: not installable with the bench environment's versions, installed unconstrained"
    print(f"  {note}: {(done.stderr or done.stdout).strip().splitlines()[-1:]}", flush=True)
    done = _pip(venv, "install", str(source))
    if done.returncode != 0:
        tail = " / ".join((done.stderr or done.stdout).strip().splitlines()[-3:])
        shutil.rmtree(venv, ignore_errors=True)
        raise RuntimeError(f"pip install of {label} failed: {tail}")
    return note


def _cached(venv: Path, name: str, source: str, commit: str, export: Callable[[Path], None]) -> Build:
    marker = venv / "bench-build.json"  # written last: a venv without it is an interrupted install, redone
    if marker.exists():
        saved = json.loads(marker.read_text())
        return Build(name, venv, source, commit, saved["versions"], saved.get("note", ""))
    with tempfile.TemporaryDirectory(prefix="ct-bench-src-") as tmp:
        tree = Path(tmp) / "src-tree"
        export(tree)
        note = _install(venv, tree, f"{name} ({source})")
    versions = _versions(venv)
    marker.write_text(json.dumps({"source": source, "commit": commit, "versions": versions, "note": note}))
    return Build(name, venv, source, commit, versions, note)


def baseline(ref: str | None) -> Build:
    """The server at ``ref`` (default: :func:`default_baseline`), installed from a ``git archive`` of it."""
    sha = git("rev-parse", "--verify", f"{ref}^{{commit}}") if ref else default_baseline()
    short = sha[:7]
    source = git("log", "-1", "--format=%h %s", sha)

    def export(tree: Path) -> None:
        tree.mkdir()
        archive = tree.parent / "tree.tar"
        subprocess.run(["git", "archive", "--format=tar", "-o", str(archive), sha], cwd=ROOT, check=True)
        with tarfile.open(archive) as tar:
            if hasattr(tarfile, "data_filter"):  # 3.11.4+
                tar.extractall(tree, filter="data")
            else:
                tar.extractall(tree)  # our own repository's archive

    return _cached(PEERS_DIR / f"baseline-{short}", "baseline", source, sha, export)


def _tree_files() -> list[str]:
    listed = git("ls-files", "-z", "--cached", "--others", "--exclude-standard").split("\0")
    return sorted({f for f in listed if f and (ROOT / f).is_file()})


def current() -> Build:
    """The working tree as ``pip install .`` would install it, cached by the content of its build inputs."""
    files = _tree_files()
    digest = hashlib.sha256()
    for f in files:
        if f.split("/", 1)[0] in BUILD_INPUTS:
            digest.update(f.encode() + b"\0" + (ROOT / f).read_bytes() + b"\0")
    key = digest.hexdigest()[:10]
    head = git("rev-parse", "HEAD")
    dirty = subprocess.run(["git", "diff", "--quiet", "HEAD", "--", *BUILD_INPUTS], cwd=ROOT).returncode == 1
    source = f"working tree (HEAD {head[:7]}{', with uncommitted changes to the code' if dirty else ''})"
    venv = PEERS_DIR / f"current-{key}"
    for stale in PEERS_DIR.glob("current-*"):
        if stale != venv and stale.is_dir():
            shutil.rmtree(stale, ignore_errors=True)

    def export(tree: Path) -> None:
        for f in files:
            target = tree / f
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / f, target)

    return _cached(venv, "current", source, head, export)
