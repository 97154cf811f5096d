"""Results written back to the registry that holds the audited model, when the audit ends.

    await write_back(store, settings, job_id)   # the worker calls it for jobs whose write-back is owed

Where a job's result goes is decided at submit (`service.writeback.target`); what is written is in
`content` (pure), how it is sent in `send`.
"""

from service.writeback.send import write_back

__all__ = ["write_back"]
