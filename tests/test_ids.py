from appliance.ids import uuid7, uuid7_millis


def test_uuid7_stays_ordered_past_4096_ids_in_one_millisecond() -> None:
    ids = [uuid7(now_ms=1_700_000_000_000) for _ in range(10_000)]
    assert ids == sorted(ids)
    assert len(set(ids)) == len(ids)
    assert uuid7_millis(ids[0]) == 1_700_000_000_000
