"""Keboola's schedules: a `keboola.scheduler` configuration that runs another configuration at the times of a
5-field cron (`{"schedule": {"cronTab", "timezone", "state"}, "target": {...}}`). In kbc's layout the schedule
lives inside its target's folder (schedules/<name>/) and its target holds only `{"mode": "run"}`, the rest being
the `schedulerFor` relation in the manifest.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from croniter import croniter

from ..errors import KeboolaError

COMPONENT = "keboola.scheduler"  # the configuration that holds a configuration's schedule (kbc: schedules/)
FIELDS = ("minute", "hour", "day-of-month", "month", "day-of-week")
_TAKES = {
    "minute": "0-59", "hour": "0-23", "day-of-month": "1-31 or L (last day)",
    "month": "1-12 or JAN-DEC", "day-of-week": "0-7 (0 and 7: Sunday) or SUN-SAT",
}
_EXAMPLES = "'0 1 * * *' (every day at 01:00), '*/15 * * * *', '0 10 L * *' (last day of the month)"
_DAYS = ("Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday")
_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
           "November", "December")
_NUMBER = re.compile(r"^\d+$")
_EVERY = re.compile(r"^\*/(\d+)$")
_CRONTAB_UNKNOWN = re.compile(r"[LW#?]")  # Keboola's (Quartz-like) extensions a crontab rejects


@dataclass(frozen=True)
class Schedule:
    """When a configuration runs: a 5-field cron read in `timezone` (an IANA name)."""

    cron: str
    timezone: str = "UTC"
    enabled: bool = True

    # checking -----------------------------------------------------------------------------------
    def check(self) -> "Schedule":
        """The cron and the timezone as Keboola's scheduler takes them; the error names the bad field."""
        fields = self.cron.split() if isinstance(self.cron, str) else []
        if len(fields) != 5:
            raise KeboolaError(
                f"cron {self.cron!r} has {len(fields)} field(s); a schedule's cron has 5: {' '.join(FIELDS)}",
                fix=f"write it as e.g. {_EXAMPLES}")
        for name, field in zip(FIELDS, fields):
            probe = ["*"] * 5
            probe[FIELDS.index(name)] = field
            if not croniter.is_valid(" ".join(probe)):
                raise KeboolaError(f"cron {self.cron!r}: its {name} field {field!r} is not valid",
                                   fix=f"the {name} takes {_TAKES[name]}, lists (1,13), ranges (1-5) and steps "
                                       f"(*/15); e.g. {_EXAMPLES}")
        if not croniter.is_valid(self.cron):
            raise KeboolaError(f"cron {self.cron!r} is not valid", fix=f"write it as e.g. {_EXAMPLES}")
        self.zone()
        return self

    def zone(self) -> ZoneInfo:
        """The timezone; Keboola takes IANA names only (Europe/Prague, not CET+1 or +02:00)."""
        try:
            return ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError, TypeError):
            known = available_timezones()
            close = [z for z in known if z.lower() == str(self.timezone).lower()] \
                or difflib.get_close_matches(str(self.timezone), sorted(known), n=1)
            hint = f"did you mean {close[0]!r}? " if close else ""
            raise KeboolaError(f"schedule timezone {self.timezone!r} is not an IANA timezone name",
                               fix=f"{hint}use a name such as 'UTC' or 'Europe/Prague'") from None

    # times ----------------------------------------------------------------------------------------
    def next_runs(self, n: int, after: datetime | None = None) -> list[datetime]:
        """The next `n` run times after `after` (default: now), in the schedule's timezone; a naive `after` is
        read in that timezone. A fixed time that falls in the hour repeated when DST ends runs once, as cron
        runs it, and one in the hour skipped when DST starts runs when the clock jumps."""
        self.check()
        zone = self.zone()
        start = datetime.now(zone) if after is None else \
            (after.replace(tzinfo=zone) if after.tzinfo is None else after.astimezone(zone))
        minute, hour = self.cron.split()[:2]
        fixed = not minute.startswith("*") and not hour.startswith("*")
        times = croniter(self.cron, start)
        runs: list[datetime] = []
        while len(runs) < n:
            run = times.get_next(datetime)
            if fixed and runs and run.replace(tzinfo=None) == runs[-1].replace(tzinfo=None):
                continue  # the same wall-clock time again, after the clock went back
            runs.append(run)
        return runs

    def next_runs_text(self, n: int = 3) -> list[str]:
        """The next `n` runs as the faces show them: local time with its zone (2024-03-31 06:00 CEST)."""
        return [t.strftime("%Y-%m-%d %H:%M %Z") for t in self.next_runs(n)]

    def summary(self, n: int = 3, joined: str = "; next: ") -> str:
        """In words, then its next `n` runs: "every day at 01:00 UTC; next: 2024-03-31 01:00 UTC, ..."."""
        return f"{self.describe()}{joined}{', '.join(self.next_runs_text(n))}"

    def describe(self) -> str:
        """The times in words, for a person checking what they set; uncommon shapes stay as the cron."""
        words = _describe(self.cron.split(), self.timezone) if isinstance(self.cron, str) else None
        text = words or f"cron {self.cron!r} ({self.timezone})"
        return text if self.enabled else f"{text} (disabled)"

    # files ----------------------------------------------------------------------------------------
    def to_json(self, target_component_id: str, target_config_id: str, in_kbc_layout: bool) -> dict[str, Any]:
        """The scheduler configuration's JSON; in kbc's layout the target is the configuration the schedule
        sits in, so it holds only the mode."""
        target: dict[str, Any] = {"mode": "run"} if in_kbc_layout else {
            "componentId": target_component_id, "configurationId": target_config_id, "mode": "run"}
        return {"schedule": {"cronTab": self.cron, "timezone": self.timezone,
                             "state": "enabled" if self.enabled else "disabled"},
                "target": target}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "Schedule":
        """From a scheduler configuration's JSON (not checked: a pulled one is read as Keboola holds it)."""
        schedule = (data or {}).get("schedule") or {}
        if not isinstance(schedule.get("cronTab"), str):
            raise KeboolaError("the scheduler configuration has no schedule.cronTab",
                               fix='give it {"schedule": {"cronTab": "0 1 * * *", "timezone": "UTC"}}')
        return cls(cron=schedule["cronTab"], timezone=str(schedule.get("timezone") or "UTC"),
                   enabled=schedule.get("state", "enabled") != "disabled")

    def crontab_line(self, command: str) -> str:
        """A crontab entry running `command` at these times (`%` escaped, as crontab reads it as a newline).
        cron reads times in its own timezone: a non-UTC schedule gets a `CRON_TZ=<zone>` line before it (cronie
        honours it, for every line after it; some crons ignore it), and a UTC one assumes cron runs in UTC.
        A disabled schedule comes out commented."""
        self.check()
        if not isinstance(command, str) or not command.strip() or "\n" in command:
            raise KeboolaError("a crontab command must be one non-empty line", fix="e.g. 'kbc push && ...'")
        if _CRONTAB_UNKNOWN.search(self.cron):
            raise KeboolaError(f"cron {self.cron!r} uses L, W or #, which Keboola understands but crontab does not",
                               fix="use plain days (e.g. '0 10 28-31 * *') and test the date in the command")
        line = f"{'' if self.enabled else '# '}{self.cron} {command.replace('%', chr(92) + '%')}"
        return line if self.timezone == "UTC" else f"CRON_TZ={self.timezone}\n{line}"


def _describe(fields: list[str], timezone: str) -> str | None:
    if len(fields) != 5:
        return None
    minute, hour, dom, month, dow = fields
    rest_free = dom == month == dow == "*"
    if hour == "*" and rest_free:
        every = _EVERY.match(minute)
        if minute == "*" or (every and int(every[1]) == 1):
            return "every minute"
        if every:
            return f"every {int(every[1])} minutes"
        if _NUMBER.match(minute):
            return "every hour" if int(minute) == 0 else f"every hour at minute {int(minute)}"
        return None
    if not _NUMBER.match(minute) or int(minute) > 59:
        return None
    utc = timezone == "UTC"
    tail = "" if utc else f" ({timezone})"
    every_hours = _EVERY.match(hour)
    if every_hours and rest_free:
        return f"every {int(every_hours[1])} hours from 00:{int(minute):02d}{' UTC' if utc else ''}{tail}"
    hours = hour.split(",")
    if not all(_NUMBER.match(h) and int(h) < 24 for h in hours):
        return None
    times = _joined([f"{int(h):02d}:{int(minute):02d}" for h in hours]) + (" UTC" if utc else "")
    if rest_free:
        return f"every day at {times}{tail}"
    if dom == month == "*":
        days = _days(dow)
        if days is None:
            return None
        return f"every {days} at {times}{tail}" if days in _DAYS else f"at {times} on {days}{tail}"
    if dow != "*":
        return None
    if month == "*":
        if dom == "L":
            return f"at {times} on the last day of the month{tail}"
        if _NUMBER.match(dom) and 1 <= int(dom) <= 31:
            return f"at {times} on the {_ordinal(int(dom))} of the month{tail}"
        return None
    month_name = _name(month, _MONTHS, first=1)
    if month_name and _NUMBER.match(dom) and 1 <= int(dom) <= 31:
        return f"every year at {times} on {int(dom)} {month_name}{tail}"
    return None


def _days(dow: str) -> str | None:
    """'1-5' -> 'Monday to Friday', '1,3' -> 'Monday and Wednesday'; None for steps and the like."""
    parts = []
    for token in dow.split(","):
        ends = [_name(x, _DAYS, first=0) for x in token.split("-")]
        if None in ends or len(ends) > 2:
            return None
        parts.append(" to ".join(str(e) for e in ends))
    return _joined(parts)


def _name(token: str, names: tuple[str, ...], first: int) -> str | None:
    """A day or month as a number or as its three letters (cron takes both)."""
    if _NUMBER.match(token):
        index = int(token) - first
        if names is _DAYS and index == 7:
            index = 0  # 7 is Sunday too
        return names[index] if 0 <= index < len(names) else None
    return next((n for n in names if n[:3].lower() == token.lower()), None)


def _joined(items: list[str]) -> str:
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} and {items[-1]}"


def _ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"
