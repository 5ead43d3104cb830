"""Customer password hashes with stdlib scrypt; the cost (scrypt N) is stored in the hash string.

The cost is a setting of each emulator (``Settings.password_cost``), not of the process: a development backend
holds test accounts, so the default (``DEVELOPMENT_COST``, 2**6: about 0.15 ms a hash; salted and one-way, but
cheap to guess, so not for real passwords) keeps sign-ups fast, and ``PRODUCTION_COST`` (2**14: about 40 ms)
behaves like a real identity store for those who want its timing or store anything that matters. A hash keeps
verifying whatever the current setting is, since it names its own cost. ``hashlib.scrypt`` releases the GIL, so
the operations hash and check at a costly N in a worker thread (``passwords.prepare``) and the event loop goes
on serving; a cheap hash runs in place, where it costs less than the hop.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os

# scrypt N: ~0.15 ms a hash on the reference machine (2 cores). Measured through HTTP, 400 sequential sign-ups
# with a password: 2**6 ~660/s, 2**7 ~610/s, 2**8 ~520/s (without a password ~850/s).
DEVELOPMENT_COST = 2**6
PRODUCTION_COST = 2**14  # ~40 ms: the cost an identity store would pick
COSTS = {"development": DEVELOPMENT_COST, "production": PRODUCTION_COST}
MAX_COST = 2**16  # 64 MiB of scrypt memory a hash
_R = 8


def check_cost(cost: int) -> int:
    """A valid scrypt N (a power of two, 2..MAX_COST); ValueError otherwise."""
    if isinstance(cost, bool) or not isinstance(cost, int) or cost < 2 or cost > MAX_COST or cost & (cost - 1):
        raise ValueError(f"password cost must be a power of two between 2 and {MAX_COST}, got {cost!r}")
    return cost


def _scrypt(password: str, salt: bytes, cost: int) -> bytes:
    # scrypt needs 128 * r * N bytes; OpenSSL refuses more than 32 MiB unless told (maxmem), so say it.
    memory = 2 * 128 * _R * cost
    return hashlib.scrypt(password.encode(), salt=salt, n=cost, r=_R, p=1, dklen=32, maxmem=memory)


def hash_password(password: str, cost: int) -> str:
    salt = os.urandom(16)
    digest = _scrypt(password, salt, check_cost(cost))
    return f"scrypt${cost}${base64.b64encode(salt).decode()}${base64.b64encode(digest).decode()}"


def verify_password(password: str, stored: str | None) -> bool:
    if not stored or not stored.startswith("scrypt$"):
        return False
    _, n, salt, digest = stored.split("$")
    try:
        candidate = _scrypt(password, base64.b64decode(salt), check_cost(int(n)))
    except ValueError:  # not a hash this emulator writes
        return False
    return hmac.compare_digest(candidate, base64.b64decode(digest))
