"""The one exception tree of unlearn-audit. Every error the service reports is one of these.

    AuditError                        root; `code` is what the API body and a failed job carry
    ├── BadInputError                 bad request input
    │   ├── InvalidRequestError       the body or a parameter breaks the schema (names the field)
    │   ├── BadParameterError         a query parameter or header that is malformed
    │   ├── MalformedJSONError        the body is not JSON, is empty, or is nested too deeply
    │   ├── UnsupportedMediaTypeError a JSON body sent under another content type
    │   ├── RequestTooLargeError      a body over the operator's size limit
    │   ├── BadCursorError            a pagination cursor this service did not issue
    │   ├── UnknownFormatError        `?format=` names no format we render
    │   ├── PathNotAllowedError       a path outside the allowed roots, `..` or symlink tricks
    │   ├── URLNotAllowedError        an outbound URL or address the operator does not allow
    │   ├── SecretNotAllowedError     `api_key_env` names a variable the operator does not allow
    │   ├── RepoNotAllowedError       a Hub repository the operator does not allow fetching
    │   ├── ModelNotFoundError        a registry has no such model (repository, version, run)
    │   │   └── RevisionNotFoundError the repository has no such revision (branch, tag, sha, PR ref)
    │   ├── ModelAccessDeniedError    a gated or private model the configured token may not read
    │   ├── NoWeightsError            a fetched model with no weights the worker may load
    │   ├── ModelTooLargeError        a model larger than the whole model cache
    │   ├── ArtifactStoreUnsupportedError  an MLflow model whose artifacts are in a store we cannot read
    │   ├── UnsafeModelError          a checkpoint that is unsafe to load as asked (pickle, remote code)
    │   │   └── UnsafeNotAllowedError remote code or pickle, which this deployment or key may not use
    │   ├── DatasetError              a dataset that cannot be loaded or has bad rows
    │   │   └── DatasetAccessDeniedError  a gated or private Hub dataset the configured token may not read
    │   ├── ProfileError              an audit profile that cannot become a valid request
    │   ├── PayloadError              a registry webhook payload not of the registry's shape
    │   └── InvalidEnvelopeError      a signed scorecard that is malformed or signed by no trusted key
    ├── UnauthorizedError             no API key, or an unknown one
    │   └── BadSignatureError         a webhook whose signature is missing, wrong or stale
    ├── ForbiddenError                the API key lacks the scope the route needs
    ├── NotFoundError                 no such evaluation (or not one of the caller's team)
    ├── ConflictError                 the resource is not in a state that allows this
    │   ├── IdempotencyConflictError  an Idempotency-Key reused with another body
    │   ├── NotFinishedError          no scorecard (yet)
    │   ├── AlreadyFinishedError      cancelling an evaluation that has ended
    │   └── NoCallbackError           redelivering for an evaluation without `callback.url`
    ├── QuotaExceededError            a team's cap on queued and running jobs is reached (retry later)
    ├── UnavailableError              a part the request needs is not configured or not reachable
    │   ├── WebhookNotConfiguredError a receiver whose secret is unset
    │   ├── CacheFullError            the model cache is held by running jobs (retry later)
    │   └── StoreUnavailableError     the database is down or restarting (retry after a few seconds)
    ├── ModelUnreachableError         an endpoint that does not answer after retries
    ├── ModelProtocolError            an endpoint that answers, but not as its protocol says
    ├── UnsupportedCapabilityError    a check needs what the backend lacks
    ├── JobCancelledError             the job was cancelled; raised between batches
    ├── DeadlineExceededError         the job ran past its deadline
    ├── InvalidJobError               a stored job that cannot be decoded or started (failed, queue moves on)
    └── ConfigurationError            the operator's configuration is broken (a profiles file, a setting)

This module imports only the standard library, so a client without torch or the server can use it. The
HTTP status of each class is the service's business: `service/errors.py` holds the one table. Codes are
an open set: clients must accept codes they do not know (new ones are added, existing ones keep their
meaning); `ERROR_CODES` lists the known ones. Control flow that never reaches a user (a lost lease, a
worker stopping, a retry inside a backend) uses exceptions of its own outside this tree.
"""

from __future__ import annotations

_EXCERPT = 200


def excerpt(value: object, limit: int = _EXCERPT) -> str:
    """`repr(value)` cut to `limit` characters, for messages and log lines that quote user input."""
    text = repr(value)
    return text if len(text) <= limit else f"{text[: limit - 20]}…({len(text)} chars)"


class AuditError(Exception):
    """Root of every error unlearn-audit reports. `field` names the request field to blame, if one is."""

    code = "internal_error"

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class BadInputError(AuditError):
    code = "bad_request"


class InvalidRequestError(BadInputError):
    code = "invalid_request"


class BadParameterError(BadInputError):
    code = "bad_request"


class MalformedJSONError(BadInputError):
    code = "malformed_json"


class UnsupportedMediaTypeError(BadInputError):
    code = "unsupported_media_type"


class RequestTooLargeError(BadInputError):
    code = "request_too_large"


class BadCursorError(BadInputError):
    code = "bad_request"


class UnknownFormatError(BadInputError):
    code = "bad_request"


class PathNotAllowedError(BadInputError):
    code = "path_not_allowed"


class URLNotAllowedError(BadInputError):
    code = "url_not_allowed"


class SecretNotAllowedError(BadInputError):
    code = "secret_not_allowed"


class RepoNotAllowedError(BadInputError):
    code = "repo_not_allowed"


class ModelNotFoundError(BadInputError):
    code = "model_not_found"


class RevisionNotFoundError(ModelNotFoundError):
    code = "revision_not_found"


class ModelAccessDeniedError(BadInputError):
    code = "model_access_denied"


class NoWeightsError(BadInputError):
    code = "no_loadable_weights"


class ModelTooLargeError(BadInputError):
    code = "model_too_large"


class ArtifactStoreUnsupportedError(BadInputError):
    code = "artifact_store_unsupported"


class UnsafeModelError(BadInputError):
    code = "unsafe_model"


class UnsafeNotAllowedError(UnsafeModelError):
    code = "unsafe_not_allowed"


class DatasetError(BadInputError):
    code = "dataset_error"


class DatasetAccessDeniedError(DatasetError):
    code = "dataset_access_denied"


class ProfileError(BadInputError):
    code = "invalid_profile"


class PayloadError(BadInputError):
    code = "bad_payload"


class InvalidEnvelopeError(BadInputError):
    code = "invalid_signature"


class UnauthorizedError(AuditError):
    code = "unauthorized"


class BadSignatureError(UnauthorizedError):
    code = "bad_signature"


class ForbiddenError(AuditError):
    code = "forbidden"


class NotFoundError(AuditError):
    code = "not_found"


class ConflictError(AuditError):
    code = "conflict"


class IdempotencyConflictError(ConflictError):
    code = "idempotency_conflict"


class NotFinishedError(ConflictError):
    code = "not_finished"


class AlreadyFinishedError(ConflictError):
    code = "already_finished"


class NoCallbackError(ConflictError):
    code = "no_callback"


class QuotaExceededError(AuditError):
    """`retry_after_s`: when to try again (sent as `Retry-After`)."""

    code = "too_many_requests"

    def __init__(self, message: str, *, retry_after_s: int, field: str | None = None) -> None:
        super().__init__(message, field=field)
        self.retry_after_s = retry_after_s


class UnavailableError(AuditError):
    code = "unavailable"


class WebhookNotConfiguredError(UnavailableError):
    code = "webhook_not_configured"


class CacheFullError(UnavailableError):
    code = "cache_full"


class StoreUnavailableError(UnavailableError):
    """`retry_after_s`: when to try again (sent as `Retry-After`)."""

    code = "store_unavailable"

    def __init__(self, message: str, *, retry_after_s: int) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class ModelUnreachableError(AuditError):
    code = "model_unreachable"


class ModelProtocolError(AuditError):
    code = "model_protocol_error"


class UnsupportedCapabilityError(AuditError):
    code = "unsupported_capability"


class JobCancelledError(AuditError):
    code = "cancelled"


class DeadlineExceededError(AuditError):
    code = "deadline_exceeded"


class InvalidJobError(AuditError):
    code = "invalid_job"


class ConfigurationError(AuditError):
    code = "configuration_error"


def error_classes() -> list[type[AuditError]]:
    """Every class of the tree, root first (depth-first, in definition order)."""
    found: list[type[AuditError]] = []

    def walk(cls: type[AuditError]) -> None:
        found.append(cls)
        for sub in cls.__subclasses__():
            if sub.__module__ == __name__:
                walk(sub)

    walk(AuditError)
    return found


ERROR_CODES: dict[str, str] = {
    "internal_error": "An unexpected failure inside the service (a bug); the message says no more.",
    "bad_request": "Bad input: a malformed parameter, cursor, format or request.",
    "invalid_request": "The body or a parameter breaks the schema; `field` names it.",
    "malformed_json": "The body is not JSON, is empty, or is nested too deeply.",
    "unsupported_media_type": "A JSON body sent under a content type other than application/json.",
    "request_too_large": "The body is larger than UNLEARN_AUDIT_MAX_BODY_BYTES.",
    "path_not_allowed": "A checkpoint or dataset path outside the allowed roots.",
    "url_not_allowed": "An outbound URL, redirect or address the operator does not allow.",
    "secret_not_allowed": "`api_key_env` names a variable not in UNLEARN_AUDIT_ENDPOINT_SECRETS.",
    "repo_not_allowed": "A Hub repository not matching UNLEARN_AUDIT_HUB_REPOS (models) or UNLEARN_AUDIT_HUB_DATASETS.",
    "model_not_found": "The registry has no such model (repository, model version, run or artifact path).",
    "revision_not_found": "The repository has no such revision (branch, tag, commit sha or pull-request ref).",
    "model_access_denied": "A gated or private model the configured token may not read (the message says how).",
    "no_loadable_weights": "A fetched model without weights the worker may load (safetensors; pickle if allowed).",
    "model_too_large": "A model whose files exceed the whole model cache (UNLEARN_AUDIT_CACHE_MAX_BYTES).",
    "artifact_store_unsupported": "An MLflow model whose artifacts are in a store we cannot read (S3, GCS, Azure...).",
    "unsafe_model": "A checkpoint unsafe to load as asked: pickle weights, remote code, links out of the root.",
    "unsafe_not_allowed": "Remote code or pickle weights, which this deployment or this key may not use.",
    "dataset_error": "A dataset that cannot be loaded or has bad rows (names dataset, row and field).",
    "dataset_access_denied": "A gated or private Hub dataset the configured token may not read (the message says how).",
    "invalid_profile": "An audit profile that cannot become a valid evaluation request.",
    "bad_payload": "A registry webhook payload not of the registry's shape.",
    "invalid_signature": "A signed scorecard that is malformed or signed by no trusted key.",
    "unauthorized": "No API key, or an unknown one.",
    "bad_signature": "A webhook whose signature is missing, wrong or stale.",
    "forbidden": "The API key lacks the scope the route needs.",
    "not_found": "No such evaluation, or not one the caller's team may see.",
    "method_not_allowed": "The route does not answer this HTTP method.",
    "conflict": "The resource is not in a state that allows this.",
    "idempotency_conflict": "An Idempotency-Key already used with a different body.",
    "not_finished": "The evaluation has no scorecard (yet).",
    "already_finished": "The evaluation has already ended.",
    "no_callback": "The evaluation has no `callback.url`.",
    "too_many_requests": "The team's cap on queued and running jobs is reached; retry after `Retry-After`.",
    "unavailable": "A part the request needs is not configured or not reachable.",
    "webhook_not_configured": "This registry receiver's secret is unset.",
    "cache_full": "The model cache is held by running jobs and cannot make room; retry when they end.",
    "store_unavailable": "The job store (database) is down or restarting; retry after `Retry-After`.",
    "model_unreachable": "A model endpoint did not answer after retries.",
    "model_protocol_error": "A model endpoint answered, but not as its protocol says.",
    "unsupported_capability": "A check needs what the model backend lacks.",
    "cancelled": "The evaluation was cancelled.",
    "deadline_exceeded": "The evaluation ran past `deadline_s`.",
    "invalid_job": "A stored job could not be decoded or started; it was failed so the queue moves on.",
    "configuration_error": "The operator's configuration is broken (the message says which part).",
}
"""The known error codes and what each means. An open set: clients must accept codes not listed here."""
