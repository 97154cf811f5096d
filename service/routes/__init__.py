"""HTTP routes: thin handlers that validate, call one store function and shape the response."""

from service.routes.evaluations import EVALUATION_ROUTES
from service.routes.system import SYSTEM_ROUTES

ROUTES = [*EVALUATION_ROUTES, *SYSTEM_ROUTES]

__all__ = ["ROUTES"]
