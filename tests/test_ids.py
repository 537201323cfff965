import time

from appliance.ids import uuid7, uuid7_millis


def test_uuid7_stays_ordered_past_4096_ids_in_one_millisecond() -> None:
    now = int(time.time() * 1000)
    ids = [uuid7(now_ms=now) for _ in range(10_000)]
    assert ids == sorted(ids)
    assert len(set(ids)) == len(ids)
    assert uuid7_millis(ids[-1]) - uuid7_millis(ids[0]) <= 3  # borrowed a few ms at most


def test_ids_are_canonical_random_uuids() -> None:
    import uuid

    from appliance.ids import is_uuid, new_id

    ids = [new_id() for _ in range(2000)]  # several refills of the random pool
    assert len(set(ids)) == len(ids)
    for value in ids[:200] + [uuid7() for _ in range(200)]:
        parsed = uuid.UUID(value)
        assert str(parsed) == value and is_uuid(value)
        assert parsed.variant == uuid.RFC_4122 and parsed.version in (4, 7)


def test_a_forked_process_does_not_repeat_its_parents_random_bytes() -> None:
    """The pool of random bytes is per process: a child forked with bytes left in it (the import's copy
    process is one) draws fresh ones, or both would hand out the same ids."""
    import os

    from appliance.ids import new_id

    new_id()  # the pool now holds bytes a child would inherit
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.write(write, new_id().encode())
        os._exit(0)
    os.close(write)
    child = os.read(read, 100).decode()
    os.close(read)
    os.waitpid(pid, 0)
    assert len(child) == 36 and child != new_id()


def test_a_child_forked_while_the_pool_is_locked_can_still_make_ids() -> None:
    """Another thread may hold the pool's lock at the moment of a fork; the child gets a lock of its own."""
    import os
    import select

    from appliance import ids

    read, write = os.pipe()
    with ids._pool_lock:  # as if another thread were drawing bytes right now
        pid = os.fork()
        if pid == 0:
            os.write(write, ids.new_id().encode())
            os._exit(0)
    os.close(write)
    ready, _, _ = select.select([read], [], [], 10)
    if not ready:
        os.kill(pid, 9)
    os.waitpid(pid, 0)
    assert ready, "the child waited for a lock nobody in it holds"
    assert len(os.read(read, 100)) == 36
    os.close(read)
