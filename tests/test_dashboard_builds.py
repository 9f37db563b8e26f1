"""The dashboard's QA pages end to end: apps, builds, one build, agents — in headless Chromium
against a real relay, with build archives the tests make.

Uses Debian's /usr/bin/chromium (no browser downloads); the tests skip when it is missing.
Set RELAY_TEST_SCREENSHOTS=/some/dir to save a screenshot of each page a test looks at.
"""
import re
from pathlib import Path

import pytest

import buildfiles as bf
from conftest import add_member, bearer, image_bytes, init_admin, make_token
from test_dashboard import browser, nav, new_page, open_nav, page, sign_in, snap  # noqa: F401

sync_api = pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed")
expect = sync_api.expect
expect.set_options(timeout=15_000)


# ---------------------------------------------------------------------------------------------
# Helpers (the browser fixtures come from test_dashboard.py)


def upload(client, path: Path, **fields) -> dict:
    with open(path, "rb") as fh:
        r = client.post("/api/v1/builds", files={"file": (path.name, fh)}, data=fields)
    assert r.status_code == 201, r.text
    return r.json()


def ios_zip(tmp_path: Path, version="1.2.3", number="89", name="RelayDemo.app.zip", **plist) -> Path:
    files = bf.app_files(plist=bf.info_plist(CFBundleShortVersionString=version,
                                             CFBundleVersion=number, **plist))
    return bf.write_zip(tmp_path / name, files)


def no_stray_text(page) -> None:
    """Nothing on the page reads like a leaked JavaScript value."""
    expect(page.locator("main")).not_to_contain_text(re.compile(r"\b(null|undefined|NaN)\b|\[object"))


def build_row(page, text: str):
    return page.locator("tbody tr", has_text=text)


@pytest.fixture
def three_builds(relay, tmp_path):
    """An Admin and three builds: iOS 1.2.3 (89) In Progress rc-1, Android 2.0.1 (42) Done,
    iOS 1.3.0 (90) with no status."""
    admin = init_admin(relay)
    ci = bearer(relay, make_token(admin, "builds:write"))
    ios = upload(ci, ios_zip(tmp_path), status="In Progress", label="rc-1")
    android = upload(ci, bf.demo_apk(tmp_path / "app-release.apk"), status="Done")
    newer = upload(ci, ios_zip(tmp_path, "1.3.0", "90", name="RelayDemo-2.app.zip"))
    return admin, {"ios": ios, "android": android, "newer": newer}


# ---------------------------------------------------------------------------------------------
# Builds: upload and delete (Developer)


def test_developer_uploads_builds_sees_errors_and_deletes(relay, page, tmp_path):
    admin = init_admin(relay)
    add_member(relay, admin, "Developer", "dev@example.com")
    sign_in(page, "dev@example.com")
    for label in ("Apps", "Builds", "Agents"):
        expect(nav(page).get_by_role("link", name=label, exact=True)).to_be_visible()
    open_nav(page, "Builds")
    expect(page.get_by_text("No builds yet.")).to_be_visible()

    page.get_by_role("button", name="Upload", exact=True).click()
    expect(page.get_by_role("alert")).to_contain_text("Choose a build file")

    ipa = bf.write_zip(tmp_path / "RelayDemo.ipa", {"Payload/RelayDemo.app/Info.plist": b"x"})
    page.get_by_label("Build file").set_input_files(str(ipa))
    page.get_by_role("button", name="Upload", exact=True).click()
    expect(page.get_by_role("alert")).to_have_text(re.compile(r"^\.ipa files are not supported"))
    snap(page, "builds-upload-error")
    assert admin.get("/api/v1/builds").json()["total"] == 0

    page.get_by_label("Build file").set_input_files(str(ios_zip(tmp_path)))
    page.get_by_label("Status").first.select_option("In Progress")
    page.get_by_label("Label").fill("rc-1")
    page.get_by_role("button", name="Upload", exact=True).click()
    expect(page.get_by_role("status").filter(has_text="Uploaded")).to_have_text(
        "Uploaded 1.2.3 (89) of com.example.relaydemo.")
    expect(page.get_by_role("alert")).to_be_hidden()
    row = build_row(page, "1.2.3 (89)")
    expect(row).to_contain_text("Relay Demo")
    expect(row).to_contain_text("rc-1")
    expect(row).to_contain_text("In Progress")
    expect(row).to_contain_text("iOS")
    expect(page.get_by_test_id("builds-total")).to_have_text("1 build")

    page.get_by_label("Build file").set_input_files(str(bf.demo_apk(tmp_path / "app-release.apk")))
    page.get_by_role("button", name="Upload", exact=True).click()
    expect(build_row(page, "2.0.1 (42)")).to_contain_text("Android")
    expect(page.get_by_test_id("builds-total")).to_have_text("2 builds")
    no_stray_text(page)
    snap(page, "builds-developer")

    build_row(page, "2.0.1 (42)").get_by_role("button", name="Delete").click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_contain_text("cannot be undone")
    dialog.get_by_role("button", name="Cancel").click()
    expect(build_row(page, "2.0.1 (42)")).to_be_visible()
    build_row(page, "2.0.1 (42)").get_by_role("button", name="Delete").click()
    page.get_by_role("dialog").get_by_role("button", name="Delete build").click()
    expect(build_row(page, "2.0.1 (42)")).to_have_count(0)
    expect(page.get_by_test_id("builds-total")).to_have_text("1 build")
    items = admin.get("/api/v1/builds").json()["items"]
    assert [(b["version_name"], b["build_number"]) for b in items] == [("1.2.3", "89")]

    # The download button serves the uploaded file.
    with page.expect_download() as download:
        build_row(page, "1.2.3 (89)").get_by_role("link", name="Download").click()
    assert download.value.suggested_filename.endswith(".zip")


# ---------------------------------------------------------------------------------------------
# Builds list: filters, search, sorting, pages (QA)


def test_qa_filters_searches_and_sorts_builds(relay, page, three_builds):
    admin, builds = three_builds
    add_member(relay, admin, "QA", "qa@example.com")
    sign_in(page, "qa@example.com")
    open_nav(page, "Builds")
    total = page.get_by_test_id("builds-total")
    expect(total).to_have_text("3 builds")
    rows = page.locator("tbody tr")
    expect(rows).to_have_count(3)
    # Newest first by default.
    expect(rows.first).to_contain_text("1.3.0 (90)")
    # QA may not upload or delete.
    expect(page.get_by_role("heading", name="Upload a build")).to_have_count(0)
    expect(page.get_by_role("button", name="Delete")).to_have_count(0)
    snap(page, "builds-qa")

    page.get_by_label("Platform").select_option("android")
    expect(total).to_have_text("1 build")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("2.0.1 (42)")
    expect(page).to_have_url(re.compile(r"/builds\?platform=android$"))

    page.get_by_label("Platform").select_option("")
    page.get_by_label("Status").select_option("In Progress")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("1.2.3 (89)")

    page.get_by_label("Status").select_option("none")  # nobody has triaged it yet
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("1.3.0 (90)")

    page.get_by_label("Status").select_option("")
    page.get_by_label("Search builds").fill("1.3")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("1.3.0 (90)")
    page.get_by_label("Search builds").fill("rc-1")  # labels are searched too
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("1.2.3 (89)")
    page.get_by_label("Search builds").fill("no such version")
    expect(page.get_by_text("No builds match these filters.")).to_be_visible()
    page.get_by_label("Search builds").fill("")
    expect(rows).to_have_count(3)

    # Sort by version: ascending, then descending; the URL keeps the choice across a reload.
    page.get_by_role("button", name="Version").click()
    expect(page.get_by_role("columnheader", name="Version")).to_have_attribute("aria-sort", "ascending")
    expect(rows.nth(0)).to_contain_text("1.2.3 (89)")
    expect(rows.nth(2)).to_contain_text("2.0.1 (42)")
    page.get_by_role("button", name="Version").click()
    expect(page.get_by_role("columnheader", name="Version")).to_have_attribute("aria-sort", "descending")
    expect(rows.nth(0)).to_contain_text("2.0.1 (42)")
    page.reload()
    expect(page.get_by_role("columnheader", name="Version")).to_have_attribute("aria-sort", "descending")
    expect(rows.nth(0)).to_contain_text("2.0.1 (42)")

    page.get_by_role("button", name="Status").click()  # ascending: no status first (SQLite)
    expect(page.get_by_role("columnheader", name="Status")).to_have_attribute("aria-sort", "ascending")
    expect(rows.nth(2)).to_contain_text("In Progress")

    # One app's builds, from the apps page.
    open_nav(page, "Apps")
    page.get_by_role("row", name=re.compile("Relay Demo")).get_by_role("link", name="Builds").click()
    expect(page).to_have_url(re.compile(r"/builds\?app_id=\d+$"))
    expect(page.get_by_label("App", exact=True)).to_have_value(str(builds["ios"]["app_id"]))
    expect(total).to_have_text("3 builds")  # the .apk shares the bundle id, so the app


def test_builds_list_pages(relay, page, tmp_path):
    admin = init_admin(relay)
    ci = bearer(relay, make_token(admin, "builds:write"))
    for number in range(1, 24):
        upload(ci, ios_zip(tmp_path, "1.0", str(number), name=f"b{number}.app.zip"))
    sign_in(page)
    open_nav(page, "Builds")
    total = page.get_by_test_id("builds-total")
    expect(total).to_have_text("1–20 of 23 builds")
    expect(page.locator("tbody tr")).to_have_count(20)
    expect(page.get_by_text("Page 1 of 2")).to_be_visible()
    expect(page.get_by_role("button", name="← Previous")).to_be_disabled()
    page.get_by_role("button", name="Next →").click()
    expect(total).to_have_text("21–23 of 23 builds")
    expect(page.locator("tbody tr")).to_have_count(3)
    expect(page.locator("tbody tr").last).to_contain_text("1.0 (1)")
    expect(page.get_by_role("button", name="Next →")).to_be_disabled()
    snap(page, "builds-pages")
    page.get_by_role("button", name="← Previous").click()
    expect(total).to_have_text("1–20 of 23 builds")
    expect(page.locator("tbody tr").first).to_contain_text("1.0 (23)")


# ---------------------------------------------------------------------------------------------
# One build: status, label, comments, recordings (QA)


def test_qa_reviews_a_build_and_comments_with_a_screenshot(relay, page, three_builds):
    admin, builds = three_builds
    qa = add_member(relay, admin, "QA", "qa@example.com")
    build_id = builds["ios"]["id"]
    qa.post(f"/api/v1/recordings/upload?buildId={build_id}",
            files={"video": ("screen.webm", b"\x1a\x45\xdf\xa3" + bytes(2000), "video/webm")})
    sign_in(page, "qa@example.com")
    open_nav(page, "Builds")
    build_row(page, "1.2.3 (89)").get_by_role("link", name="1.2.3 (89)").click()
    expect(page).to_have_url(re.compile(rf"/builds/{build_id}$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Relay Demo 1.2.3 (89)")
    details = page.locator("dl.details")
    expect(details).to_contain_text("com.example.relaydemo")
    expect(details).to_contain_text(admin.get(f"/api/v1/builds/{build_id}").json()["sha256"])
    expect(details).to_contain_text("In Progress")
    expect(page.get_by_role("link", name="Download")).to_have_attribute(
        "href", f"/api/v1/builds/{build_id}/download")
    expect(nav(page).get_by_role("link", name="Builds", exact=True)).to_have_attribute(
        "aria-current", "page")
    expect(page.get_by_role("button", name="Delete", exact=True)).to_have_count(0)  # QA

    # Status and label, saved on the server.
    page.get_by_label("Status").select_option("Done")
    page.get_by_label("Label", exact=True).fill("rc-2")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("status").filter(has_text="Saved.")).to_be_visible()
    expect(details).to_contain_text("Done")
    expect(details).to_contain_text("rc-2")
    build = admin.get(f"/api/v1/builds/{build_id}").json()
    assert (build["status_label"], build["version_label"]) == ("Done", "rc-2")

    page.get_by_label("Status").select_option("")
    page.get_by_label("Label", exact=True).fill("")
    page.get_by_role("button", name="Save").click()
    expect(details).to_contain_text("No status")
    build = admin.get(f"/api/v1/builds/{build_id}").json()
    assert (build["status_label"], build["version_label"]) == (None, None)

    # A comment with a screenshot; the image really loads.
    page.get_by_label("Comment").fill("Login button is <b>not</b> tappable")
    page.get_by_label("Screenshot (optional)").set_input_files(
        files=[{"name": "shot.png", "mimeType": "image/png", "buffer": image_bytes(size=(320, 200))}])
    page.get_by_role("button", name="Post comment").click()
    comment = page.locator("article.comment", has_text="Login button is <b>not</b> tappable")
    expect(comment).to_contain_text("qa@example.com")
    shot = comment.get_by_role("img", name="Screenshot from qa@example.com")
    expect(shot).to_be_visible()
    page.wait_for_function("img => img.complete && img.naturalWidth === 320", arg=shot.element_handle())
    expect(page.get_by_role("heading", name="Comments (1)")).to_be_visible()
    expect(page.get_by_label("Comment")).to_have_value("")
    assert page.locator("b").count() == 0

    # The recording plays from the relay and says when it goes.
    recording = page.locator("figure.recording")
    expect(recording).to_have_count(1)
    expect(recording.locator("video")).to_have_attribute("src", re.compile(r"^/api/v1/recordings/"))
    expect(recording).to_contain_text("expires")
    no_stray_text(page)
    snap(page, "build-detail")

    # Another member's comment has no Delete for QA; their own has.
    admin.post("/api/v1/comments", data={"build_id": str(build_id), "body": "Admin was here"})
    page.reload()
    expect(page.locator("article.comment", has_text="Admin was here")
           .get_by_role("button", name="Delete")).to_have_count(0)
    comment.get_by_role("button", name="Delete").click()
    page.get_by_role("dialog").get_by_role("button", name="Delete").click()
    expect(comment).to_have_count(0)
    assert [c["body"] for c in admin.get(f"/api/v1/comments?build_id={build_id}").json()] == \
        ["Admin was here"]

    page.get_by_label("Comment").fill("   ")
    page.get_by_role("button", name="Post comment").click()
    expect(page.get_by_role("alert")).to_have_text("body required")


def test_viewer_sees_no_upload_delete_or_review_controls(relay, page, three_builds):
    admin, builds = three_builds
    add_member(relay, admin, "Viewer", "viewer@example.com")
    build_id = builds["ios"]["id"]
    admin.post("/api/v1/comments", data={"build_id": str(build_id), "body": "Looks good"})
    sign_in(page, "viewer@example.com")

    open_nav(page, "Builds")
    expect(page.locator("tbody tr")).to_have_count(3)
    expect(page.get_by_role("heading", name="Upload a build")).to_have_count(0)
    expect(page.get_by_role("button", name="Delete")).to_have_count(0)
    expect(page.get_by_role("link", name="Download")).to_have_count(3)
    no_stray_text(page)

    open_nav(page, "Apps")
    expect(page.get_by_role("row", name=re.compile("Relay Demo"))).to_be_visible()
    expect(page.get_by_role("heading", name="Add an app")).to_have_count(0)
    expect(page.get_by_role("button", name="Rename")).to_have_count(0)
    expect(page.get_by_role("button", name="Delete")).to_have_count(0)
    no_stray_text(page)

    page.goto(f"/builds/{build_id}")
    expect(page.get_by_role("heading", level=1)).to_have_text("Relay Demo 1.2.3 (89)")
    expect(page.locator("article.comment", has_text="Looks good")).to_be_visible()
    expect(page.get_by_role("link", name="Download")).to_be_visible()
    expect(page.get_by_role("heading", name="Review")).to_have_count(0)
    expect(page.get_by_role("combobox")).to_have_count(0)
    expect(page.get_by_label("Comment")).to_have_count(0)
    expect(page.get_by_role("button", name="Delete")).to_have_count(0)
    no_stray_text(page)
    snap(page, "build-detail-viewer")

    page.goto("/builds/99999")
    expect(page.get_by_role("alert")).to_have_text("Build not found")


# ---------------------------------------------------------------------------------------------
# Apps (Developer/Admin)


def test_apps_page_shows_icons_and_manages_apps(relay, page, tmp_path):
    admin = init_admin(relay)
    ci = bearer(relay, make_token(admin, "builds:write"))
    upload(ci, ios_zip(tmp_path), status="In Progress")
    sign_in(page)
    open_nav(page, "Apps")
    demo = page.get_by_role("row", name=re.compile("Relay Demo"))
    expect(demo).to_contain_text("com.example.relaydemo")
    expect(demo).to_contain_text("1.2.3 (89)")
    expect(demo).to_contain_text("In Progress")
    icon = demo.locator("img.app-icon")
    expect(icon).to_have_attribute("src", re.compile(r"^/api/v1/uploads/icons/"))
    page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=icon.element_handle())

    page.get_by_label("Name", exact=True).fill("Manual App")
    page.get_by_label("Bundle ID").fill("not a bundle id!")
    page.get_by_role("button", name="Add app").click()
    expect(page.get_by_role("alert")).to_contain_text("bundle_id_key must be")

    page.get_by_label("Bundle ID").fill("com.example.manual")
    page.get_by_label("Platform").select_option("android")
    page.get_by_role("button", name="Add app").click()
    expect(page.get_by_role("status").filter(has_text="Added Manual App.")).to_be_visible()
    manual = page.get_by_role("row", name=re.compile("Manual App"))
    expect(manual).to_contain_text("Android")
    expect(manual).to_contain_text("No builds yet")
    no_stray_text(page)
    snap(page, "apps")

    manual.get_by_role("button", name="Rename").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_label("Name").fill("Manual Two")
    dialog.get_by_role("button", name="Rename").click()
    expect(page.get_by_role("row", name=re.compile("Manual Two"))).to_be_visible()
    names = sorted(a["name"] for a in admin.get("/api/v1/apps").json()["items"])
    assert names == ["Manual Two", "Relay Demo"]

    demo.get_by_role("button", name="Delete").click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_contain_text("its 1 build")
    dialog.get_by_role("button", name="Delete app").click()
    expect(page.get_by_role("row", name=re.compile("Relay Demo"))).to_have_count(0)
    assert [a["name"] for a in admin.get("/api/v1/apps").json()["items"]] == ["Manual Two"]
    assert admin.get("/api/v1/builds").json()["total"] == 0


# ---------------------------------------------------------------------------------------------
# Agents


def test_agents_page_lists_agents_and_charts_them(relay, page):
    admin = init_admin(relay)
    agent = bearer(relay, make_token(admin, "agent"))
    for cpu, mem in ((12.5, 40.0), (30.0, 42.0), (44.2, 61.0)):
        r = agent.post("/api/v1/agents/mac-mini-office/heartbeat",
                       json={"cpu_percent": cpu, "mem_percent": mem, "platform": "macOS"})
        assert r.status_code == 200, r.text
    sign_in(page)
    open_nav(page, "Agents")
    office = page.get_by_role("button", name="mac-mini-office")
    expect(office).to_have_attribute("aria-pressed", "true")
    chart = page.get_by_role("img", name=re.compile("mac-mini-office: CPU and RAM"))
    expect(chart).to_be_visible()
    expect(chart.locator("path.chart-cpu")).to_have_attribute("d", re.compile(r"^M\d"))
    expect(chart.locator("path.chart-mem")).to_have_attribute("d", re.compile(r"^M\d"))
    expect(page.locator(".chart-legend")).to_contain_text("CPU 28.9%")  # this minute's average
    no_stray_text(page)
    snap(page, "agents")

    # The page refreshes by itself: a new agent shows up without a reload.
    agent.post("/api/v1/agents/mac-mini-lab/heartbeat", json={"cpu_percent": 90, "mem_percent": 20})
    lab = page.get_by_role("button", name="mac-mini-lab")
    expect(lab).to_be_visible()
    lab.click()
    expect(lab).to_have_attribute("aria-pressed", "true")
    expect(page.get_by_role("img", name=re.compile("mac-mini-lab: CPU and RAM"))).to_be_visible()
    expect(page.locator(".chart-legend")).to_contain_text("CPU 90.0%")
    page.get_by_label("Time range").select_option("7d")
    expect(page.get_by_role("img", name=re.compile("last 7 days"))).to_be_visible()
    expect(page).to_have_url(re.compile(r"/agents\?agent=mac-mini-lab&range=7d$"))


def test_agents_page_without_agents(relay, page):
    init_admin(relay)
    sign_in(page)
    open_nav(page, "Agents")
    expect(page.get_by_text("No agents are connected.")).to_be_visible()
    expect(page.get_by_role("img")).to_have_count(0)
