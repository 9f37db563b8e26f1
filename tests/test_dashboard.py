"""The dashboard end to end: a real relay, driven in headless Chromium with Playwright.

Uses Debian's /usr/bin/chromium (no browser downloads); the tests skip when it is missing.
Set RELAY_TEST_SCREENSHOTS=/some/dir to save a screenshot of each page a test looks at.
"""
import os
import re
from pathlib import Path

import pytest
import requests

from conftest import ADMIN_EMAIL, PASSWORD, add_member, image_bytes, init_admin

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync"]
SCREENSHOTS = os.environ.get("RELAY_TEST_SCREENSHOTS")

sync_api = pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed")
expect = sync_api.expect
expect.set_options(timeout=15_000)


# ---------------------------------------------------------------------------------------------
# Fixtures and helpers


@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} is missing: install Debian's chromium package to run the "
                    "dashboard tests (never `playwright install`)")
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def new_page(browser, relay):
    """new_page() → a page in a fresh browser context (its own cookies) on the relay."""
    contexts, errors = [], []

    def make(base_url: str | None = None):
        context = browser.new_context(base_url=base_url or relay.url,
                                      viewport={"width": 1200, "height": 800},
                                      accept_downloads=True)
        context.set_default_timeout(15_000)
        contexts.append(context)
        page = context.new_page()
        page.on("pageerror", lambda error: errors.append(str(error)))
        return page

    yield make
    for context in contexts:
        context.close()
    assert not errors, f"uncaught errors in the dashboard's scripts: {errors}"


@pytest.fixture
def page(new_page):
    return new_page()


def snap(page, name: str) -> None:
    if SCREENSHOTS:
        Path(SCREENSHOTS).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(SCREENSHOTS) / f"{name}.png"), full_page=True)


def nav(page):
    return page.get_by_role("navigation", name="Main")


def open_nav(page, label: str) -> None:
    nav(page).get_by_role("link", name=label, exact=True).click()
    expect(page.get_by_role("heading", level=1, name=label)).to_be_visible()


def sidebar_user(page):
    return page.locator(".user-box .user")


def sign_in(page, email: str = ADMIN_EMAIL, password: str = PASSWORD) -> None:
    page.goto("/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    expect(sidebar_user(page)).to_be_visible()


def path_is(page, path: str):
    return re.compile(re.escape(path) + r"$")


def fill_new_password(page, password: str = PASSWORD, label: str = "Password") -> None:
    page.get_by_label(label, exact=True).fill(password)
    page.get_by_label("Confirm password").fill(password)


# ---------------------------------------------------------------------------------------------
# First run, signing in and out


def test_first_run_setup_lands_on_dashboard_as_admin(relay, page):
    page.goto("/")
    expect(page).to_have_url(path_is(page, "/setup"))
    expect(page.get_by_role("heading", name="Welcome to Relay")).to_be_visible()
    snap(page, "setup")

    page.get_by_label("Email").fill("Boss@Example.com")
    page.get_by_label("Display name").fill("Ada Boss")
    page.get_by_label("Password", exact=True).fill("short")
    page.get_by_label("Confirm password").fill("short")
    page.get_by_role("button", name="Create admin account").click()
    expect(page.get_by_role("alert")).to_have_text("password must be at least 8 characters")

    fill_new_password(page, PASSWORD)
    page.get_by_label("Confirm password").fill(PASSWORD + "x")
    page.get_by_role("button", name="Create admin account").click()
    expect(page.get_by_role("alert")).to_have_text("The two passwords do not match")
    assert relay.client().get("/api/v1/auth/status").json()["initialized"] is False

    fill_new_password(page, PASSWORD)
    page.get_by_role("button", name="Create admin account").click()
    expect(page).to_have_url(relay.url + "/")
    expect(page.get_by_role("heading", name="Welcome, Ada Boss")).to_be_visible()
    expect(sidebar_user(page)).to_contain_text("Ada Boss")
    expect(sidebar_user(page)).to_contain_text("Admin")
    for label in ("Home", "Tokens", "Profile", "Team", "Settings", "Logs"):
        expect(nav(page).get_by_role("link", name=label, exact=True)).to_be_visible()
    snap(page, "home")

    # Set up once: the setup page now sends people onward instead.
    page.goto("/setup")
    expect(page).to_have_url(relay.url + "/")
    assert relay.client().get("/api/v1/auth/status").json()["initialized"] is True


def test_sign_out_then_sign_in_again(relay, page):
    init_admin(relay)
    page.goto("/team")
    expect(page).to_have_url(re.compile(r"/login\?next=%2Fteam$"))

    page.get_by_label("Email").fill(ADMIN_EMAIL)
    page.get_by_label("Password").fill("not the password")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_have_text("Invalid email or password")
    expect(page).to_have_url(re.compile(r"/login\?next=%2Fteam$"))
    snap(page, "login-error")

    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(path_is(page, "/team"))  # back where they were going
    expect(page.get_by_role("heading", level=1, name="Team")).to_be_visible()

    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(path_is(page, "/login"))
    page.goto("/tokens")  # the session really ended
    expect(page).to_have_url(re.compile(r"/login\?next=%2Ftokens$"))

    sign_in(page)
    expect(sidebar_user(page)).to_contain_text("Admin")


def test_ended_session_sends_back_to_sign_in(relay, page):
    api = init_admin(relay)
    sign_in(page)
    expect(page.get_by_role("heading", name="Welcome, Admin")).to_be_visible()
    api.post("/api/v1/auth/logout")  # signing out ends every session of the account
    nav(page).get_by_role("link", name="Tokens", exact=True).click()
    expect(page).to_have_url(re.compile(r"/login\?next=%2Ftokens$"))
    page.get_by_label("Email").fill(ADMIN_EMAIL)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", level=1, name="Tokens")).to_be_visible()


# ---------------------------------------------------------------------------------------------
# Team: invitations, roles, resets, removal


def test_invite_link_lets_new_member_join_with_their_role(relay, page, new_page):
    init_admin(relay)
    sign_in(page)
    open_nav(page, "Team")
    page.get_by_label("Email", exact=True).fill("quinn@example.com")
    page.get_by_label("Role", exact=True).select_option("QA")
    page.get_by_role("button", name="Invite").click()
    expect(page.get_by_text("Email is not set up, so share this invitation link with "
                            "quinn@example.com")).to_be_visible()
    link_box = page.get_by_role("textbox", name="Link")
    expect(link_box).to_have_value(re.compile(r"/invite\?token=[0-9a-f]{32}$"))
    expect(page.get_by_label("Role", exact=True)).to_have_value("QA")  # form reset to default
    page.get_by_role("button", name="Copy").click()
    expect(page.get_by_role("button", name=re.compile("Copied|Ctrl"))).to_be_visible()
    snap(page, "team-invite")
    link = link_box.input_value()

    joiner = new_page(base_url=link.split("/invite")[0])  # a fresh browser: no admin cookie
    joiner.goto(link)
    expect(joiner.get_by_test_id("invite-role")).to_have_text("QA")
    expect(joiner.get_by_label("Email")).to_have_value("quinn@example.com")
    joiner.get_by_label("Display name").fill("Quinn <b>QA</b>")
    joiner.get_by_label("Choose a password").fill(PASSWORD)
    joiner.get_by_label("Confirm password").fill(PASSWORD)
    joiner.get_by_label("Picture (optional)").set_input_files(
        files=[{"name": "me.png", "mimeType": "image/png", "buffer": image_bytes()}])
    snap(joiner, "invite")
    joiner.get_by_role("button", name="Join").click()

    expect(joiner.get_by_role("heading", name="Welcome, Quinn <b>QA</b>")).to_be_visible()
    expect(sidebar_user(joiner)).to_contain_text("QA")
    avatar = sidebar_user(joiner).locator("img.avatar")
    expect(avatar).to_have_attribute("src", re.compile(r"^/api/v1/uploads/avatars/"))
    assert joiner.evaluate("img => img.complete && img.naturalWidth > 0", avatar.element_handle())
    for label in ("Home", "Tokens", "Profile"):
        expect(nav(joiner).get_by_role("link", name=label, exact=True)).to_be_visible()
    for label in ("Team", "Settings", "Logs"):
        expect(nav(joiner).get_by_role("link", name=label, exact=True)).to_have_count(0)
    assert joiner.locator("b").count() == 0  # the name was shown as text, not as markup
    snap(joiner, "qa-home")
    joiner.goto(link.split("/invite")[0] + "/settings")
    expect(joiner.get_by_role("alert")).to_have_text("This page is for Admins only.")

    # The link worked once.
    again = new_page(base_url=link.split("/invite")[0])
    again.goto(link)
    expect(again.get_by_role("alert")).to_have_text("Invitation expired or not found")

    page.reload()
    row = page.locator("tr", has_text="quinn@example.com")
    expect(row).to_contain_text("Quinn <b>QA</b>")
    expect(row.get_by_role("combobox")).to_have_value("QA")


def test_admin_changes_role_resets_password_and_removes_member(relay, page, new_page):
    admin = init_admin(relay)
    add_member(relay, admin, "Developer", "dev@example.com")
    sign_in(page)
    open_nav(page, "Team")
    row = page.locator("tr", has_text="dev@example.com")

    row.get_by_role("combobox").select_option("Viewer")
    expect(page.get_by_role("status").filter(has_text="is now Viewer")).to_be_visible()
    roles = {m["email"]: m["role"] for m in admin.get("/api/v1/team/members").json()}
    assert roles["dev@example.com"] == "Viewer"

    # The last Admin cannot step down: the server says why, and the choice is undone.
    me_row = page.locator("tr", has_text=ADMIN_EMAIL)
    me_row.get_by_role("combobox").select_option("QA")
    expect(page.get_by_role("alert")).to_have_text("The team must keep at least one Admin")
    expect(me_row.get_by_role("combobox")).to_have_value("Admin")
    expect(me_row.get_by_role("button", name="Remove")).to_have_count(0)

    row.get_by_role("button", name="Reset password").click()
    link_box = page.get_by_role("textbox", name="Link")
    expect(link_box).to_have_value(re.compile(r"/reset-password\?token="))
    link = link_box.input_value()

    resetter = new_page(base_url=link.split("/reset-password")[0])
    resetter.goto(link)
    resetter.get_by_label("New password").fill("a brand new password")
    resetter.get_by_label("Confirm password").fill("a brand new password")
    resetter.get_by_role("button", name="Set new password").click()
    expect(resetter.get_by_role("status")).to_contain_text("Your password has been changed")
    resetter.get_by_role("link", name="Sign in").click()
    sign_in(resetter, "dev@example.com", "a brand new password")
    expect(sidebar_user(resetter)).to_contain_text("Viewer")

    row.get_by_role("button", name="Remove").click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_contain_text("dev@example.com will lose access")
    dialog.get_by_role("button", name="Cancel").click()
    expect(dialog).to_have_count(0)
    expect(row).to_be_visible()

    row.get_by_role("button", name="Remove").click()
    page.get_by_role("dialog").get_by_role("button", name="Remove").click()
    expect(page.locator("tr", has_text="dev@example.com")).to_have_count(0)
    emails = [m["email"] for m in admin.get("/api/v1/team/members").json()]
    assert emails == [ADMIN_EMAIL]


# ---------------------------------------------------------------------------------------------
# Tokens


def test_new_token_is_shown_once_works_and_can_be_revoked(relay, page):
    init_admin(relay)
    sign_in(page)
    open_nav(page, "Tokens")

    page.get_by_label("Name").fill("")
    page.get_by_role("button", name="Create token").click()
    expect(page.get_by_role("alert")).to_have_text("name required")

    page.get_by_label("Name").fill("GitHub Actions")
    page.get_by_role("checkbox", name=re.compile(r"^view")).check()
    page.get_by_label("Expires").select_option(label="In 30 days")
    page.get_by_role("button", name="Create token").click()
    token_box = page.get_by_role("textbox", name="New token")
    expect(token_box).to_have_value(re.compile(r"^tflw_pat_[0-9a-f]{64}$"))
    token = token_box.input_value()
    row = page.locator("tr", has_text="GitHub Actions")
    expect(row).to_contain_text("view")
    expect(row).to_contain_text("builds:write")
    snap(page, "tokens")

    r = requests.get(relay.url + "/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"},
                     timeout=30)
    assert r.status_code == 200 and r.json()["email"] == ADMIN_EMAIL

    page.get_by_role("button", name="Done").click()
    expect(token_box).to_have_count(0)
    page.reload()
    expect(page.locator("tr", has_text="GitHub Actions")).to_be_visible()
    assert token not in page.content()  # shown only once

    page.locator("tr", has_text="GitHub Actions").get_by_role("button", name="Revoke").click()
    page.get_by_role("dialog").get_by_role("button", name="Revoke").click()
    expect(page.locator("tr", has_text="GitHub Actions")).to_have_count(0)
    expect(page.get_by_text("No tokens yet.")).to_be_visible()
    r = requests.get(relay.url + "/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"},
                     timeout=30)
    assert r.status_code == 401


# ---------------------------------------------------------------------------------------------
# Settings, profile, logs


def test_team_name_and_logo_show_in_the_shell(relay, page):
    init_admin(relay)
    sign_in(page)
    open_nav(page, "Settings")
    page.get_by_label("Team name").fill("")
    page.get_by_role("button", name="Save settings").click()
    expect(page.get_by_role("alert")).to_be_visible()  # the server's own words

    page.get_by_label("Team name").fill("Rocket <i>Crew</i>")
    page.get_by_label("Logo").set_input_files(
        files=[{"name": "logo.png", "mimeType": "image/png", "buffer": image_bytes()}])
    page.get_by_role("button", name="Save settings").click()
    expect(page.get_by_role("status")).to_have_text("Settings saved.")
    brand = page.locator(".sidebar .brand")
    expect(brand).to_have_text("Rocket <i>Crew</i>")
    logo = brand.locator("img.brand-logo")
    expect(logo).to_have_attribute("src", re.compile(r"^/api/v1/uploads/logos/"))
    page.wait_for_function("() => document.querySelector('.brand-logo').naturalWidth > 0")
    assert page.locator("i").count() == 0
    expect(page).to_have_title("Settings · Rocket <i>Crew</i>")
    snap(page, "settings")

    page.get_by_label("Logo").set_input_files(
        files=[{"name": "notes.txt", "mimeType": "text/plain", "buffer": b"not an image"}])
    page.get_by_role("button", name="Save settings").click()
    expect(page.get_by_role("alert")).to_be_visible()
    assert relay.client().get("/api/v1/auth/status").ok


def test_profile_name_avatar_and_password(relay, page):
    init_admin(relay)
    sign_in(page)
    open_nav(page, "Profile")
    page.get_by_label("Display name").fill("Grace H.")
    page.get_by_label("Picture").set_input_files(
        files=[{"name": "me.jpg", "mimeType": "image/jpeg", "buffer": image_bytes("JPEG")}])
    page.get_by_role("button", name="Save profile").click()
    expect(page.get_by_role("status")).to_have_text("Profile saved.")
    expect(sidebar_user(page)).to_contain_text("Grace H.")
    expect(sidebar_user(page).locator("img.avatar")).to_have_attribute(
        "src", re.compile(r"^/api/v1/uploads/avatars/"))

    page.get_by_label("Current password").fill("wrong password")
    page.get_by_label("New password", exact=True).fill("another good password")
    page.get_by_label("Confirm new password").fill("another good password")
    page.get_by_role("button", name="Change password").click()
    expect(page.get_by_role("alert")).to_have_text("Current password is incorrect")

    page.get_by_label("Current password").fill(PASSWORD)
    page.get_by_role("button", name="Change password").click()
    expect(page.get_by_role("status").filter(has_text="Password changed")).to_be_visible()
    snap(page, "profile")

    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(path_is(page, "/login"))
    sign_in(page, ADMIN_EMAIL, "another good password")
    expect(sidebar_user(page)).to_contain_text("Grace H.")


def test_logs_page_shows_recent_lines_and_refreshes(relay, page):
    init_admin(relay)
    sign_in(page)
    open_nav(page, "Logs")
    log = page.get_by_label("Log lines")
    expect(log).to_contain_text("first admin admin@example.com created")
    relay.client().post("/api/v1/auth/login", json={"email": ADMIN_EMAIL, "password": "nope nope"})
    page.get_by_role("button", name="Refresh").click()
    expect(log).to_contain_text("failed sign-in for admin@example.com")
    snap(page, "logs")


def test_expired_or_bad_links_show_the_servers_message(relay, page):
    init_admin(relay)
    page.goto("/invite?token=" + "0" * 32)
    expect(page.get_by_role("alert")).to_have_text("Invitation expired or not found")
    page.goto("/reset-password?token=" + "0" * 32)
    expect(page.get_by_role("alert")).to_be_visible()
    expect(page.get_by_role("button", name="Set new password")).to_have_count(0)
    page.goto("/invite")
    expect(page.get_by_role("alert")).to_contain_text("This link is incomplete")


def test_pending_invitation_can_be_withdrawn(relay, page, new_page):
    init_admin(relay)
    sign_in(page)
    open_nav(page, "Team")
    page.get_by_label("Email", exact=True).fill("oops@example.com")
    page.get_by_role("button", name="Invite").click()
    link = page.get_by_role("textbox", name="Link")
    expect(link).to_have_value(re.compile(r"/invite\?token=[0-9a-f]{32}$"))
    url = link.input_value()
    row = page.locator('tr[data-email="oops@example.com"][data-invitation-id]')
    expect(row).to_contain_text("QA")
    row.get_by_role("button", name="Withdraw").click()
    expect(page.get_by_text("The invitation of oops@example.com was withdrawn")).to_be_visible()
    expect(row).to_have_count(0)
    expect(page.get_by_text("No pending invitations.")).to_be_visible()
    joiner = new_page(base_url=url.split("/invite")[0])
    joiner.goto(url)
    expect(joiner.get_by_text("Invitation expired or not found")).to_be_visible()
