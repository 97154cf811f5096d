"""Dependency annotations for handlers: injected by name, not re-validated (the store is a Protocol)."""

from __future__ import annotations

from litestar.di import NamedDependency
from litestar.params import SkipValidation

from service.settings import Settings
from service.store.api import JobStore

StoreDep = NamedDependency[SkipValidation[JobStore]]
"""The app's job store, injected as `store`."""

SettingsDep = NamedDependency[SkipValidation[Settings]]
"""The app's settings, injected as `settings`."""
