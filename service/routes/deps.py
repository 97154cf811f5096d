"""Dependency annotations for handlers (the store is a Protocol, which Litestar cannot isinstance-check)."""

from __future__ import annotations

from typing import Annotated

from litestar.params import Dependency

from service.store.api import JobStore

StoreDep = Annotated[JobStore, Dependency(skip_validation=True)]
"""The app's job store, injected as `store`."""
