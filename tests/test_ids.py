import time

from appliance.ids import uuid7, uuid7_millis


def test_uuid7_stays_ordered_past_4096_ids_in_one_millisecond() -> None:
    now = int(time.time() * 1000)
    ids = [uuid7(now_ms=now) for _ in range(10_000)]
    assert ids == sorted(ids)
    assert len(set(ids)) == len(ids)
    assert uuid7_millis(ids[-1]) - uuid7_millis(ids[0]) <= 3  # borrowed a few ms at most
