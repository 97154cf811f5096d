"""The deployment's pins of suite datasets, for admins: which commit each suite dataset is read at, and
forgetting a pin so the next audit pins what the revision names then (e.g. after a dataset's fix)."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import delete, get
from litestar.params import QueryParameter

from schemas.bounds import HubRepoId
from service.errors import error_responses
from service.routes.deps import StoreDep
from service.routes.keyed import KeyedController, needs_scope


class DatasetPinController(KeyedController):
    """/v1/datasets/pins (`admin`)."""

    path = "/v1/datasets/pins"
    opt = needs_scope("admin")

    @get(
        "/",
        summary="Suite dataset pins",
        responses=error_responses(401, 403),
    )
    async def list_dataset_pins(self, store: StoreDep) -> dict[str, Any]:
        """The commit each suite dataset's moving revision (`main`) was first resolved to by this deployment; later
        audits read it there. The operator's UNLEARN_AUDIT_DATASET_REVISIONS win over these."""
        return {"items": [p.as_json() for p in await store.dataset_pins()]}

    @delete(
        "/",
        summary="Forget suite dataset pins",
        status_code=200,
        responses=error_responses(400, 401, 403),
    )
    async def forget_dataset_pins(
        self,
        store: StoreDep,
        repo: Annotated[
            HubRepoId | None, QueryParameter(description="Only this repository's pins; omitted: all.")
        ] = None,
    ) -> dict[str, Any]:
        """Forget pins: the next audit of a suite resolves those datasets again and pins what it finds."""
        return {"forgotten": await store.forget_dataset_pins(repo)}
