"""Over-the-air updates, OtaKit-compatible: bundles, releases on lanes, signed manifests, events."""
