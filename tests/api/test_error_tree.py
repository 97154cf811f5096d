"""One error tree: every class has a documented code and one HTTP status, mapped in one place; the tree
imports nothing a light client lacks; handlers raise, the table answers."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

from schemas import errors
from schemas.errors import ERROR_CODES, AuditError, error_classes
from service.errors import HTTP_STATUS, status_of

REPO = Path(__file__).resolve().parents[2]


def test_every_class_has_a_documented_code_and_a_status() -> None:
    classes = error_classes()
    assert len(classes) > 30
    for cls in classes:
        assert cls.code in ERROR_CODES, cls
        assert 400 <= status_of(cls) <= 599, cls
        assert cls.__name__ in (errors.__doc__ or ""), f"{cls.__name__} missing from the documented tree"
    assert set(HTTP_STATUS) <= set(classes)  # the table names only classes of the tree


def test_statuses_follow_the_tree() -> None:
    assert status_of(errors.PathNotAllowedError) == 403
    assert status_of(errors.UnsafeModelError) == 422 and status_of(errors.UnsafeNotAllowedError) == 403
    assert status_of(errors.NotFinishedError) == 409 and status_of(errors.QuotaExceededError) == 429

    class LocalError(errors.DatasetError):  # a subclass nobody listed takes its nearest ancestor's status
        code = "dataset_error"

    assert status_of(LocalError) == 422


def test_the_tree_imports_only_the_standard_library() -> None:
    tree = ast.parse((REPO / "schemas" / "errors.py").read_text())
    imported = {
        (node.module or "").split(".")[0] if isinstance(node, ast.ImportFrom) else alias.name.split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.Import | ast.ImportFrom)
        for alias in node.names
    }
    assert imported <= {"__future__"}, imported
    # And importing it loads neither torch nor the server.
    probe = (
        "import sys, schemas.errors; print(sorted(m for m in ('torch', 'litestar', 'sqlalchemy') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", probe], cwd=REPO, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_no_layer_below_the_service_knows_http_statuses() -> None:
    for package in ("schemas", "evaluators"):
        for file in (REPO / package).rglob("*.py"):
            assert "http_status" not in file.read_text(), file


def test_route_handlers_raise_and_never_build_error_responses() -> None:
    for file in (REPO / "service").rglob("*.py"):
        if file.name == "errors.py" and file.parent.name == "service":
            continue
        source = file.read_text()
        assert not re.search(r"\bAPIError\b|(?<![\w.])error_body\(|\bHTTPException\(", source), file


def test_every_error_outside_the_tree_is_control_flow() -> None:
    # Exceptions of our own that are not AuditErrors never reach an API user: control flow inside the worker
    # and backends, and the command line's own exit-status errors. Named here on purpose.
    allowed = {
        "LeaseLostError",
        "PoisonJobError",
        "WorkerShutdownError",
        "RetryableError",
        "_Stopping",
        "ForwardStopped",
        "SubmitError",
        "DemoError",
        "_UsageError",
        "NotSent",
    }
    found = set()
    for package in ("schemas", "evaluators", "service"):
        for file in (REPO / package).rglob("*.py"):
            for node in ast.walk(ast.parse(file.read_text())):
                if isinstance(node, ast.ClassDef) and any(
                    isinstance(b, ast.Name) and b.id in ("Exception", "RuntimeError", "ValueError") for b in node.bases
                ):
                    found.add(node.name)
    assert found <= allowed | {"AuditError"}, found - allowed
    assert issubclass(errors.InvalidJobError, AuditError)


def test_the_error_code_page_is_generated_from_the_code() -> None:
    from service.errors import error_reference_markdown

    page = (REPO / "docs" / "errors.md").read_text()
    assert page == error_reference_markdown(), (
        "regenerate docs/errors.md from service.errors.error_reference_markdown()"
    )
    assert all(f"`{code}`" in page for code in ERROR_CODES)
