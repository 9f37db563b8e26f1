"""GET /api/v1/logs: the last lines of the relay's in-memory log. Admin only."""
from flask import Blueprint, jsonify

from relay.api.common import int_arg
from relay.api.guard import action, services
from relay.logbuffer import CAPACITY

bp = Blueprint("logs", __name__, url_prefix="/api/v1/logs")


@bp.get("")
@action("logs:read")
def logs():
    lines = int_arg("lines", default=100, low=1, high=CAPACITY)
    return jsonify(services().logs.tail(lines))
