"""Shared test fixtures: sandbox."""
