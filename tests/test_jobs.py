"""Housekeeping jobs, called as plain functions."""
from datetime import timedelta

from relay.core import cleanup
from relay.models import Invitation
from relay.timeutil import utcnow


def test_purge_dead_links_keeps_live_ones(relay, admin):
    live = admin.post("/api/v1/team/invite", json={"email": "live@example.com"}).json()["token"]
    admin.post("/api/v1/team/invite", json={"email": "old@example.com"})
    Invitation.update(expires_at=utcnow() - timedelta(days=2)).where(
        Invitation.email == "old@example.com").execute()
    assert cleanup.purge_dead_links() == 1
    assert [i.email for i in Invitation.select()] == ["live@example.com"]
    assert relay.client().get(f"/api/v1/invitations/verify?token={live}").status_code == 200
