"""GET /healthz: database and disk checks, no authentication."""
import os
import shutil

from flask import Blueprint, jsonify

from relay.api.guard import public, services

bp = Blueprint("health", __name__)

MIN_FREE_BYTES = 50 * 1024 * 1024


def _problems() -> list[str]:
    problems = []
    svc = services()
    try:
        svc.db.execute_sql("SELECT 1").fetchone()
    except Exception as exc:  # any database failure makes the relay unhealthy
        problems.append(f"database: {exc}")
    data_dir = svc.data_dir
    if not os.access(data_dir, os.W_OK):
        problems.append("disk: data directory is not writable")
    elif shutil.disk_usage(data_dir).free < MIN_FREE_BYTES:
        problems.append("disk: less than 50 MB free")
    return problems


@bp.get("/healthz")
@public
def healthz():
    problems = _problems()
    if problems:
        return jsonify({"status": "error", "error": "; ".join(problems)}), 503
    return jsonify({"status": "ok"})
