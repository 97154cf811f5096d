"""Shared test fixtures: db."""
