"""Registry webhooks: verified receivers (Hugging Face, MLflow 3.x, Databricks, W&B, generic) that submit
audits according to audit profiles, with de-duplication and a log of every audit-starting event.

Routes: `routes.webhook_router`. Profiles: `stored.StoredProfiles` (in the database, shared by every replica),
`profiles.ProfileFile` (a YAML or JSON file, imported and exported), `profiles.build_request`.
"""

from service.webhooks.events import REGISTRIES, RegistryEvent
from service.webhooks.profiles import AuditProfile, ProfileError, ProfileFile, ProfileSet, build_request
from service.webhooks.receive import handle_event

__all__ = [
    "REGISTRIES",
    "AuditProfile",
    "ProfileError",
    "ProfileFile",
    "ProfileSet",
    "RegistryEvent",
    "build_request",
    "handle_event",
]
