"""The timeline the web and mobile apps scroll: month buckets and a month's assets in columns."""

from __future__ import annotations

from typing import Any

import orjson
from aiohttp.test_utils import TestClient

from appliance.services import Services
from appliance.storage.records import ExifRecord
from tests.api.browsing import get_json, make_album, photo, send_json, set_exif
from tests.api.conftest import Caller
from tests.contract import assert_matches


async def test_buckets_count_assets_per_month_newest_first(client: TestClient, alice: Caller) -> None:
    for when in ("2023-01-05T10:00:00.000Z", "2023-01-20T10:00:00.000Z", "2024-07-01T00:30:00.000Z"):
        await photo(client, alice, when)
    buckets = await get_json(client, "/api/timeline/buckets", alice, visibility="timeline")
    for bucket in buckets:
        assert_matches("TimeBucketsResponseDto", bucket)
    assert buckets == [{"timeBucket": "2024-07-01", "count": 1}, {"timeBucket": "2023-01-01", "count": 2}]
    ascending = await get_json(client, "/api/timeline/buckets", alice, order="asc")
    assert [b["timeBucket"] for b in ascending] == ["2023-01-01", "2024-07-01"]


async def test_bucket_is_columnar_and_accepts_both_date_forms(
    client: TestClient, alice: Caller, services: Services
) -> None:
    first = await photo(client, alice, "2023-01-05T10:00:00.000Z", favorite=True)
    second = await photo(client, alice, "2023-01-20T10:00:00.000Z")
    async with services.db.transaction() as conn:  # as the metadata job would
        await services.assets.assets.update(conn, [first, second], {"width": 64, "height": 48})
    for form in ("2023-01-01", "2023-01-01T00:00:00.000Z"):
        bucket = await get_json(client, "/api/timeline/bucket", alice, timeBucket=form)
        assert_matches("TimeBucketAssetResponseDto", bucket)
        assert bucket["id"] == [second, first]
        assert bucket["isFavorite"] == [False, True]
        assert bucket["isImage"] == [True, True]
        assert bucket["visibility"] == ["timeline", "timeline"]
        assert bucket["ratio"] == [round(64 / 48, 4)] * 2
        assert bucket["ownerId"] == [alice.id, alice.id]
        assert all(len(values) == 2 for values in bucket.values())


async def test_bad_time_bucket_is_a_400(client: TestClient, alice: Caller) -> None:
    await get_json(client, "/api/timeline/bucket", alice, status=400, timeBucket="yesterday")
    await get_json(client, "/api/timeline/bucket", alice, status=400)


async def test_counts_agree_with_buckets_for_every_filter(client: TestClient, alice: Caller) -> None:
    ids = [await photo(client, alice, f"2022-0{m}-10T10:00:00.000Z", favorite=m % 2 == 0) for m in range(1, 7)]
    await photo(client, alice, "2022-03-11T10:00:00.000Z", visibility="archive")
    await photo(client, alice, "2022-03-12T10:00:00.000Z", visibility="locked")
    await send_json(client, "DELETE", "/api/assets", alice, {"ids": [ids[0]]}, status=204)
    for params in ({}, {"visibility": "timeline"}, {"visibility": "archive"}, {"isFavorite": "true"},
                   {"isFavorite": "false"}, {"isTrashed": "true"}, {"visibility": "locked"}):
        buckets = await get_json(client, "/api/timeline/buckets", alice, **params)
        for bucket in buckets:
            columns = await get_json(client, "/api/timeline/bucket", alice, timeBucket=bucket["timeBucket"], **params)
            assert len(columns["id"]) == bucket["count"], params
    assert sum(b["count"] for b in await get_json(client, "/api/timeline/buckets", alice)) == 6  # timeline+archive
    trashed = await get_json(client, "/api/timeline/buckets", alice, isTrashed="true")
    assert trashed == [{"timeBucket": "2022-01-01", "count": 1}]
    locked = await get_json(client, "/api/timeline/buckets", alice, visibility="locked")
    assert locked == [{"timeBucket": "2022-03-01", "count": 1}]


async def test_restore_and_favourite_move_counts(client: TestClient, alice: Caller) -> None:
    asset = await photo(client, alice, "2021-02-02T10:00:00.000Z")
    await send_json(client, "DELETE", "/api/assets", alice, {"ids": [asset]}, status=204)
    assert await get_json(client, "/api/timeline/buckets", alice) == []
    await send_json(client, "POST", "/api/trash/restore/assets", alice, {"ids": [asset]})
    await send_json(client, "PUT", f"/api/assets/{asset}", alice, {"isFavorite": True})
    assert await get_json(client, "/api/timeline/buckets", alice, isFavorite="true") == [
        {"timeBucket": "2021-02-01", "count": 1}
    ]


async def test_album_timeline_for_members_not_strangers(
    client: TestClient, alice: Caller, bob: Caller, make_user: object
) -> None:
    carol = await make_user("Carol")  # type: ignore[operator]
    inside = await photo(client, alice, "2020-06-01T10:00:00.000Z")
    await photo(client, alice, "2020-06-02T10:00:00.000Z")
    album = await make_album(client, alice, [inside], [{"userId": bob.id, "role": "viewer"}])
    for caller in (alice, bob):
        assert await get_json(client, "/api/timeline/buckets", caller, albumId=album) == [
            {"timeBucket": "2020-06-01", "count": 1}
        ]
        bucket = await get_json(client, "/api/timeline/bucket", caller, albumId=album, timeBucket="2020-06-01")
        assert bucket["id"] == [inside]
    await get_json(client, "/api/timeline/buckets", carol, status=400, albumId=album)


async def test_partner_assets_join_the_timeline_only_when_asked(
    client: TestClient, alice: Caller, bob: Caller
) -> None:
    await photo(client, alice, "2019-01-01T10:00:00.000Z")
    await photo(client, bob, "2019-01-02T10:00:00.000Z")
    await send_json(client, "POST", "/api/partners", alice, {"sharedWithId": bob.id}, status=201)
    assert await get_json(client, "/api/timeline/buckets", bob, withPartners="true") == [
        {"timeBucket": "2019-01-01", "count": 1}
    ]
    await send_json(client, "PUT", f"/api/partners/{alice.id}", bob, {"inTimeline": True})
    assert await get_json(client, "/api/timeline/buckets", bob, withPartners="true") == [
        {"timeBucket": "2019-01-01", "count": 2}
    ]
    # a partner's own timeline, by userId
    assert await get_json(client, "/api/timeline/buckets", bob, userId=alice.id) == [
        {"timeBucket": "2019-01-01", "count": 1}
    ]
    await get_json(client, "/api/timeline/buckets", alice, status=400, userId=bob.id)
    await get_json(client, "/api/timeline/buckets", bob, status=400, withPartners="true", isFavorite="true")


async def test_stacked_assets_collapse_to_their_primary(client: TestClient, alice: Caller) -> None:
    ids = [await photo(client, alice, f"2018-05-0{d}T10:00:00.000Z") for d in (1, 2, 3)]
    stack = await send_json(client, "POST", "/api/stacks", alice, {"assetIds": [ids[1], ids[0]]}, status=201)
    assert await get_json(client, "/api/timeline/buckets", alice, withStacked="true") == [
        {"timeBucket": "2018-05-01", "count": 2}
    ]
    bucket = await get_json(client, "/api/timeline/bucket", alice, timeBucket="2018-05-01", withStacked="true")
    assert_matches("TimeBucketAssetResponseDto", bucket)
    assert set(bucket["id"]) == {ids[1], ids[2]}
    assert [ids[1] in bucket["id"]] and [stack["id"], "2"] in bucket["stack"]
    await send_json(client, "PUT", f"/api/stacks/{stack['id']}", alice, {"primaryAssetId": ids[0]})
    bucket = await get_json(client, "/api/timeline/bucket", alice, timeBucket="2018-05-01", withStacked="true")
    assert set(bucket["id"]) == {ids[0], ids[2]}
    assert (await get_json(client, "/api/timeline/buckets", alice, withStacked="true"))[0]["count"] == 2
    await send_json(client, "DELETE", f"/api/stacks/{stack['id']}", alice, status=204)
    assert (await get_json(client, "/api/timeline/buckets", alice, withStacked="true"))[0]["count"] == 3


async def test_tag_and_person_filters(client: TestClient, alice: Caller) -> None:
    tagged = await photo(client, alice, "2017-01-01T10:00:00.000Z")
    await photo(client, alice, "2017-01-02T10:00:00.000Z")
    tags = await send_json(client, "PUT", "/api/tags", alice, {"tags": ["Family/Kids"]})
    kids = tags[0]
    parent = kids["parentId"]
    await send_json(client, "PUT", f"/api/tags/{kids['id']}/assets", alice, {"ids": [tagged]})
    for tag_id in (kids["id"], parent):  # a parent tag includes its children's assets
        assert await get_json(client, "/api/timeline/buckets", alice, tagId=tag_id) == [
            {"timeBucket": "2017-01-01", "count": 1}
        ]
    person = "00000000-0000-4000-8000-000000000001"
    assert await get_json(client, "/api/timeline/buckets", alice, personId=person) == []


async def test_coordinates_and_places_in_columns(client: TestClient, alice: Caller, services: Services) -> None:
    asset = await photo(client, alice, "2016-08-01T10:00:00.000Z")
    await set_exif(services, asset, city="Lyon", country="France", latitude=45.76, longitude=4.83)
    bucket = await get_json(client, "/api/timeline/bucket", alice, timeBucket="2016-08-01", withCoordinates="true")
    assert_matches("TimeBucketAssetResponseDto", bucket)
    assert (bucket["city"], bucket["country"], bucket["latitude"], bucket["longitude"]) == (
        ["Lyon"], ["France"], [45.76], [4.83]
    )


async def test_timeline_needs_a_caller(client: TestClient) -> None:
    assert (await client.get("/api/timeline/buckets")).status == 401


async def test_places_and_rotation_follow_every_exif_change(
    client: TestClient, alice: Caller, services: Services
) -> None:
    """The bucket reads copies of the EXIF place and orientation kept on the asset: every way the EXIF row
    changes (update, replace by the metadata job, delete) shows at once, in the timeline and in search."""
    asset = await photo(client, alice, "2016-09-01T10:00:00.000Z")
    width, height = 4000, 3000
    async with services.db.transaction() as conn:  # as the thumbnail job would measure it
        await services.assets.assets.update(conn, [asset], {"width": width, "height": height})

    async def columns() -> tuple[object, ...]:
        bucket = await get_json(client, "/api/timeline/bucket", alice, timeBucket="2016-09-01")
        assert_matches("TimeBucketAssetResponseDto", bucket)
        return bucket["city"][0], bucket["country"][0], bucket["projectionType"][0], bucket["ratio"][0]

    async def in_city(city: str) -> list[str]:
        found = await send_json(client, "POST", "/api/search/metadata", alice, {"city": city})
        return [a["id"] for a in found["assets"]["items"]]

    await set_exif(services, asset, city="Lyon", country="France", orientation="6", projection_type="EQUIRECTANGULAR")
    assert await columns() == ("Lyon", "France", "EQUIRECTANGULAR", round(height / width, 4))
    assert await in_city("Lyon") == [asset]
    await set_exif(services, asset, city="Turin", country="Italy", orientation="1")
    assert await columns() == ("Turin", "Italy", "EQUIRECTANGULAR", round(width / height, 4))
    assert (await in_city("Lyon"), await in_city("Turin")) == ([], [asset])
    async with services.db.transaction() as conn:  # what the metadata job does: the whole row replaced
        await services.assets.assets.insert_exif(conn, ExifRecord(asset_id=asset, city="Porto", country="Portugal"))
    assert await columns() == ("Porto", "Portugal", None, round(width / height, 4))
    async with services.db.transaction() as conn:
        await conn.execute("DELETE FROM asset_exif WHERE asset_id = ?", (asset,))
    assert await columns() == (None, None, None, round(width / height, 4))
    assert await in_city("Porto") == []


async def test_a_month_is_ordered_by_when_taken_whatever_the_time_zones(client: TestClient, alice: Caller) -> None:
    """Buckets are months of local time, but a month's photos are ordered by the instant they were taken:
    here local time runs the other way round."""
    zoned = {"2024-05-10T10:00:00.000Z": "2024-05-10T15:00:00+05:00",   # local 15:00
             "2024-05-10T12:00:00.000Z": "2024-05-10T07:00:00-05:00",   # local 07:00
             "2024-05-10T11:00:00.000Z": "2024-05-10T11:00:00+00:00"}   # local 11:00
    ids = {}
    for instant, local in zoned.items():
        ids[instant] = await photo(client, alice, instant)
        await send_json(client, "PUT", f"/api/assets/{ids[instant]}", alice, {"dateTimeOriginal": local})
    newest_first = [ids[k] for k in sorted(ids, reverse=True)]
    bucket = await get_json(client, "/api/timeline/bucket", alice, timeBucket="2024-05-01")
    assert bucket["id"] == newest_first
    assert bucket["localOffsetHours"] == [-5, 0, 5]
    bucket = await get_json(client, "/api/timeline/bucket", alice, timeBucket="2024-05-01", order="asc")
    assert bucket["id"] == newest_first[::-1]


async def test_trash_bucket_marks_its_assets_trashed(client: TestClient, alice: Caller) -> None:
    kept = await photo(client, alice, "2015-03-01T10:00:00.000Z")
    binned = await photo(client, alice, "2015-03-02T10:00:00.000Z")
    await send_json(client, "DELETE", "/api/assets", alice, {"ids": [binned]}, status=204)
    trash = await get_json(client, "/api/timeline/bucket", alice, timeBucket="2015-03-01", isTrashed="true")
    assert (trash["id"], trash["isTrashed"], trash["visibility"]) == ([binned], [True], ["timeline"])
    live = await get_json(client, "/api/timeline/bucket", alice, timeBucket="2015-03-01")
    assert (live["id"], live["isTrashed"], live["ownerId"]) == ([kept], [False], [alice.id])
    assert_matches("TimeBucketAssetResponseDto", live)


async def test_a_month_written_by_sqlite_is_the_month_python_writes(
    client: TestClient, alice: Caller, bob: Caller, services: Services
) -> None:
    """The month's JSON is written by SQLite (json_group_array per column); the Python columns it replaced,
    kept for `withCoordinates`, are the reference: same bytes for every filter, on a month with partners'
    favourites, stacks, videos, missing thumbhashes, rotated photos, half-hour zones and odd places."""
    await send_json(client, "POST", "/api/partners", bob, {"sharedWithId": alice.id}, status=201)
    await send_json(client, "PUT", f"/api/partners/{bob.id}", alice, {"inTimeline": True})
    mine = [await photo(client, alice, f"2024-03-{day:02d}T10:00:00.000Z", favorite=day % 3 == 0)
            for day in range(1, 9)]
    theirs = [await photo(client, bob, f"2024-03-{day:02d}T09:30:00.000Z", favorite=True) for day in (2, 5)]
    await photo(client, alice, "2024-03-04T08:00:00.000Z", visibility="archive")
    await send_json(client, "POST", "/api/stacks", alice, {"assetIds": [mine[1], mine[0], mine[2]]}, status=201)
    await send_json(client, "PUT", f"/api/assets/{mine[3]}", alice, {"dateTimeOriginal": "2024-03-04T15:30:00+05:30"})
    await send_json(client, "PUT", f"/api/assets/{mine[4]}", alice, {"dateTimeOriginal": "2024-03-05T06:15:00-03:45"})
    await set_exif(services, mine[5], orientation="6", city='Saint-"Étienne"\n', country="France")
    await set_exif(services, mine[6], projection_type="EQUIRECTANGULAR", city="Zürich", country="Schweiz")
    async with services.db.transaction() as conn:
        await services.assets.assets.update(conn, mine[:6], {"width": 4000, "height": 3000})
        await services.assets.assets.update(conn, [mine[6]], {"width": 7, "height": 3})
        for i, asset_id in enumerate(mine[:7] + theirs):  # as the thumbnail job would; mine[7] has none yet
            await conn.execute("UPDATE assets SET thumbhash = ? WHERE id = ?", (bytes(range(i, i + 20 + i % 4)),
                                                                                asset_id))
        await conn.execute("UPDATE assets SET type = 'VIDEO', duration_ms = 12345 WHERE id IN (?, ?)",
                           (mine[2], mine[6]))
    from appliance.library.timeline import columns, json_columns
    from appliance.storage.timeline import TimelineFilter

    repo = services.browse.timeline.repo
    both = [alice.id, bob.id]
    filters = [TimelineFilter(owner_ids=[alice.id]), TimelineFilter(owner_ids=[alice.id], visibility="timeline"),
               TimelineFilter(owner_ids=[alice.id], is_favorite=True), TimelineFilter(owner_ids=both),
               TimelineFilter(owner_ids=both, visibility="timeline", with_stacked=True),
               TimelineFilter(owner_ids=[alice.id], with_stacked=True, order_desc=False),
               TimelineFilter(owner_ids=[bob.id], visibility="timeline"),
               TimelineFilter(owner_ids=[alice.id], with_stacked=True),
               TimelineFilter(owner_ids=[alice.id], is_trashed=True), TimelineFilter(owner_ids=[])]
    for f in filters:
        for month in ("2024-03-01", "2024-04-01"):
            names, rows = await repo.bucket(f, month)
            python = orjson.dumps(columns(f, names, rows, with_coordinates=False, viewer_id=alice.id))
            n, arrays = await repo.bucket_json(f, month, alice.id)
            assert json_columns(f, n, arrays) == python, (f, month)
    bucket = await get_json(client, "/api/timeline/bucket", alice, timeBucket="2024-03-01", withPartners="true",
                            visibility="timeline", withStacked="true")
    assert_matches("TimeBucketAssetResponseDto", bucket)
    assert set(theirs) <= set(bucket["id"]) and mine[0] not in bucket["id"]
    assert [bucket["isFavorite"][bucket["id"].index(i)] for i in theirs] == [False, False]  # bob's, not alice's
    assert 5.5 in bucket["localOffsetHours"] and -3.75 in bucket["localOffsetHours"]
    assert None in bucket["thumbhash"] and 12345 in bucket["duration"]


async def test_a_month_seen_before_is_given_again_only_while_nothing_in_it_changed(
    client: TestClient, alice: Caller, bob: Caller, services: Services
) -> None:
    """Months are kept in memory under the versions of their owners' assets; every change to an asset (flags,
    EXIF, dimensions, dates, trash, deletion, a partner's asset) or to a stack must show at the next request."""
    from appliance.library.timeline import json_columns
    from appliance.storage.timeline import TimelineFilter

    await send_json(client, "POST", "/api/partners", bob, {"sharedWithId": alice.id}, status=201)
    await send_json(client, "PUT", f"/api/partners/{bob.id}", alice, {"inTimeline": True})
    ids = [await photo(client, alice, f"2020-06-0{d}T10:00:00.000Z") for d in (1, 2, 3, 4)]
    theirs = await photo(client, bob, "2020-06-05T10:00:00.000Z")
    service = services.browse.timeline
    built = [0]
    real = service.repo.bucket_json

    async def counted(*args: object) -> tuple[int, dict[str, str]]:
        built[0] += 1
        return await real(*args)  # type: ignore[arg-type]

    service.repo.bucket_json = counted  # type: ignore[method-assign]
    params = {"timeBucket": "2020-06-01", "visibility": "timeline", "withPartners": "true", "withStacked": "true"}

    async def month() -> bytes:
        response = await client.get("/api/timeline/bucket", params=params, headers={**alice.headers,
                                                                                     "Accept-Encoding": "identity"})
        assert response.status == 200
        return await response.read()

    async def truth() -> bytes:
        f = TimelineFilter(owner_ids=[alice.id, bob.id], visibility="timeline", with_stacked=True)
        return json_columns(f, *await real(f, "2020-06-01", alice.id))

    before = await month()
    assert before == await truth() and await month() == before and built[0] == 1  # the second one was kept

    async def exif() -> None:
        await set_exif(services, ids[1], city="Ghent", country="Belgium", orientation="6")

    async def dimensions() -> None:
        async with services.db.transaction() as conn:
            await services.assets.assets.update(conn, [ids[2]], {"width": 30, "height": 20})

    async def sql_write() -> None:  # any writer, not only the API (a job, a migration)
        await services.db.execute("UPDATE assets SET thumbhash = x'0102030405' WHERE id = ?", (ids[3],))

    stack: dict[str, str] = {}

    async def make_stack() -> None:
        stack.update(await send_json(client, "POST", "/api/stacks", alice, {"assetIds": [ids[0], ids[1]]},
                                     status=201))

    changes = [
        ("favourite", lambda: send_json(client, "PUT", f"/api/assets/{ids[0]}", alice, {"isFavorite": True})),
        ("archive", lambda: send_json(client, "PUT", f"/api/assets/{ids[1]}", alice, {"visibility": "archive"})),
        ("unarchive", lambda: send_json(client, "PUT", f"/api/assets/{ids[1]}", alice, {"visibility": "timeline"})),
        ("exif", exif),
        ("dimensions", dimensions),
        ("sql", sql_write),
        ("date", lambda: send_json(client, "PUT", f"/api/assets/{ids[2]}", alice,
                                   {"dateTimeOriginal": "2020-06-09T10:00:00+02:00"})),
        ("stack", make_stack),
        ("stack primary", lambda: send_json(client, "PUT", f"/api/stacks/{stack['id']}", alice,
                                            {"primaryAssetId": ids[1]})),
        ("unstack", lambda: send_json(client, "DELETE", f"/api/stacks/{stack['id']}", alice, status=204)),
        ("partner's place", lambda: set_exif(services, theirs, city="Leeds")),
        ("partner's trash", lambda: send_json(client, "DELETE", "/api/assets", bob, {"ids": [theirs]},
                                              status=204)),
        ("upload", lambda: photo(client, alice, "2020-06-20T10:00:00.000Z")),
        ("trash", lambda: send_json(client, "DELETE", "/api/assets", alice, {"ids": [ids[3]]}, status=204)),
        ("restore", lambda: send_json(client, "POST", "/api/trash/restore/assets", alice, {"ids": [ids[3]]})),
        ("delete", lambda: send_json(client, "DELETE", "/api/assets", alice, {"ids": [ids[3]], "force": True},
                                     status=204)),
    ]
    for name, change in changes:
        await change()  # type: ignore[no-untyped-call]
        after = await month()
        assert after == await truth(), name
        assert after != before, name
        before = after
    kept = built[0]
    assert await month() == before and built[0] == kept


async def test_a_change_to_one_month_leaves_the_other_months_kept(
    client: TestClient, alice: Caller, services: Services
) -> None:
    """Months are kept under a version per owner and month (0010): a phone backing up today's photos leaves
    last year's months kept, while a photo moved out of or into a month shows there at once."""
    service = services.browse.timeline
    built: list[str] = []
    real = service.repo.bucket_json

    async def counted(*args: Any) -> tuple[int, dict[str, bytes]]:
        built.append(args[1])
        return await real(*args)

    service.repo.bucket_json = counted  # type: ignore[method-assign]
    june = [await photo(client, alice, f"2021-06-0{d}T10:00:00.000Z") for d in (1, 2)]
    await photo(client, alice, "2024-05-01T10:00:00.000Z")

    async def month(bucket: str) -> list[str]:
        return (await get_json(client, "/api/timeline/bucket", alice, timeBucket=bucket))["id"]

    assert sorted(await month("2021-06-01")) == sorted(june) and len(await month("2024-05-01")) == 1
    assert sorted(await month("2021-06-01")) == sorted(june) and built == ["2021-06-01", "2024-05-01"]
    await photo(client, alice, "2024-05-02T10:00:00.000Z")  # today's backup
    assert sorted(await month("2021-06-01")) == sorted(june) and len(built) == 2  # June kept
    assert len(await month("2024-05-01")) == 2 and built[2:] == ["2024-05-01"]
    await send_json(client, "PUT", "/api/assets", alice, {"ids": [june[0]], "isFavorite": True}, status=204)
    assert len(await month("2024-05-01")) == 2 and len(built) == 3  # May kept
    await month("2021-06-01")
    assert built[3:] == ["2021-06-01"]  # the favourite was in June
    kept = len(built)
    await send_json(client, "PUT", f"/api/assets/{june[1]}", alice, {"dateTimeOriginal": "2024-05-03T10:00:00Z"})
    assert await month("2021-06-01") == [june[0]] and june[1] in await month("2024-05-01")
    assert built[kept:] == ["2021-06-01", "2024-05-01"]
