"""Time as the counter sees it: instants stored in naive UTC, business days in Hainan."""

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

#: Hainan keeps China Standard Time; a "day" of sales is a day there, not in UTC.
BUSINESS_TZ = ZoneInfo("Asia/Shanghai")


def now_utc() -> datetime:
    """The current instant as a naive UTC datetime, the form every timestamp column holds."""
    return datetime.now(UTC).replace(tzinfo=None)


def business_today() -> date:
    """Today's date at the counter."""
    return datetime.now(BUSINESS_TZ).date()


def business_day(utc_naive: datetime) -> date:
    """The business day a stored naive-UTC instant falls on: 23:59 in Hainan is still that day."""
    return local_time(utc_naive).date()


def local_time(utc_naive: datetime) -> datetime:
    """A stored naive-UTC instant as the counter's wall-clock time (naive), for printed documents."""
    return utc_naive.replace(tzinfo=UTC).astimezone(BUSINESS_TZ).replace(tzinfo=None)


def midnight_utc(day: date) -> datetime:
    """The naive-UTC instant a business day begins: Hainan's midnight is 16:00 UTC the day before."""
    return datetime.combine(day, time(), BUSINESS_TZ).astimezone(UTC).replace(tzinfo=None)


def day_bounds(day: date) -> tuple[datetime, datetime]:
    """The naive-UTC instants a business day starts and ends (end excluded), to find what happened that day."""
    return midnight_utc(day), midnight_utc(day + timedelta(days=1))
