"""HTTP routes: one controller per resource (guards, security declared once, see `keyed`; the store and
settings as dependencies, see `deps`), with thin handlers that validate, call one store function and shape
the response."""

from litestar.types import ControllerRouterHandler

from service.routes.dataset_pins import DatasetPinController
from service.routes.evaluations import EvaluationController
from service.routes.judge_calibrations import JudgeCalibrationController
from service.routes.system import PolicyController, healthz, readyz

ROUTES: list[ControllerRouterHandler] = [
    EvaluationController,
    healthz,
    readyz,
    PolicyController,
    DatasetPinController,
    JudgeCalibrationController,
]

__all__ = ["ROUTES"]
