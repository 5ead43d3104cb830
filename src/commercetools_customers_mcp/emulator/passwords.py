"""Customer password hashing with stdlib scrypt; the cost is stored in the hash string.

``COST`` can be lowered (tests, benchmarks) with ``set_cost``; existing hashes keep verifying.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os

COST = 2**14  # ~50 ms per hash on the reference machine


def set_cost(n: int) -> None:
    global COST
    COST = n


def hash_password(password: str) -> str:
    salt = os.urandom(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=COST, r=8, p=1, dklen=32)
    return f"scrypt${COST}${base64.b64encode(salt).decode()}${base64.b64encode(digest).decode()}"


def verify_password(password: str, stored: str | None) -> bool:
    if not stored or not stored.startswith("scrypt$"):
        return False
    _, n, salt, digest = stored.split("$")
    candidate = hashlib.scrypt(password.encode(), salt=base64.b64decode(salt), n=int(n), r=8, p=1, dklen=32)
    return hmac.compare_digest(candidate, base64.b64decode(digest))
