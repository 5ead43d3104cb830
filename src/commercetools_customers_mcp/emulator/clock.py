"""The emulator's clock: real UTC time plus an offset that tests can move forward."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta


class Clock:
    def __init__(self) -> None:
        self.offset = timedelta()

    def now(self) -> datetime:
        return datetime.now(UTC) + self.offset

    def advance(self, **kwargs: float) -> None:
        """Move time forward, e.g. ``clock.advance(minutes=61)``."""
        self.offset += timedelta(**kwargs)


def iso(moment: datetime) -> str:
    """The API's timestamp format: ``2024-05-01T12:00:00.000Z``."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
