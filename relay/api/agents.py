"""Agents: heartbeats from Mac agents (agent-scoped tokens), who is online, resource history."""
from flask import Blueprint, jsonify, request

from relay.api.common import json_body, ok
from relay.api.guard import action
from relay.core import agents

bp = Blueprint("agents", __name__, url_prefix="/api/v1/agents")


@bp.get("")
@action("read")
def list_agents():
    return jsonify([a.name for a in agents.online()])


@bp.post("/<name>/heartbeat")
@action("agent:report")
def heartbeat(name):
    agents.heartbeat(name, json_body())
    return ok()


@bp.get("/<name>/resources")
@action("read")
def resources(name):
    return jsonify(agents.resources(name, request.args.get("range")))
