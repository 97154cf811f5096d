"""Running one claimed job: open its models, run its checks (resuming), store its scorecard."""

from service.runner.control import JobControl
from service.runner.models import ModelPool, Opener
from service.runner.resources import dataset_resolver, model_opener
from service.runner.run import run_job
from service.runner.scorecard import build_scorecard

__all__ = [
    "JobControl",
    "ModelPool",
    "Opener",
    "build_scorecard",
    "dataset_resolver",
    "model_opener",
    "run_job",
]
