"""The reference agent, `relay agent`, as its own process against a real relay."""
import subprocess
import sys
import time

from conftest import ROOT, init_admin, make_token


def wait_for(predicate, timeout=20.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return False


def start_agent(url, token, name="mac-test"):
    return subprocess.Popen([sys.executable, str(ROOT / "relay.py"), "agent", "--server", url,
                             "--token", token, "--name", name, "--interval", "0.2"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def test_agent_reports_and_reconnects_after_a_restart(relay_factory, tmp_path):
    relay = relay_factory(data_dir=tmp_path / "d")
    admin = init_admin(relay)
    token = make_token(admin, "agent")
    agent = start_agent(relay.url, token)
    try:
        assert wait_for(lambda: admin.get("/api/v1/agents").json() == ["mac-test"])
        samples = admin.get("/api/v1/agents/mac-test/resources?range=1h").json()
        assert samples and 0 <= samples[0]["cpu_percent"] <= 100 and 0 < samples[0]["mem_percent"] <= 100
        port = relay.port
        relay.stop()
        time.sleep(0.5)  # the agent meets a closed port and backs off
        again = relay_factory(data_dir=tmp_path / "d", port=port)
        from relay.models import AgentSample
        before = AgentSample.select().count()
        assert wait_for(lambda: AgentSample.select().count() > before)
        assert again.client().get("/healthz").ok
    finally:
        agent.terminate()
        out, _ = agent.communicate(timeout=10)
    assert "reporting as 'mac-test'" in out and "lost the server" in out


def test_agent_with_a_wrong_token_says_so(relay, admin):
    token = make_token(admin, "builds:write")
    agent = start_agent(relay.url, token)
    out, _ = agent.communicate(timeout=20)
    assert agent.returncode == 2
    assert "refused the token (403)" in out and "Insufficient scope" in out
