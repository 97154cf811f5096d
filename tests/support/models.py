"""Shared test fixtures: models."""
