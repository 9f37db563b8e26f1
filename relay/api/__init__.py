"""HTTP layer: one blueprint per resource; handlers parse, call the domain and shape JSON."""
from relay.api import (agents, apps, auth, builds, comments, health, invitations, logs, ota,
                       ota_devices, profile, recordings, settings, team, tokens, uploads)

BLUEPRINTS = (health.bp, auth.bp, invitations.bp, team.bp, tokens.bp, profile.bp,
              settings.bp, logs.bp, uploads.bp, apps.bp, builds.bp, comments.bp, recordings.bp,
              agents.bp, ota.bp, ota_devices.bp)
