"""A controllable clock: the real time in production, a fixed instant in tests and the demo.

Deadline logic (02:00 build, 05:30 cut-off, 06:00 deadline, arrival windows) asks this resource for
"now" instead of the system clock, so a simulation can walk through days in seconds.
"""

from __future__ import annotations

from datetime import UTC, datetime

import dagster as dg


class ClockResource(dg.ConfigurableResource):
    """`fixed_now` (ISO 8601 with offset) pins the time; unset, it is the system clock (UTC)."""

    fixed_now: str | None = None

    def now(self) -> datetime:
        if self.fixed_now:
            moment = datetime.fromisoformat(self.fixed_now)
            if moment.tzinfo is None:
                raise ValueError(f"ClockResource.fixed_now={self.fixed_now!r} needs a UTC offset, e.g. +00:00")
            return moment
        return datetime.now(UTC)

    @classmethod
    def at(cls, moment: datetime) -> ClockResource:
        return cls(fixed_now=moment.isoformat())
