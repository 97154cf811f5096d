"""MLflow's own client, run by the python of MLflow's virtualenv (tests/support/mlflow_server.py), never imported
by the test process (which has no mlflow). Each command prints one JSON line.

    setup <checkpoint dir>   log the checkpoint as plain run artifacts (registered from runs:/ as `tiny-plain`,
                             alias `candidate`) and with the transformers flavor (`tiny-flavor`, an MLflow 3
                             logged model); register `tiny-s3` from an S3 location
    tags <name> <version>    the version's tags, as MLflow's client reads them
    webhook <url> <secret>   a registry webhook on model_version.created and model_version_alias.created
    register <dir> <name>    log a checkpoint folder as run artifacts and register it as a new version of <name>

The server URL and credentials come from MLFLOW_TRACKING_URI / _USERNAME / _PASSWORD.
"""

from __future__ import annotations

import json
import sys

import mlflow
import mlflow.transformers
from mlflow import MlflowClient


def setup(checkpoint: str) -> dict[str, object]:
    client = MlflowClient()
    mlflow.set_experiment("unlearn-audit-tests")
    with mlflow.start_run() as run:
        mlflow.log_artifacts(checkpoint, artifact_path="model")
    plain_run = run.info.run_id
    client.create_registered_model("tiny-plain")
    # A folder of files is no MLflow model (no MLmodel), so it is registered from its runs:/ path directly.
    version = client.create_model_version("tiny-plain", f"runs:/{plain_run}/model", run_id=plain_run)
    client.set_registered_model_alias("tiny-plain", "candidate", version.version)

    with mlflow.start_run() as run:
        # A local checkpoint path is logged without loading it (no torch here); pip_requirements skips the
        # inference that would look for torch or tensorflow.
        info = mlflow.transformers.log_model(
            transformers_model=checkpoint,
            task="text-generation",
            name="llm",
            pip_requirements=["transformers"],
            registered_model_name="tiny-flavor",
        )
    flavor_run = run.info.run_id

    client.create_registered_model("tiny-s3")
    client.create_model_version("tiny-s3", "s3://audit-bucket/models/tiny")
    return {
        "plain_run": plain_run,
        "plain_version": version.version,
        "flavor_run": flavor_run,
        "flavor_model_id": info.model_id,
        "flavor_version": str(info.registered_model_version),
        "mlflow": mlflow.__version__,
    }


def tags(name: str, version: str) -> dict[str, str]:
    return dict(MlflowClient().get_model_version(name, version).tags)


def webhook(url: str, secret: str) -> dict[str, object]:
    hook = MlflowClient().create_webhook(
        name="unlearn-audit",
        url=url,
        events=["model_version.created", "model_version_alias.created"],
        secret=secret,
    )
    return {"webhook_id": hook.webhook_id}


def register(checkpoint: str, name: str) -> dict[str, object]:
    client = MlflowClient()
    mlflow.set_experiment("unlearn-audit-e2e")
    with mlflow.start_run() as run:
        mlflow.log_artifacts(checkpoint, artifact_path="model")
    try:
        client.create_registered_model(name)
    except mlflow.exceptions.MlflowException:
        pass  # registered already: a new version of it
    version = client.create_model_version(name, f"runs:/{run.info.run_id}/model", run_id=run.info.run_id)
    return {"run_id": run.info.run_id, "version": version.version}


COMMANDS = {"setup": setup, "tags": tags, "webhook": webhook, "register": register}

if __name__ == "__main__":
    command, *args = sys.argv[1:]
    print(json.dumps(COMMANDS[command](*args)))
