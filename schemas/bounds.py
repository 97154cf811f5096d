"""Bounds shared by every field a user controls: no number or string in the contract is unbounded.

A value past these is a 422 naming the field, before anything is stored; the figures are far beyond any
real audit and well inside what the store's columns, `datetime` arithmetic and the workers can hold.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, StringConstraints

MAX_SEED = 2**32 - 1
"""Seeds feed numpy and torch generators, which take 32-bit seeds."""
MAX_LIMIT = 10_000_000
"""Items per dataset: MMLU has 14k questions; no dataset we know of has ten million."""
MAX_DEADLINE_S = 30 * 24 * 3600
"""Thirty days: an audit that needs longer is an operational problem, not a deadline."""
MAX_ITEMS_INLINE = 100_000
MAX_PATH_CHARS = 4096
"""PATH_MAX on Linux; each component is further held to 255 bytes (NAME_MAX) where paths are resolved."""
MAX_URL_CHARS = 2048
NO_NUL = "^[^\\u0000]*$"
"""A JSON Schema pattern: text without NUL characters (text columns of the store cannot hold them)."""

Seed = Annotated[int, Field(ge=0, le=MAX_SEED, description="Seeds folds, splits, bootstraps and trained attacks.")]
ItemLimit = Annotated[int, Field(ge=1, le=MAX_LIMIT, description="At most this many items per dataset (the first N).")]
DeadlineSeconds = Annotated[
    float,
    Field(gt=0, le=MAX_DEADLINE_S, description="Fail the job with `deadline_exceeded` after this (at most 30 days)."),
]
PathText = Annotated[str, StringConstraints(min_length=1, max_length=MAX_PATH_CHARS)]
URLText = Annotated[str, StringConstraints(min_length=1, max_length=MAX_URL_CHARS)]
ShortText = Annotated[str, StringConstraints(min_length=1, max_length=200)]
EnvName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z_][A-Za-z0-9_]{0,127}$")]
"""The name of an environment variable (never its value)."""

HubRepoId = Annotated[
    str,
    StringConstraints(
        max_length=200,
        pattern=r"^(?:[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?/)?[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?$",
    ),
]
"""A Hub repository id, `org/name` or `name`, as the Hub accepts them."""
HubDatasetName = Annotated[
    str, StringConstraints(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
]
"""A dataset config or split name as the Hub writes them (`wmdp-bio`, `college_biology`, `test`)."""
HubRevision = Annotated[str, StringConstraints(min_length=1, max_length=256, pattern=r"^[A-Za-z0-9][A-Za-z0-9._/-]*$")]
"""A branch, tag, commit sha or `refs/pr/N` (no spaces, no leading `/` or `.`)."""
RelativePath = Annotated[
    str, StringConstraints(min_length=1, max_length=512, pattern=r"^[A-Za-z0-9_][A-Za-z0-9._/-]*$")
]
"""A path inside a repository or artifact tree (relative; `..` is refused where it is used)."""
MLflowModelURI = Annotated[
    str, StringConstraints(min_length=8, max_length=1024, pattern=r"^(models|runs):/[^\s\x00]+$")
]
"""`models:/<name>/<version>`, `models:/<name>@<alias>`, `models:/m-<id>` or `runs:/<run id>/<path>`."""
