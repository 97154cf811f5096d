"""A dry run: what a submit would do (models resolved, datasets counted, checks and attacks, an estimated time),
with nothing queued. `plan_dry_run` runs after the submit's own checks, off the event loop."""

from service.dry_run.plan import plan_dry_run

__all__ = ["plan_dry_run"]
