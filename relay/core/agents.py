"""Mac agents: heartbeats with CPU/RAM and devices, per-minute history kept 30 days."""
import json
import re
from datetime import datetime, timedelta

from relay.core.errors import Invalid, NotFound
from relay.db import database
from relay.models import Agent, AgentSample
from relay.timeutil import utcnow

NAME_RE = re.compile(r"\A[A-Za-z0-9._-]{1,64}\Z")  # not "$": it lets a trailing "\n" in
ONLINE_WITHIN = timedelta(seconds=30)
RETENTION = timedelta(days=30)
RANGES = {"1h": timedelta(hours=1), "6h": timedelta(hours=6), "24h": timedelta(hours=24),
          "7d": timedelta(days=7)}
MAX_DEVICES_JSON = 16 * 1024


def validate_name(name: str) -> str:
    if not isinstance(name, str) or not NAME_RE.fullmatch(name):
        raise Invalid("agent name must be 1-64 letters, digits, '.', '_' or '-'")
    return name


def _percent(body: dict, field: str) -> float:
    value = body.get(field)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise Invalid(f"{field} required (a number from 0 to 100)")
    if not 0 <= value <= 100:
        raise Invalid(f"{field} must be between 0 and 100")
    return float(value)


def heartbeat(name: str, body: dict, now: datetime | None = None) -> Agent:
    name = validate_name(name)
    cpu, mem = _percent(body, "cpu_percent"), _percent(body, "mem_percent")
    platform = body.get("platform")
    if platform is not None and (not isinstance(platform, str) or len(platform) > 64):
        raise Invalid("platform must be a string of at most 64 characters")
    devices = body.get("devices")
    if devices is not None:
        if not isinstance(devices, list):
            raise Invalid("devices must be a list")
        devices = json.dumps(devices)
        if len(devices) > MAX_DEVICES_JSON:
            raise Invalid("devices is too large")
    now = now or utcnow()
    with database.atomic():
        (Agent.insert(name=name, platform=platform, devices=devices, cpu_percent=cpu,
                      mem_percent=mem, last_seen_at=now)
         .on_conflict(conflict_target=[Agent.name],
                      update={Agent.platform: platform, Agent.devices: devices,
                              Agent.cpu_percent: cpu, Agent.mem_percent: mem,
                              Agent.last_seen_at: now})
         .execute())
        agent = Agent.get(Agent.name == name)
        AgentSample.create(agent=agent, recorded_at=now, cpu_percent=cpu, mem_percent=mem)
    return agent


def online(now: datetime | None = None) -> list[Agent]:
    since = (now or utcnow()) - ONLINE_WITHIN
    return list(Agent.select().where(Agent.last_seen_at >= since).order_by(Agent.name))


def resources(name: str, range_: str | None, now: datetime | None = None) -> list[dict]:
    """Per-minute averages over the range, oldest first."""
    span = RANGES.get(range_ or "1h")
    if span is None:
        raise Invalid("range must be one of 1h, 6h, 24h, 7d")
    agent = Agent.get_or_none(Agent.name == name)
    if agent is None:
        raise NotFound("Agent not found")
    since = (now or utcnow()) - span
    rows = database.execute_sql(
        "SELECT strftime('%Y-%m-%dT%H:%M:00Z', recorded_at) AS minute, avg(cpu_percent),"
        " avg(mem_percent) FROM agent_samples WHERE agent_id = ? AND recorded_at >= ?"
        " GROUP BY minute ORDER BY minute", (agent.id, since)).fetchall()
    return [{"cpu_percent": round(cpu, 1), "mem_percent": round(mem, 1), "recorded_at": minute}
            for minute, cpu, mem in rows]


def fold_samples(now: datetime | None = None) -> int:
    """Replace the raw heartbeats of each finished minute by one averaged row per agent."""
    now = now or utcnow()
    current_minute = now.replace(second=0, microsecond=0)
    with database.atomic("IMMEDIATE"):
        database.execute_sql(
            "INSERT INTO agent_samples (agent_id, recorded_at, cpu_percent, mem_percent, folded)"
            " SELECT agent_id, strftime('%Y-%m-%d %H:%M:00', recorded_at), avg(cpu_percent),"
            " avg(mem_percent), 1 FROM agent_samples WHERE folded = 0 AND recorded_at < ?"
            " GROUP BY agent_id, strftime('%Y-%m-%d %H:%M', recorded_at)", (current_minute,))
        cursor = database.execute_sql(
            "DELETE FROM agent_samples WHERE folded = 0 AND recorded_at < ?", (current_minute,))
        return cursor.rowcount


def drop_old_samples(now: datetime | None = None) -> int:
    cutoff = (now or utcnow()) - RETENTION
    return AgentSample.delete().where(AgentSample.recorded_at < cutoff).execute()
