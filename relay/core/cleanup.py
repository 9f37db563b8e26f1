"""Housekeeping jobs: plain functions, run by the scheduler in `serve` and callable from tests."""
from datetime import timedelta

from relay.models import Invitation, PasswordReset
from relay.timeutil import utcnow

KEEP_DEAD_TOKENS = timedelta(days=1)  # a used or expired link still reads "expired" for a day


def purge_dead_links(now=None) -> int:
    """Delete invitations and password resets that expired or were used over a day ago."""
    cutoff = (now or utcnow()) - KEEP_DEAD_TOKENS
    removed = 0
    for model in (Invitation, PasswordReset):
        removed += model.delete().where((model.expires_at < cutoff) | (model.used_at < cutoff)).execute()
    return removed
