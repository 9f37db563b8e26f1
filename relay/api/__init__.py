"""HTTP layer: one blueprint per resource; handlers parse, call the domain and shape JSON."""
from relay.api import (auth, health, invitations, logs, profile, settings, team, tokens,
                       uploads)

BLUEPRINTS = (health.bp, auth.bp, invitations.bp, team.bp, tokens.bp, profile.bp,
              settings.bp, logs.bp, uploads.bp)
