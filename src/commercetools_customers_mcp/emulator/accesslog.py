"""The standalone emulator's access log without secrets: token values that travel in URLs are masked.

The API puts some secrets in the path (``/customers/email-token=<value>``, ``/customers/password-token=<value>``)
and the auth API accepts its parameters in the query string (``?token=``, ``refresh_token``, ``password``,
``client_secret``, ``username``). uvicorn's access log writes the whole path and query; ``MaskSecrets`` (a
logging filter on its access handler, ``uvicorn_log_config``) replaces each such value with ``***`` first.
"""

from __future__ import annotations

import copy
import logging
import re
from typing import Any

MASK = "***"
_IN_PATH = re.compile(r"((?:email|password)-token(?:=|%3D))[^/?#\s]*", re.IGNORECASE)  # uvicorn logs "=" as %3D
_IN_QUERY = re.compile(
    r"([?&](?:token|access_token|refresh_token|password|client_secret|username|anonymous_id)=)[^&#\s]*",
    re.IGNORECASE,
)


def mask(target: str) -> str:
    """A request target (path and query) with every secret value replaced by ``***``."""
    return _IN_QUERY.sub(rf"\1{MASK}", _IN_PATH.sub(rf"\1{MASK}", target))


class MaskSecrets(logging.Filter):
    """Masks secrets in uvicorn's access log records (``args``: client, method, target, version, status)."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) >= 3 and isinstance(args[2], str):
            record.args = (*args[:2], mask(args[2]), *args[3:])
        return True


def uvicorn_log_config() -> dict[str, Any]:
    """uvicorn's default logging configuration with ``MaskSecrets`` on the access handler."""
    from uvicorn.config import LOGGING_CONFIG

    config = copy.deepcopy(LOGGING_CONFIG)
    config.setdefault("filters", {})["mask_secrets"] = {"()": f"{__name__}.MaskSecrets"}
    config["handlers"]["access"].setdefault("filters", []).append("mask_secrets")
    return config
