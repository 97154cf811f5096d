"""checkov on deploy/kubernetes and the Dockerfile: clean, except the checks each manifest skips with its reason
(`checkov.io/skipN: CHECK_ID=why` annotations). checkov runs from its own virtual environment (tools.py)."""

from __future__ import annotations

import json
import re
import subprocess
from typing import Any

from tests.deploy import tools
from tests.deploy.kustomize import KUBERNETES, ROOT, every_manifest_file, load_documents

SKIP = re.compile(r"^(CKV2?_[A-Z0-9_]+)=(.+)$")


def checkov(*target: str, framework: str) -> dict[str, Any]:
    """One checkov run (no network: --skip-download), its JSON report for `framework`."""
    run = subprocess.run(
        [tools.checkov(), *target, "--framework", framework, "--skip-download", "--output", "json"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode in (0, 1), run.stderr[-2000:]
    report = json.loads(run.stdout)
    (result,) = [r for r in (report if isinstance(report, list) else [report]) if r["check_type"] == framework]
    return dict(result)


def justified_skips() -> dict[tuple[str, str], set[str]]:
    """(file, object name) -> the checks its annotations skip, each of which must say why."""
    skips: dict[tuple[str, str], set[str]] = {}
    for path in every_manifest_file():
        for document in load_documents(path):
            annotations = document.body["metadata"].get("annotations", {})
            for key, value in annotations.items():
                if key.startswith("checkov.io/skip"):
                    match = SKIP.match(value)
                    assert match and len(match.group(2).split()) >= 4, f"{path.name}: {value!r} gives no reason"
                    skips.setdefault((f"/{path.relative_to(ROOT)}", document.name), set()).add(match.group(1))
    return skips


def test_kubernetes_manifests_pass_checkov_but_for_justified_skips() -> None:
    result = checkov("--directory", str(KUBERNETES.relative_to(ROOT)), framework="kubernetes")
    summary = result["summary"]
    failed = [(c["check_id"], c["file_path"], c["resource"]) for c in result["results"]["failed_checks"]]
    assert failed == [] and summary["parsing_errors"] == 0
    assert summary["passed"] > 100 and summary["resource_count"] >= len(every_manifest_file())
    skipped: dict[tuple[str, str], set[str]] = {}
    for check in result["results"]["skipped_checks"]:
        name = check["resource"].rsplit(".", 1)[-1]
        skipped.setdefault((check["file_path"], name), set()).add(check["check_id"])
    # What checkov skipped is exactly what the annotations skip (with their reasons).
    assert skipped == justified_skips()


def test_dockerfile_passes_checkov() -> None:
    result = checkov("--file", "Dockerfile", framework="dockerfile")
    assert result["results"]["failed_checks"] == [] and result["results"]["skipped_checks"] == []
    assert result["summary"]["passed"] > 10
