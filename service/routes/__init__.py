"""HTTP routes: thin handlers that validate, call one store function and shape the response."""

from service.routes.dataset_pins import DATASET_PIN_ROUTES
from service.routes.evaluations import EVALUATION_ROUTES
from service.routes.judge_calibrations import JUDGE_CALIBRATION_ROUTES
from service.routes.system import SYSTEM_ROUTES

ROUTES = [*EVALUATION_ROUTES, *SYSTEM_ROUTES, *DATASET_PIN_ROUTES, *JUDGE_CALIBRATION_ROUTES]

__all__ = ["ROUTES"]
