"""The exception tree of unlearn-audit. Every error the service reports is one of these.

    AuditError                      root; `code` is the job error code, `http_status` the API status
    ├── BadInputError               bad request input (422)
    │   ├── PathNotAllowedError     a path outside the allowed roots, `..` or symlink tricks (403)
    │   ├── UnsafeModelError        pickle weights or remote code not explicitly allowed (422)
    │   ├── URLNotAllowedError      an outbound URL not on the allowlist (403)
    │   └── DatasetError            a dataset that cannot be loaded or has bad rows (422)
    ├── ModelUnreachableError       an endpoint that does not answer after retries (502)
    ├── ModelProtocolError          an endpoint that answers, but not as its protocol says (502)
    ├── UnsupportedCapabilityError  a check needs what the backend lacks: the check is skipped (422)
    ├── JobCancelledError           the job was cancelled; raised between batches (409)
    └── DeadlineExceededError       the job ran past its deadline (408)

The service maps `http_status` in one place (service/errors.py); the worker stores `code` and the message.
"""

from __future__ import annotations


class AuditError(Exception):
    """Root of every error unlearn-audit raises on purpose."""

    code = "internal_error"
    http_status = 500

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class BadInputError(AuditError):
    code = "bad_request"
    http_status = 422


class PathNotAllowedError(BadInputError):
    code = "path_not_allowed"
    http_status = 403


class UnsafeModelError(BadInputError):
    code = "unsafe_model"
    http_status = 422


class URLNotAllowedError(BadInputError):
    code = "url_not_allowed"
    http_status = 403


class DatasetError(BadInputError):
    code = "dataset_error"
    http_status = 422


class ModelUnreachableError(AuditError):
    code = "model_unreachable"
    http_status = 502


class ModelProtocolError(AuditError):
    code = "model_protocol_error"
    http_status = 502


class UnsupportedCapabilityError(AuditError):
    code = "unsupported_capability"
    http_status = 422


class JobCancelledError(AuditError):
    code = "cancelled"
    http_status = 409


class DeadlineExceededError(AuditError):
    code = "deadline_exceeded"
    http_status = 408
