"""Mac agents end to end over HTTP: heartbeats with agent tokens, who is online, per-minute
resource history; and the jobs that fold samples into minutes and drop old ones."""
from datetime import timedelta

import pytest

from conftest import bearer, make_token
from relay.core import agents
from relay.models import Agent, AgentSample
from relay.timeutil import utcnow


@pytest.fixture
def agent(relay, admin):
    """The Mac agent's client: an Admin-issued token with the `agent` scope."""
    return bearer(relay, make_token(admin, "agent"))


def beat(client, name="mac-mini-office", cpu=10.0, mem=50.0, **extra):
    r = client.post(f"/api/v1/agents/{name}/heartbeat",
                    json={"cpu_percent": cpu, "mem_percent": mem, **extra})
    return r


def minute(dt):
    return dt.strftime("%Y-%m-%dT%H:%M:00Z")


def place(name, samples):
    """Move the agent's raw samples (oldest first) to the given times."""
    rows = list(AgentSample.select().join(Agent).where(Agent.name == name)
                .order_by(AgentSample.id))
    assert len(rows) == len(samples)
    for row, at in zip(rows, samples):
        AgentSample.update(recorded_at=at).where(AgentSample.id == row.id).execute()


def test_heartbeat_and_online_list(relay, admin, member, agent):
    r = beat(agent, cpu=44.2, mem=61, platform="macOS 15.1",
             devices=[{"name": "iPhone 16", "udid": "ABC"}])
    assert r.status_code == 200 and r.json() == {"ok": True}
    assert beat(agent, "mac-mini-lab", 5, 6).status_code == 200
    row = Agent.get(Agent.name == "mac-mini-office")
    assert (row.cpu_percent, row.mem_percent, row.platform) == (44.2, 61.0, "macOS 15.1")
    assert '"iPhone 16"' in row.devices
    viewer = member("Viewer")
    assert viewer.get("/api/v1/agents").json() == ["mac-mini-lab", "mac-mini-office"]

    # An agent whose last heartbeat is over 30 s old is no longer listed; a new beat brings it back.
    Agent.update(last_seen_at=utcnow() - timedelta(seconds=31)).where(
        Agent.name == "mac-mini-lab").execute()
    Agent.update(last_seen_at=utcnow() - timedelta(seconds=25)).where(
        Agent.name == "mac-mini-office").execute()
    assert viewer.get("/api/v1/agents").json() == ["mac-mini-office"]
    assert beat(agent, "mac-mini-lab").status_code == 200
    assert viewer.get("/api/v1/agents").json() == ["mac-mini-lab", "mac-mini-office"]
    assert relay.client().get("/api/v1/agents").status_code == 401


def test_who_may_report(relay, admin, member):
    # Only Admins can create agent tokens.
    dev = member("Developer")
    r = dev.post("/api/v1/tokens", json={"name": "agent", "scope": "agent"})
    assert r.status_code == 403 and r.json() == {"error": "Only Admins can create agent tokens"}
    for client, status, message in [
        (bearer(relay, make_token(admin, "builds:write")), 403, "Insufficient scope"),
        (bearer(relay, make_token(admin, "view")), 403, "Insufficient scope"),
        (bearer(relay, make_token(dev, "builds:write")), 403, "Insufficient scope"),
        (dev, 403, "Forbidden"),
        (relay.client(), 401, "Unauthorized"),
        (bearer(relay, "tflw_pat_" + "0" * 64), 401, "Unauthorized"),
    ]:
        r = beat(client)
        assert r.status_code == status and r.json() == {"error": message}
    assert Agent.select().count() == 0 and AgentSample.select().count() == 0
    # A token that also has other scopes is fine when it has `agent`.
    assert beat(bearer(relay, make_token(admin, "agent,view"))).status_code == 200


@pytest.mark.parametrize("name, body, message", [
    ("mac", {"mem_percent": 5}, "cpu_percent required (a number from 0 to 100)"),
    ("mac", {"cpu_percent": "50", "mem_percent": 5}, "cpu_percent required (a number from 0 to 100)"),
    ("mac", {"cpu_percent": True, "mem_percent": 5}, "cpu_percent required (a number from 0 to 100)"),
    ("mac", {"cpu_percent": None, "mem_percent": 5}, "cpu_percent required (a number from 0 to 100)"),
    ("mac", {"cpu_percent": -0.1, "mem_percent": 5}, "cpu_percent must be between 0 and 100"),
    ("mac", {"cpu_percent": 100.5, "mem_percent": 5}, "cpu_percent must be between 0 and 100"),
    ("mac", {"cpu_percent": 1}, "mem_percent required (a number from 0 to 100)"),
    ("mac", {"cpu_percent": 1, "mem_percent": 1e300}, "mem_percent must be between 0 and 100"),
    ("mac", {"cpu_percent": 1, "mem_percent": 2, "platform": 7},
     "platform must be a string of at most 64 characters"),
    ("mac", {"cpu_percent": 1, "mem_percent": 2, "platform": "m" * 65},
     "platform must be a string of at most 64 characters"),
    ("mac", {"cpu_percent": 1, "mem_percent": 2, "devices": "iPhone"}, "devices must be a list"),
    ("mac", {"cpu_percent": 1, "mem_percent": 2, "devices": ["x" * 1000] * 20}, "devices is too large"),
    ("bad%20name", {"cpu_percent": 1, "mem_percent": 2},
     "agent name must be 1-64 letters, digits, '.', '_' or '-'"),
    ("mac%0A", {"cpu_percent": 1, "mem_percent": 2},
     "agent name must be 1-64 letters, digits, '.', '_' or '-'"),
    ("m" * 65, {"cpu_percent": 1, "mem_percent": 2},
     "agent name must be 1-64 letters, digits, '.', '_' or '-'"),
    ("caf%C3%A9", {"cpu_percent": 1, "mem_percent": 2},
     "agent name must be 1-64 letters, digits, '.', '_' or '-'"),
])
def test_bad_heartbeats(relay, agent, name, body, message):
    r = agent.post(f"/api/v1/agents/{name}/heartbeat", json=body)
    assert r.status_code == 400, r.text
    assert r.json() == {"error": message}
    assert Agent.select().count() == 0 and AgentSample.select().count() == 0
    assert beat(agent).status_code == 200  # still serving


def test_malformed_heartbeat_bodies(relay, agent):
    for data, message in [("{nope", "Malformed JSON body"), ("[10, 20]", "JSON body must be an object"),
                          ('{"cpu_percent": NaN, "mem_percent": 1}', "cpu_percent must be between 0 and 100"),
                          ('{"cpu_percent": 1, "mem_percent": Infinity}', "mem_percent must be between 0 and 100"),
                          ("", "cpu_percent required (a number from 0 to 100)")]:
        r = agent.post("/api/v1/agents/mac/heartbeat", data=data,
                       headers={"Content-Type": "application/json"})
        assert r.status_code == 400 and r.json() == {"error": message}, (data, r.text)
    assert Agent.select().count() == 0


def test_resources_are_per_minute_averages_within_the_range(relay, admin, agent):
    now = utcnow()
    m10 = now.replace(second=0, microsecond=0) - timedelta(minutes=10)
    m9 = m10 + timedelta(minutes=1)
    two_h, three_d, eight_d = now - timedelta(hours=2), now - timedelta(days=3), now - timedelta(days=8)
    for cpu, mem in [(10, 20), (20, 40), (60, 90),  # minute m10: averages 30 / 50
                     (5, 7),                        # minute m9
                     (70, 80), (30, 60),            # two hours ago
                     (1, 2), (99, 98)]:             # three and eight days ago
        assert beat(agent, cpu=cpu, mem=mem).status_code == 200
    place("mac-mini-office", [m10 + timedelta(seconds=5), m10 + timedelta(seconds=30),
                              m10 + timedelta(seconds=59, microseconds=999000),
                              m9, two_h, two_h + timedelta(seconds=1), three_d, eight_d])
    assert beat(agent, "other", cpu=100, mem=100).status_code == 200
    place("other", [m10 + timedelta(seconds=1)])  # another agent's samples never mix in

    expected_1h = [{"cpu_percent": 30.0, "mem_percent": 50.0, "recorded_at": minute(m10)},
                   {"cpu_percent": 5.0, "mem_percent": 7.0, "recorded_at": minute(m9)}]
    r = admin.get("/api/v1/agents/mac-mini-office/resources")
    assert r.status_code == 200 and r.json() == expected_1h
    assert admin.get("/api/v1/agents/mac-mini-office/resources?range=1h").json() == expected_1h
    two_h_point = {"cpu_percent": 50.0, "mem_percent": 70.0, "recorded_at": minute(two_h)}
    if minute(two_h) != minute(two_h + timedelta(seconds=1)):  # straddles a minute: two points
        two_h_point = None
    six = admin.get("/api/v1/agents/mac-mini-office/resources?range=6h").json()
    assert six[-2:] == expected_1h and len(six) in (3, 4)
    if two_h_point:
        assert six == [two_h_point] + expected_1h
    day = admin.get("/api/v1/agents/mac-mini-office/resources?range=24h").json()
    assert day == six
    week = admin.get("/api/v1/agents/mac-mini-office/resources?range=7d").json()
    assert week[0] == {"cpu_percent": 1.0, "mem_percent": 2.0, "recorded_at": minute(three_d)}
    assert week[1:] == six  # eight days ago is out of every range
    assert admin.get("/api/v1/agents/other/resources").json() == \
        [{"cpu_percent": 100.0, "mem_percent": 100.0, "recorded_at": minute(m10)}]


def test_resources_errors(relay, admin, member, agent):
    assert beat(agent).status_code == 200
    for path, status, message in [
        ("/api/v1/agents/mac-mini-office/resources?range=2h", 400, "range must be one of 1h, 6h, 24h, 7d"),
        ("/api/v1/agents/mac-mini-office/resources?range=1H", 400, "range must be one of 1h, 6h, 24h, 7d"),
        ("/api/v1/agents/mac-mini-office/resources?range=30d", 400, "range must be one of 1h, 6h, 24h, 7d"),
        ("/api/v1/agents/unknown/resources", 404, "Agent not found"),
        ("/api/v1/agents/unknown/resources?range=7d", 404, "Agent not found"),
        ("/api/v1/agents/bad%20name/resources", 404, "Agent not found"),
    ]:
        r = admin.get(path)
        assert r.status_code == status and r.json() == {"error": message}, (path, r.text)
    viewer = member("Viewer")
    assert len(viewer.get("/api/v1/agents/mac-mini-office/resources").json()) == 1
    # An empty range is the default, like an absent one.
    assert viewer.get("/api/v1/agents/mac-mini-office/resources?range=").json() == \
        viewer.get("/api/v1/agents/mac-mini-office/resources").json()
    assert relay.client().get("/api/v1/agents/mac-mini-office/resources").status_code == 401


def test_fold_leaves_one_row_per_agent_per_finished_minute(relay, admin, agent):
    now = utcnow().replace(second=30, microsecond=0)
    current = now.replace(second=0)
    m2, m1 = current - timedelta(minutes=2), current - timedelta(minutes=1)
    for cpu, mem in [(10, 10), (30, 50), (50, 90), (7, 8), (1, 1), (3, 3)]:
        assert beat(agent, cpu=cpu, mem=mem).status_code == 200
    place("mac-mini-office", [m2 + timedelta(seconds=1), m2 + timedelta(seconds=20),
                              m2 + timedelta(seconds=59, microseconds=500000), m1,
                              current, current + timedelta(seconds=10)])
    for cpu in (40, 60):
        assert beat(agent, "lab", cpu=cpu, mem=cpu).status_code == 200
    place("lab", [m1 + timedelta(seconds=3), m1 + timedelta(seconds=40)])
    before = admin.get("/api/v1/agents/mac-mini-office/resources").json()

    assert agents.fold_samples(now=now) == 6  # raw rows of finished minutes replaced

    def rows(name):
        return [(r.recorded_at, r.cpu_percent, r.mem_percent, r.folded) for r in
                AgentSample.select().join(Agent).where(Agent.name == name)
                .order_by(AgentSample.recorded_at, AgentSample.id)]

    assert rows("mac-mini-office") == [(m2, 30.0, 50.0, 1), (m1, 7.0, 8.0, 1),
                                       (current, 1.0, 1.0, 0),
                                       (current + timedelta(seconds=10), 3.0, 3.0, 0)]
    assert rows("lab") == [(m1, 50.0, 50.0, 1)]
    # The history reads the same before and after folding.
    assert admin.get("/api/v1/agents/mac-mini-office/resources").json() == before
    assert [p["cpu_percent"] for p in before] == [30.0, 7.0, 2.0]
    # Folding again changes nothing; once the minute is over, its raw rows fold too.
    assert agents.fold_samples(now=now) == 0
    assert len(rows("mac-mini-office")) == 4
    assert agents.fold_samples(now=now + timedelta(minutes=1)) == 2
    assert rows("mac-mini-office")[2:] == [(current, 2.0, 2.0, 1)]


def test_drop_old_samples_keeps_30_days(relay, admin, agent):
    now = utcnow()
    for cpu in (1, 2, 3):
        assert beat(agent, cpu=cpu).status_code == 200
    place("mac-mini-office", [now - timedelta(days=31), now - timedelta(days=30, minutes=1),
                              now - timedelta(days=29)])
    assert agents.drop_old_samples(now=now) == 2
    assert [s.cpu_percent for s in AgentSample.select()] == [3.0]
    assert agents.drop_old_samples(now=now) == 0
    assert admin.get("/api/v1/agents/mac-mini-office/resources?range=7d").json() == []
