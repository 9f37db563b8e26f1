"""The dashboard's over-the-air pages end to end: bundles uploaded through the OTA API, then
released, reverted and deleted in headless Chromium against a real relay.

Uses Debian's /usr/bin/chromium (no browser downloads); the tests skip when it is missing.
Set RELAY_TEST_SCREENSHOTS=/some/dir to save a screenshot of each page a test looks at.
"""
import hashlib
import io
import re
import zipfile

import pytest
import requests

from conftest import add_member, init_admin
from test_dashboard import browser, nav, new_page, open_nav, page, sign_in, snap  # noqa: F401

sync_api = pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed")
expect = sync_api.expect
expect.set_options(timeout=15_000)

SLUG = "com.example.otademo"


# ---------------------------------------------------------------------------------------------
# Helpers


def web_zip(version: str) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("index.html", f"<html><body>v{version}</body></html>")
        zf.writestr("assets/app.js", f"console.log({version!r});")
    return buf.getvalue()


def upload_bundle(relay, client, app_uuid: str, version: str, **extra) -> dict:
    """initiate → presigned PUT (no credentials) → finalize, as the OtaKit CLI does."""
    data = web_zip(version)
    r = client.post(f"/api/v1/apps/{app_uuid}/bundles/initiate",
                    json={"version": version, "size": len(data),
                          "sha256": hashlib.sha256(data).hexdigest(), **extra})
    assert r.status_code == 200, r.text
    url = r.json()["presignedUrl"].replace(relay.services.base_url, relay.url)
    put = requests.put(url, data=data, headers={"Content-Type": "application/zip"}, timeout=30)
    assert put.status_code == 200, put.text
    r2 = client.post(f"/api/v1/apps/{app_uuid}/bundles/finalize",
                     json={"uploadId": r.json()["uploadId"]})
    assert r2.status_code == 201, r2.text
    return r2.json()


def ota_app(relay, client) -> dict:
    """An app created by slug (as the CLI does), with its integer id from the relay API."""
    r = client.post("/api/v1/apps", json={"slug": SLUG})
    assert r.status_code == 201, r.text
    uuid = r.json()["id"]
    (app,) = [a for a in client.get("/api/v1/apps").json()["items"] if a["uuid"] == uuid]
    return app


def manifest_status(relay, uuid: str, channel: str | None = None) -> int:
    path = f"/ota/manifests/{uuid}/{channel or '__base__'}/__default__/manifest.json"
    return relay.client().get(path).status_code


def no_stray_text(page) -> None:
    """Nothing on the page reads like a leaked JavaScript value."""
    expect(page.locator("main")).not_to_contain_text(re.compile(r"\b(null|undefined|NaN)\b|\[object"))


def bundle_row(page, version: str):
    return page.locator("tr[data-bundle-id]").filter(
        has=page.locator("td:first-child", has_text=re.compile(rf"^{re.escape(version)}$")))


def history_rows(page):
    return page.locator("tr[data-release-id]")


def release_row(page, release_id: str):
    return page.locator(f'tr[data-release-id="{release_id}"]')


def open_app(page, name: str = SLUG) -> None:
    open_nav(page, "Updates")
    page.get_by_role("link", name=name, exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(name)


# ---------------------------------------------------------------------------------------------
# Developer: release, revert, events, delete


def test_developer_releases_reverts_and_deletes_bundles(relay, page):
    admin = init_admin(relay)
    add_member(relay, admin, "Developer", "dev@example.com")
    app = ota_app(relay, admin)
    uuid = app["uuid"]
    upload_bundle(relay, admin, uuid, "1.0.0", minNativeBuild=12)
    upload_bundle(relay, admin, uuid, "1.1.0")
    upload_bundle(relay, admin, uuid, "0.9.0-draft")
    kid = relay.client().get("/ota/keys.json").json()[0]["kid"]

    sign_in(page, "dev@example.com")
    open_nav(page, "Updates")
    row = page.locator(f'tr[data-app-id="{app["id"]}"]')
    expect(row).to_contain_text(uuid)
    expect(row).to_contain_text("3 bundles")
    no_stray_text(page)
    snap(page, "updates-apps")
    row.get_by_role("link", name=f"Updates of {SLUG}").click()
    expect(page).to_have_url(f"{relay.url}/updates/{app['id']}")
    expect(page.get_by_role("heading", level=1)).to_have_text(SLUG)
    expect(nav(page).get_by_role("link", name="Updates")).to_have_attribute("aria-current", "page")

    # The app's UUID and the plugin configuration, with the relay's URLs and signing key.
    expect(page.get_by_label("App ID", exact=True)).to_have_value(uuid)
    snippet = page.get_by_label("Plugin configuration")
    expect(snippet).to_have_value(re.compile(rf'appId: "{uuid}"'))
    expect(snippet).to_have_value(re.compile(rf'kid: "{re.escape(kid)}"'))
    expect(snippet).to_have_value(re.compile(re.escape(f'cdnUrl: "{relay.services.base_url}/ota"')))
    expect(snippet).to_have_value(re.compile(re.escape(f'ingestUrl: "{relay.services.base_url}/api/v1/ota"')))

    # Bundles, newest first, and nothing released yet.
    expect(page.locator("tr[data-bundle-id]")).to_have_count(3)
    expect(bundle_row(page, "1.0.0")).to_contain_text("12")
    expect(page.get_by_text("Nothing released yet.")).to_be_visible()

    # 1.0.0 to the base channel.
    bundle_row(page, "1.0.0").get_by_role("button", name="Release…").click()
    dialog = page.get_by_role("dialog", name="Release 1.0.0")
    dialog.get_by_role("button", name="Release").click()
    expect(dialog).to_have_count(0)
    expect(page.get_by_role("status").filter(has_text="Released 1.0.0 to the base channel.")) \
        .to_be_visible()
    expect(history_rows(page)).to_have_count(1)
    expect(bundle_row(page, "1.0.0")).to_contain_text("base")
    assert manifest_status(relay, uuid) == 200

    # 1.1.0 to "staging", applied immediately; a reserved name shows the server's error first.
    bundle_row(page, "1.1.0").get_by_role("button", name="Release…").click()
    dialog = page.get_by_role("dialog", name="Release 1.1.0")
    dialog.get_by_label("Channel").fill("default")
    dialog.get_by_role("button", name="Release").click()
    expect(dialog.get_by_role("alert")).to_contain_text("channel name 'default' is reserved")
    dialog.get_by_label("Channel").fill("staging")
    dialog.get_by_label(re.compile("Apply immediately")).check()
    snap(page, "updates-release-dialog")
    dialog.get_by_role("button", name="Release").click()
    expect(page.get_by_role("status").filter(has_text="Released 1.1.0 to the staging channel.")) \
        .to_be_visible()
    expect(history_rows(page)).to_have_count(2)

    releases = {r["channel"]: r for r in admin.get(f"/api/v1/apps/{uuid}/releases").json()["releases"]}
    base, staging = releases[None], releases["staging"]
    assert staging["forceImmediate"] is True
    expect(release_row(page, base["id"])).to_contain_text("base")
    expect(release_row(page, base["id"])).to_contain_text("1.0.0")
    expect(release_row(page, base["id"])).to_contain_text("Current")
    expect(release_row(page, staging["id"])).to_contain_text("staging")
    expect(release_row(page, staging["id"])).to_contain_text("1.1.0")
    expect(release_row(page, staging["id"])).to_contain_text("immediate")
    expect(release_row(page, staging["id"])).to_contain_text("Current")
    assert manifest_status(relay, uuid, "staging") == 200

    # A device reports that it applied 1.0.0; the counts show after a refresh.
    r = relay.client().post("/api/v1/ota/events", headers={"X-App-Id": uuid},
                            json={"eventId": "ev-1", "sentAt": "2025-05-15T12:00:00.000Z",
                                  "platform": "ios", "action": "applied", "bundleVersion": "1.0.0",
                                  "releaseId": base["id"], "nativeBuild": "12"})
    assert r.status_code == 202, r.text
    applied = release_row(page, base["id"]).locator('[data-event="applied"]')
    expect(applied).to_have_text("0")
    page.get_by_role("button", name="Refresh").click()
    expect(applied).to_have_text("1")
    expect(release_row(page, base["id"]).locator('[data-event="downloaded"]')).to_have_text("0")
    expect(release_row(page, base["id"]).locator('[data-event="rollback"]')).to_have_text("0")
    no_stray_text(page)
    snap(page, "updates-app")

    # The channel filter: named channels seen in the history, and the base channel alone.
    page.get_by_label("Channel", exact=True).select_option("staging")
    expect(history_rows(page)).to_have_count(1)
    expect(release_row(page, staging["id"])).to_be_visible()
    expect(page).to_have_url(re.compile(r"\?channel=staging$"))
    page.get_by_label("Channel", exact=True).select_option(label="Base channel")
    expect(history_rows(page)).to_have_count(1)
    expect(release_row(page, base["id"])).to_be_visible()
    page.get_by_label("Channel", exact=True).select_option(label="All channels")
    expect(history_rows(page)).to_have_count(2)

    # Revert staging: it is marked reverted and its lane has no update any more.
    release_row(page, staging["id"]).get_by_role("button", name="Revert").click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_contain_text("offers no update")
    dialog.get_by_role("button", name="Revert release").click()
    expect(page.get_by_role("status").filter(
        has_text="Reverted 1.1.0 on the staging channel. It now offers no update.")).to_be_visible()
    expect(release_row(page, staging["id"])).to_contain_text("Reverted")
    expect(release_row(page, staging["id"]).get_by_role("button", name="Revert")).to_have_count(0)
    expect(release_row(page, base["id"]).get_by_role("button", name="Revert")).to_be_visible()
    assert manifest_status(relay, uuid, "staging") == 404
    assert manifest_status(relay, uuid) == 200

    # Someone else releases to the base channel meanwhile: reverting the stale row shows why not.
    r = admin.post(f"/api/v1/apps/{uuid}/releases", json={"bundleId": staging["bundleId"]})
    assert r.status_code == 201, r.text
    release_row(page, base["id"]).get_by_role("button", name="Revert").click()
    page.get_by_role("dialog").get_by_role("button", name="Revert release").click()
    expect(page.get_by_role("alert")).to_have_text(
        "Only the current release of a channel can be reverted")
    expect(history_rows(page)).to_have_count(3)  # and the page caught up
    expect(release_row(page, base["id"])).to_contain_text("Replaced")
    assert manifest_status(relay, uuid) == 200

    # A released bundle cannot be deleted: the server's reason is shown, nothing is lost.
    bundle_row(page, "1.0.0").get_by_role("button", name="Delete").click()
    page.get_by_role("dialog").get_by_role("button", name="Delete bundle").click()
    expect(page.get_by_role("alert").filter(has_text="release history")).to_have_text(
        "This bundle is part of the release history and cannot be deleted")
    expect(page.locator("tr[data-bundle-id]")).to_have_count(3)
    snap(page, "updates-delete-refused")

    # An unreleased one can; cancelling first keeps it.
    bundle_row(page, "0.9.0-draft").get_by_role("button", name="Delete").click()
    page.get_by_role("dialog").get_by_role("button", name="Cancel").click()
    expect(page.locator("tr[data-bundle-id]")).to_have_count(3)
    bundle_row(page, "0.9.0-draft").get_by_role("button", name="Delete").click()
    page.get_by_role("dialog").get_by_role("button", name="Delete bundle").click()
    expect(page.get_by_role("status").filter(has_text="Bundle 0.9.0-draft was deleted.")) \
        .to_be_visible()
    expect(page.locator("tr[data-bundle-id]")).to_have_count(2)
    versions = [b["version"] for b in admin.get(f"/api/v1/apps/{uuid}/bundles").json()["bundles"]]
    assert sorted(versions) == ["1.0.0", "1.1.0"]

    # A reload keeps the filter from the address.
    page.goto(f"/updates/{app['id']}?channel=staging")
    expect(history_rows(page)).to_have_count(1)
    expect(page.get_by_label("Channel", exact=True)).to_have_value("staging")
    # The UUID addresses the same page.
    page.goto(f"/updates/{uuid}")
    expect(page.get_by_role("heading", level=1)).to_have_text(SLUG)
    expect(history_rows(page)).to_have_count(3)


# ---------------------------------------------------------------------------------------------
# Viewer


def test_viewer_sees_updates_but_no_release_controls(relay, page):
    admin = init_admin(relay)
    add_member(relay, admin, "Viewer", "viewer@example.com")
    app = ota_app(relay, admin)
    uuid = app["uuid"]
    first = upload_bundle(relay, admin, uuid, "2.0.0", runtimeVersion="2026.04")
    upload_bundle(relay, admin, uuid, "2.1.0", runtimeVersion="2026.04")
    r = admin.post(f"/api/v1/apps/{uuid}/releases", json={"bundleId": first["id"], "channel": "beta"})
    assert r.status_code == 201, r.text
    kid = relay.client().get("/ota/keys.json").json()[0]["kid"]

    sign_in(page, "viewer@example.com")
    open_app(page)
    expect(page.locator("tr[data-bundle-id]")).to_have_count(2)
    expect(bundle_row(page, "2.0.0")).to_contain_text("2026.04")
    expect(bundle_row(page, "2.0.0")).to_contain_text("beta")
    row = history_rows(page)
    expect(row).to_have_count(1)
    expect(row).to_contain_text("beta")
    expect(row).to_contain_text("2026.04")
    expect(row).to_contain_text("Current")
    expect(page.get_by_label("Plugin configuration")).to_have_value(re.compile(re.escape(kid)))
    expect(page.get_by_label("Plugin configuration")).to_have_value(re.compile(uuid))
    for name in ("Release…", "Revert", "Delete"):
        expect(page.get_by_role("button", name=name)).to_have_count(0)
    no_stray_text(page)
    snap(page, "updates-app-viewer")

    page.goto("/updates/99999")
    expect(page.get_by_role("alert")).to_have_text("App not found")


def test_updates_page_without_apps(relay, page):
    init_admin(relay)
    sign_in(page)
    open_nav(page, "Updates")
    expect(page.get_by_text(re.compile("^No apps yet."))).to_be_visible()
    page.goto("/")
    expect(page.locator("a.card", has_text="Updates")).to_be_visible()
