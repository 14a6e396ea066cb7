"""The status page (a first, read-only version; the full page comes with its own issue)."""
