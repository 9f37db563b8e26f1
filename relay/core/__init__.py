"""The domain: plain functions usable from HTTP handlers, the CLI and jobs alike."""
