"""The dashboard: a static single-page app, a client of the same /api/v1."""
from pathlib import Path

from flask import Blueprint, send_from_directory

from relay.api.guard import public

STATIC = Path(__file__).resolve().parent / "static"

# Paths the dashboard's router handles; each serves the same page. Path patterns (ROUTES in
# assets/app.js, e.g. /builds/<id>) get their own route below.
PAGES = ("/", "/setup", "/login", "/invite", "/reset-password", "/team", "/tokens",
         "/profile", "/settings", "/logs", "/apps", "/builds", "/agents",
         "/updates")

bp = Blueprint("web", __name__)


@public
def index():
    response = send_from_directory(STATIC, "index.html", max_age=0)
    response.headers["Cache-Control"] = "no-cache"
    return response


for _page in PAGES:
    bp.add_url_rule(_page, endpoint="index" if _page == "/" else "page" + _page.replace("-", "_").replace("/", "_"),
                    view_func=index)


@bp.get("/builds/<int:build_id>")
@public
def build_page(build_id):
    return index()


@bp.get("/updates/<app_ref>")
@public
def app_updates_page(app_ref):
    return index()


@bp.get("/assets/<path:name>")
@public
def asset(name):
    # Revalidated on every load (a cheap 304 on the LAN), so an upgraded relay never runs
    # against a browser's stale copy of the scripts.
    return send_from_directory(STATIC / "assets", name, max_age=0)
