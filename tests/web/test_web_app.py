"""The web app in a real browser against a real server: the path a family member takes, in order.

The tests of this module share one server and one signed-in browser context and run top to bottom:
first run → sign in → upload → grid → viewer → album → shared link → device → users.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.server_process import ServerProcess
from tests.web.conftest import screenshot

pytestmark = pytest.mark.slow

ADMIN = {"name": "Ada Admin", "email": "ada@example.com", "password": "correct-horse-42"}
DESKTOP = {"width": 1280, "height": 800}
TIMEOUT = 15_000


@pytest.fixture(scope="module")
def page(browser: Any, server: ServerProcess) -> Iterator[Any]:
    context = browser.new_context(viewport=DESKTOP, base_url=server.url)
    context.set_default_timeout(TIMEOUT)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda err: errors.append(str(err)))
    # The page's own Content-Security-Policy must never block the page itself.
    page.on("console", lambda msg: errors.append(msg.text) if "Content Security Policy" in msg.text else None)
    page.errors = errors
    yield page
    context.close()


def test_first_run_leads_to_creating_the_admin_and_setting_up_the_box(page: Any, server: ServerProcess) -> None:
    page.goto("/")
    page.wait_for_url("**/setup")
    page.get_by_role("heading", name="Welcome to your Shoebox").wait_for()
    screenshot(page, "01-first-run")
    page.get_by_label("Your name").fill(ADMIN["name"])
    page.get_by_label("Email").fill(ADMIN["email"])
    page.get_by_label("Password", exact=True).fill(ADMIN["password"])
    page.get_by_label("Password again").fill(ADMIN["password"])
    page.get_by_role("button", name="Create account").click()

    page.get_by_role("heading", name="Set up the box").wait_for()
    page.get_by_label("Box name").fill("Family Box")
    page.get_by_label("Put each import in").select_option("per-import")
    screenshot(page, "02-box-setup")
    page.get_by_role("button", name="Finish").click()
    page.wait_for_url("**/photos")

    status, config = server.request("GET", "/api/server/config")
    assert config["isInitialized"] is True
    token = _token(server)
    status, settings = server.request("GET", "/api/appliance/settings", headers={"Authorization": f"Bearer {token}"})
    assert status == 200
    assert settings["boxName"] == "Family Box"
    assert settings["importAlbumMode"] == "per-import"
    assert settings["advertiseOnLan"] is True
    assert settings["setupCompleted"] is True


def test_signing_out_and_in_again_uses_the_immich_cookies(page: Any) -> None:
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url("**/login")
    cookies = {c["name"] for c in page.context.cookies()}
    assert "immich_access_token" not in cookies
    page.goto("/albums")
    page.wait_for_url("**/login")
    page.get_by_label("Email").fill(ADMIN["email"])
    page.get_by_label("Password").fill("wrong password")
    page.get_by_role("button", name="Sign in").click()
    page.get_by_text("Wrong email or password").wait_for()
    page.get_by_label("Password").fill(ADMIN["password"])
    screenshot(page, "03-sign-in")
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/photos")
    cookies = {c["name"]: c for c in page.context.cookies()}
    assert cookies["immich_is_authenticated"]["value"] == "true"
    assert cookies["immich_access_token"]["httpOnly"] is True
    page.get_by_text("No photos yet").wait_for()


def test_uploading_the_shared_photos_through_the_page_reports_duplicates(page: Any, photos: Path) -> None:
    files = sorted((photos / "albums" / "nature").glob("*.jpg"))
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Upload").click()
    page.wait_for_url("**/upload")
    page.locator("input[data-testid=file-input]").set_input_files([str(f) for f in files])
    summary = page.locator(".summary")
    summary.filter(has_text=f"{len(files)} uploaded").wait_for()
    assert "0 failed" in summary.inner_text()

    # The same photo again (it lives in two folders of the test set): found by its SHA-1 before uploading.
    again = photos / "formats" / "jpg" / "el_torcal_rocks.jpg"
    page.locator("input[data-testid=file-input]").set_input_files(str(again))
    summary.filter(has_text="1 duplicate(s)").wait_for()
    row = page.locator(".upload-list li.duplicate")
    assert row.count() == 1
    assert "Duplicate" in row.inner_text()
    screenshot(page, "04-upload")


def test_the_grid_shows_the_uploaded_photos_by_month_and_day(page: Any) -> None:
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Photos").click()
    page.wait_for_url("**/photos")
    page.locator(".cell").first.wait_for()
    assert len(all_cells(page)) == 9
    assert page.locator(".trow.month").count() >= 1
    assert page.locator(".trow.day h3").count() >= 1
    # Thumbnails (or, before the media pipeline renders them, the originals) end up painted.
    page.wait_for_function(EVERY_CELL_PAINTED)
    screenshot(page, "05-timeline")


def test_the_viewer_opens_moves_with_the_keyboard_and_closes_with_escape(page: Any) -> None:
    page.locator(".cell").first.click()
    viewer = page.get_by_role("dialog", name="Photo viewer")
    viewer.wait_for()
    title = viewer.locator(".title")
    page.wait_for_function("() => document.querySelector('.viewer .title')?.textContent.endsWith('.jpg')")
    first = title.inner_text()
    details = viewer.get_by_role("complementary", name="Details")
    details.get_by_text("Date").wait_for()
    screenshot(page, "06-viewer")
    page.keyboard.press("ArrowRight")
    page.wait_for_function(f"() => document.querySelector('.viewer .title')?.textContent !== {first!r}")
    page.keyboard.press("ArrowLeft")
    page.wait_for_function(f"() => document.querySelector('.viewer .title')?.textContent === {first!r}")
    viewer.get_by_role("button", name="Favourite").click()
    page.get_by_text("Added 1 to favourites").wait_for()
    page.keyboard.press("Escape")
    viewer.wait_for(state="detached")
    page.locator(".cell .badge.fav").first.wait_for()

    # The back button closes the viewer and leaves the timeline where it was.
    page.locator(".cell").nth(1).click()
    viewer.wait_for()
    page.go_back()
    viewer.wait_for(state="detached")
    assert page.url.endswith("/photos")
    assert len(all_cells(page)) == 9


def test_the_keyboard_alone_opens_selects_and_closes(page: Any) -> None:
    first = page.locator(".cell .open").first
    first.focus()
    page.keyboard.press("Enter")
    viewer = page.get_by_role("dialog", name="Photo viewer")
    viewer.wait_for()
    page.keyboard.press("Escape")
    viewer.wait_for(state="detached")
    assert page.evaluate("() => document.activeElement.classList.contains('open')")  # focus is back on the photo
    focused = "() => document.activeElement.closest('.cell')?.dataset.id"
    start = page.evaluate(focused)
    page.keyboard.press("ArrowRight")
    assert page.evaluate(focused) not in (None, start)
    page.keyboard.press("ArrowLeft")
    assert page.evaluate(focused) == start
    page.keyboard.press("ArrowRight")
    page.keyboard.press("Enter")
    page.wait_for_function("() => document.querySelector('.viewer .title')?.textContent.endsWith('.jpg')")
    page.keyboard.press("Escape")
    viewer.wait_for(state="detached")
    page.keyboard.press("ArrowLeft")
    page.keyboard.press("Tab")  # to its Select button
    page.keyboard.press("Space")
    page.get_by_text("1 selected").wait_for()
    page.get_by_role("button", name="Clear selection").click()
    page.get_by_role("toolbar", name="Selected photos").wait_for(state="hidden")


def test_selecting_photos_and_creating_an_album_from_them(page: Any) -> None:
    cells = page.locator(".cell")
    for index in range(3):
        cells.nth(index).hover()
        cells.nth(index).get_by_role("button", name="Select").click()
    page.get_by_text("3 selected").wait_for()
    page.get_by_role("toolbar", name="Selected photos").get_by_role("button", name="Add to album").click()
    dialog = page.get_by_role("dialog", name="Add to album")
    dialog.get_by_label("New album name").fill("Spring walk")
    dialog.get_by_role("button", name="Create").click()
    page.get_by_text("Created album Spring walk").wait_for()

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Albums").click()
    page.get_by_role("link", name=re.compile("Spring walk")).click()
    page.get_by_role("heading", name="Spring walk").wait_for()
    page.locator(".cell").first.wait_for()
    assert len(all_cells(page)) == 3

    page.get_by_role("button", name="Rename").click()
    rename = page.get_by_role("dialog", name="Rename album")
    rename.get_by_label("Name").fill("Spring walk 2026")
    rename.get_by_role("button", name="Save").click()
    page.get_by_role("heading", name="Spring walk 2026").wait_for()
    screenshot(page, "07-album")


def test_an_album_shared_by_link_opens_without_an_account(page: Any, browser: Any, server: ServerProcess) -> None:
    page.get_by_role("button", name="Share link").click()
    dialog = page.get_by_role("dialog", name="Share album link")
    try:
        dialog.wait_for(timeout=3000)
    except Exception:  # noqa: BLE001 - the endpoint arrives with the browsing API
        page.get_by_text("not available on this server yet").wait_for()
        pytest.skip("POST /api/shared-links is not on this server yet (browsing API branch)")
    link = dialog.get_by_role("textbox", name="Link").input_value()
    assert re.search(r"/share/[\w-]+$", link)
    dialog.get_by_role("button", name="Done").click()

    stranger = browser.new_context(viewport=DESKTOP)
    try:
        public = stranger.new_page()
        public.goto(link)
        public.get_by_role("heading", name="Spring walk 2026").wait_for()
        public.locator(".cell").first.wait_for()
        assert len(all_cells(public)) == 3
        public.wait_for_function(EVERY_CELL_PAINTED)
        assert not any(c["name"] == "immich_access_token" for c in stranger.cookies())
        screenshot(public, "08-shared-link")
        with public.expect_download() as download:
            public.get_by_role("button", name="Download all").click()
        saved = download.value.path()
        assert saved.read_bytes()[:2] == b"PK"  # a zip of the album
    finally:
        stranger.close()


def test_the_device_page_shows_storage_version_and_what_is_not_there_yet(page: Any) -> None:
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Device").click()
    page.get_by_role("heading", name="Device").wait_for()
    box = page.get_by_role("region", name="Box")
    box.get_by_text("Family Box").first.wait_for()
    box.get_by_text("v3.2").wait_for()
    storage = page.get_by_role("region", name="Storage")
    storage.get_by_role("meter", name="Disk used").wait_for()
    storage.get_by_text("9 photos").wait_for()
    jobs = page.get_by_role("region", name="Background jobs")
    jobs.locator("table, .not-available").first.wait_for()
    if jobs.locator("table").count():  # the job queues exist on this server: pause and resume one
        row = jobs.get_by_role("row", name=re.compile("Thumbnail generation"))
        row.get_by_role("button", name="Pause thumbnailGeneration").click()
        row.get_by_role("cell", name="paused").wait_for()
        row.get_by_role("button", name="Resume thumbnailGeneration").click()
        row.get_by_role("cell", name="paused").wait_for(state="detached")
    hardware = page.get_by_role("region", name="Hardware")
    hardware.get_by_text("Profile", exact=True).wait_for()  # the board profile the hardware probe chose
    hardware.get_by_text("Video encoder", exact=True).wait_for()
    page.get_by_role("region", name="Imports").locator("table, .not-available, p").first.wait_for()
    screenshot(page, "09-device")


def test_an_admin_adds_a_person_with_a_quota(page: Any, server: ServerProcess) -> None:
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Users").click()
    page.get_by_role("heading", name="Users").wait_for()
    page.get_by_role("button", name="Add a person").click()
    dialog = page.get_by_role("dialog", name="Add a person")
    dialog.get_by_label("Name").fill("Bob Builder")
    dialog.get_by_label("Email").fill("bob@example.com")
    dialog.get_by_label("Temporary password").fill("bob-password-1")
    dialog.get_by_label("Storage limit in GB").fill("2")
    dialog.get_by_role("button", name="Add").click()
    page.get_by_role("cell", name="bob@example.com").wait_for()
    page.get_by_text("of 2.0 GB").wait_for()
    screenshot(page, "10-users")


def test_a_new_person_chooses_a_password_and_sees_no_admin_pages(browser: Any, server: ServerProcess) -> None:
    context = browser.new_context(viewport=DESKTOP, base_url=server.url)
    context.set_default_timeout(TIMEOUT)
    try:
        bob = context.new_page()
        bob.goto("/")
        bob.wait_for_url("**/login")
        bob.get_by_label("Email").fill("bob@example.com")
        bob.get_by_label("Password").fill("bob-password-1")
        bob.get_by_role("button", name="Sign in").click()
        bob.get_by_role("heading", name="Choose your own password").wait_for()
        bob.get_by_label("New password", exact=True).fill("bobs-own-password")
        bob.get_by_label("New password again").fill("bobs-own-password")
        bob.get_by_role("button", name="Save password").click()
        bob.wait_for_url("**/photos")
        nav = bob.get_by_role("navigation", name="Main")
        nav.get_by_role("link", name="Albums").wait_for()
        assert nav.get_by_role("link", name="Device").count() == 0
        assert nav.get_by_role("link", name="Users").count() == 0
        bob.get_by_text("No photos yet").wait_for()  # Ada's photos are hers
    finally:
        context.close()
    status, _ = server.request("POST", "/api/auth/login", {"email": "bob@example.com", "password": "bobs-own-password"})
    assert status == 201


def test_an_album_shared_with_a_person_shows_in_their_albums(page: Any, browser: Any, server: ServerProcess) -> None:
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Albums").click()
    page.get_by_role("link", name=re.compile("Spring walk 2026")).click()
    page.get_by_role("button", name="Share with people").click()
    dialog = page.get_by_role("dialog", name="Share with people")
    dialog.get_by_label("Bob Builder (bob@example.com)").check()
    dialog.get_by_label("Role of Bob Builder").select_option("editor")
    dialog.get_by_role("button", name="Share").click()
    page.get_by_text("Shared with 1 person(s)").wait_for()

    context = browser.new_context(viewport=DESKTOP, base_url=server.url)
    context.set_default_timeout(TIMEOUT)
    try:
        bob = context.new_page()
        bob.request.post("/api/auth/login", data={"email": "bob@example.com", "password": "bobs-own-password"})
        bob.goto("/albums")
        card = bob.get_by_role("link", name=re.compile("Spring walk 2026"))
        card.wait_for()
        assert "shared by Ada Admin" in card.inner_text()
        card.click()
        bob.locator(".cell").first.wait_for()
        assert len(all_cells(bob)) == 3
    finally:
        context.close()


def test_search_by_file_name_finds_the_photo(page: Any) -> None:
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Search").click()
    page.get_by_label("File name").fill("prairie")
    page.get_by_role("button", name="Search").click()
    page.get_by_text("1 result(s)").wait_for()
    page.locator(".results .cell").first.wait_for()
    assert page.locator(".results .cell").count() == 1


def test_the_timeline_fits_a_phone_screen(page: Any) -> None:
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto("/photos")
    page.locator(".cell").first.wait_for()
    assert len(all_cells(page)) == 9
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390
    screenshot(page, "11-phone")
    page.set_viewport_size(DESKTOP)
    assert page.errors == []


EVERY_CELL_PAINTED = """() => {
    const cells = [...document.querySelectorAll('.cell')];
    return cells.length > 0 && cells.every((c) => c.querySelector('img.loaded'));
}"""


def all_cells(page: Any) -> set[str]:
    """Every photo id the grid shows, scrolling through it (only rows near the screen exist in the page;
    with EXIF dates the photos may spread over many months)."""
    ids = page.evaluate("""async () => {
        const scroller = document.querySelector('.grid-scroll');
        if (!scroller) return [];  // the page is still being drawn
        const ids = new Set();
        const settle = () => new Promise((r) => requestAnimationFrame(() => setTimeout(r, 40)));
        scroller.scrollTop = 0;
        for (let guard = 0; guard < 500; guard++) {
            await settle();
            if (document.querySelector('.trow.pending')) continue;  // a month still loading
            document.querySelectorAll('.cell').forEach((c) => ids.add(c.dataset.id));
            if (scroller.scrollTop + scroller.clientHeight >= scroller.scrollHeight - 1) break;
            scroller.scrollTop += Math.floor(scroller.clientHeight * 0.45);
        }
        scroller.scrollTop = 0;
        await settle();
        return [...ids];
    }""")
    return set(ids)


def wait_for_cells(page: Any, count: int, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while (found := len(all_cells(page))) != count:
        assert time.monotonic() < deadline, f"the grid shows {found} photos, not {count}"
        page.wait_for_timeout(200)


def _token(server: ServerProcess) -> str:
    _, login = server.request("POST", "/api/auth/login", {"email": ADMIN["email"], "password": ADMIN["password"]})
    return str(login["accessToken"])
