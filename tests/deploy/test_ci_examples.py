"""deploy/ci: the GitHub Actions and GitLab CI examples, checked by parsing (neither CI runs here)."""

from __future__ import annotations

import inspect
import json
import shlex
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

import service.cli.submit
from schemas.requests import EvaluationRequest
from service.cli import build_parser

CI = Path(__file__).resolve().parents[2] / "deploy" / "ci"
GITHUB = CI / "github-actions.yml"
GITLAB = CI / "gitlab-ci.yml"
REQUEST = CI / "request.json"
KEY_VAR = "UNLEARN_AUDIT_API_KEY"


def load(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(path.read_text())
    return data


def audit_argv(script: str) -> list[str]:
    """The `unlearn-audit submit ...` command in a step, as argv (YAML folding already joined the lines)."""
    commands = [line for line in script.splitlines() if "unlearn-audit submit" in line]
    assert len(commands) == 1, script
    argv = shlex.split(commands[0])
    assert argv[:2] == ["unlearn-audit", "submit"]
    return argv


def github_steps() -> list[dict[str, Any]]:
    steps: list[dict[str, Any]] = load(GITHUB)["jobs"]["audit"]["steps"]
    return steps


def github_audit_step() -> dict[str, Any]:
    (step,) = [s for s in github_steps() if "unlearn-audit submit" in s.get("run", "")]
    return step


def gitlab_job() -> dict[str, Any]:
    job: dict[str, Any] = load(GITLAB)["unlearning-audit"]
    return job


def gitlab_argv() -> list[str]:
    (line,) = [line for line in gitlab_job()["script"] if "unlearn-audit submit" in line]
    return audit_argv(line)


@pytest.mark.parametrize("which", ["github", "gitlab"])
def test_command_waits_gates_on_fail_and_writes_both_reports(which: str) -> None:
    argv = audit_argv(github_audit_step()["run"]) if which == "github" else gitlab_argv()
    args = build_parser().parse_args(argv[1:])  # the real CLI accepts every flag the example uses
    assert args.command == "submit" and args.request == "request.json"
    assert args.wait is True and args.fail_on == "fail"
    assert args.server == "$UNLEARN_AUDIT_SERVER"
    assert args.junit == "report.xml" and args.markdown == "summary.md"
    assert not any(KEY_VAR in a or "Bearer" in a for a in argv), "the API key must not be on the command line"


def test_the_client_reads_the_key_variable_the_examples_set() -> None:
    assert KEY_VAR in inspect.getsource(service.cli.submit)


def test_github_key_comes_from_a_secret_and_reports_are_published() -> None:
    workflow = load(GITHUB)
    env = workflow["jobs"]["audit"]["env"]
    assert env[KEY_VAR] == "${{ secrets.UNLEARN_AUDIT_API_KEY }}"
    assert workflow["permissions"]["checks"] == "write"
    steps = github_steps()
    after = steps[steps.index(github_audit_step()) + 1 :]
    assert after and all(s.get("if") == "always()" for s in after), "reports must be published on a fail too"
    summary = [s for s in after if "GITHUB_STEP_SUMMARY" in s.get("run", "")]
    assert len(summary) == 1 and "summary.md" in summary[0]["run"]
    (junit,) = [s for s in after if s.get("uses", "").startswith("mikepenz/action-junit-report@")]
    assert junit["with"]["report_paths"] == "report.xml"
    (upload,) = [s for s in after if s.get("uses", "").startswith("actions/upload-artifact@")]
    assert set(upload["with"]["path"].split()) == {"report.xml", "summary.md"}


def test_gitlab_publishes_junit_and_keeps_the_summary_even_on_fail() -> None:
    job = gitlab_job()
    artifacts = job["artifacts"]
    assert artifacts["when"] == "always"
    assert artifacts["reports"]["junit"] == "report.xml"
    assert set(artifacts["paths"]) == {"report.xml", "summary.md"}
    assert KEY_VAR not in json.dumps(job.get("variables", {})), "the key is a masked CI/CD variable, not in YAML"


def test_gitlab_merge_request_note_script_is_valid_shell_and_python() -> None:
    (script,) = gitlab_job()["after_script"]
    assert "summary.md" in script and "UNLEARN_AUDIT_GITLAB_TOKEN" in script
    result = subprocess.run(["bash", "-n"], input=script, capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr
    python = script.split("<<'PY'\n", 1)[1].split("\nPY\n", 1)[0]
    compile(python, "after_script", "exec")


def test_example_request_is_a_valid_evaluation_request() -> None:
    request = EvaluationRequest.model_validate(json.loads(REQUEST.read_text()))
    assert request.baseline is not None


@pytest.mark.parametrize(("path", "schema"), [(GITHUB, "github-workflows"), (GITLAB, "gitlab-ci")])
def test_files_match_the_published_ci_schemas(path: Path, schema: str) -> None:
    tool = shutil.which("check-jsonschema")
    if tool is None:
        pytest.skip("check-jsonschema (a test dependency) is not installed")
    result = subprocess.run(
        [tool, "--builtin-schema", f"vendor.{schema}", str(path)], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stdout + result.stderr
