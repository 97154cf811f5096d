"""The science of unlearn-audit: model backends, datasets, checks, attacks, statistics, the sandbox.

Knows nothing of HTTP or the database.
"""
