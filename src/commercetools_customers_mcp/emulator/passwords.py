"""Customer passwords in the backend's operations: hashed and checked off the event loop when that is costly.

scrypt (``hashing``) releases the GIL and, at a production cost, takes tens of milliseconds, so a route's async
``prepare`` step hashes and checks, in one worker-thread hop, what its handler will ask for (``prepare``); at a
cost of ``INLINE_MAX_COST`` or less (the development default among them) the same work runs on the event loop
instead, since it takes less than the hop itself (a sign-up: ~0.25 ms of scrypt against a hop that costs the
event loop and the worker two wake-ups, ~0.4 ms of wall time on a busy machine). The
handler, synchronous inside the write transaction, then finds the results (``hash_password``,
``verify_password``) and computes on the spot only what was not prepared. A check without a stored hash (an
unknown email, a customer without a password) runs against a dummy hash of the same cost, so the time an answer
takes does not tell which.

The state has its home here: each operation's prepared results (``Work``, in ``Ctx.scratch``) and each
emulator's dummy hash (``Dummy``, in ``Emulator.state``).
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterable

from . import hashing
from .backend import Ctx, Emulator

# The highest scrypt N whose work runs on the event loop rather than in a worker thread: 2**8 is ~0.8 ms a hash on
# the reference machine, as long as a request's own work; the development cost (2**6, ~0.25 ms) is well under it.
INLINE_MAX_COST = 2**8


def _cost(stored: str | None) -> int:
    """The scrypt N a stored hash names (0 for no hash or not one of ours: nothing to compute for it)."""
    if not stored or not stored.startswith("scrypt$"):
        return 0
    n = stored.split("$", 2)[1]
    return int(n) if n.isdigit() else 0


class Work:
    """One operation's prepared password work: new hashes by password, verdicts by (password, stored hash)."""

    def __init__(self) -> None:
        self.hashes: dict[str, str] = {}
        self.verdicts: dict[tuple[str, str | None], bool] = {}


class Dummy:
    """One emulator's hash of no one's password, made on first use at the cost asked for (again when it changes)."""

    def __init__(self) -> None:
        self.hash: str | None = None

    def at(self, cost: int) -> str:
        found = self.hash
        if found is None or not found.startswith(f"scrypt${cost}$"):
            found = self.hash = hashing.hash_password(uuid.uuid4().hex, cost)
        return found


def new_hash(emulator: Emulator, password: str) -> str:
    """A new hash at the emulator's cost, on the calling thread (seeding, loaders; handlers use ``hash_password``)."""
    return hashing.hash_password(password, emulator.settings.password_cost)


async def prepare(ctx: Ctx, hash: Iterable[str] = (), verify: Iterable[tuple[str, str | None]] = ()) -> None:
    """Hash and verify ahead, in one worker-thread hop, what the handler will ask for; it then finds the results
    instead of running scrypt on the event loop."""
    work = ctx.scratch(Work)
    to_hash = [p for p in dict.fromkeys(hash) if p not in work.hashes]
    to_verify = [pair for pair in dict.fromkeys(verify) if pair not in work.verdicts]
    if not to_hash and not to_verify:
        return
    cost = ctx.emulator.settings.password_cost
    dummy = ctx.emulator.state(Dummy)

    def check(password: str, stored: str | None) -> bool:
        if stored:
            return hashing.verify_password(password, stored)
        # no hash to check: check the dummy of the same cost, so the time taken does not tell; the answer is no
        hashing.verify_password(password, dummy.at(cost))
        return False

    def run() -> tuple[list[str], list[bool]]:
        return [hashing.hash_password(p, cost) for p in to_hash], [check(p, h) for p, h in to_verify]

    # the most expensive hash of this work: the cost asked for (new hashes, the dummy) or a stored hash's own
    highest = max([cost if to_hash or any(not h for _, h in to_verify) else 0, *(_cost(h) for _, h in to_verify)])
    if highest <= INLINE_MAX_COST:
        hashes, verdicts = run()  # cheaper than the thread hop
    else:
        hashes, verdicts = await asyncio.to_thread(run)
    work.hashes.update(zip(to_hash, hashes, strict=True))
    work.verdicts.update(zip(to_verify, verdicts, strict=True))


def hash_password(ctx: Ctx, password: str) -> str:
    """The hash prepared for ``password``, or a new one computed here."""
    found = ctx.scratch(Work).hashes.get(password)
    return found if found is not None else new_hash(ctx.emulator, password)


def verify_password(ctx: Ctx, password: str, stored: str | None) -> bool:
    """The verdict prepared for ``password`` against ``stored``, or one computed here."""
    found = ctx.scratch(Work).verdicts.get((password, stored))
    return found if found is not None else hashing.verify_password(password, stored)
