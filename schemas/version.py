"""Version of the public contract (major changes break clients)."""

SCHEMA_VERSION = "1.0"
