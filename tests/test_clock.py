"""The one timestamp format Shoebox stores and emits: Immich's (JavaScript's `toISOString`)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from appliance.clock import iso, local_iso, parse_iso


def test_a_moment_is_written_in_utc_with_milliseconds_and_a_z() -> None:
    paris_summer = timezone(timedelta(hours=2))
    assert iso(datetime(2024, 7, 14, 22, 30, 5, 123456, tzinfo=paris_summer)) == "2024-07-14T20:30:05.123Z"
    assert iso(datetime(2024, 1, 1, 0, 30, tzinfo=timezone(timedelta(hours=5)))) == "2023-12-31T19:30:00.000Z"
    assert iso(datetime(2024, 3, 1, 12, 0, 0, 999999, tzinfo=UTC)) == "2024-03-01T12:00:00.999Z"  # cut, not rounded
    assert iso(datetime(2024, 3, 1, 12, 0)) == "2024-03-01T12:00:00.000Z"  # naive: taken as UTC


def test_early_years_keep_four_digits_so_the_text_still_sorts_by_time() -> None:
    """Bad EXIF dates happen (year 1, 0999): JavaScript writes `0999-…`, and so must we."""
    assert iso(datetime(999, 5, 6, 7, 8, 9, tzinfo=UTC)) == "0999-05-06T07:08:09.000Z"
    assert iso(datetime(1, 1, 1, tzinfo=UTC)) == "0001-01-01T00:00:00.000Z"
    moments = [datetime(year, 1, 1, tzinfo=UTC) for year in (5, 999, 1000, 1970, 2024)]
    assert sorted(iso(m) for m in moments) == [iso(m) for m in moments]


def test_the_local_date_time_is_the_wall_clock_written_with_a_z() -> None:
    tokyo = timezone(timedelta(hours=9))
    assert local_iso(datetime(2024, 7, 14, 8, 0, 1, 2000, tzinfo=tokyo)) == "2024-07-14T08:00:01.002Z"
    assert local_iso(datetime(999, 1, 2, 3, 4, 5)) == "0999-01-02T03:04:05.000Z"


def test_what_is_written_reads_back_as_the_same_moment() -> None:
    moment = datetime(2024, 2, 29, 23, 59, 59, 500000, tzinfo=timezone(timedelta(hours=-7)))
    assert parse_iso(iso(moment)) == moment
    assert parse_iso(iso(moment)).tzinfo == UTC
