"""Result callbacks: the signed scorecard POSTed to `callback.url`, HMAC-signed, retried, attempts recorded.

    await deliver_job_result(store, settings, job_id)   # when a job ends (the worker calls it)

Routes: `routes.callback_router` (GET .../deliveries, POST .../deliveries/redeliver).
"""

from service.callbacks.deliver import DeliveryResult, callback_body, deliver, deliver_job_result, sign_headers

__all__ = [
    "DeliveryResult",
    "callback_body",
    "deliver",
    "deliver_job_result",
    "sign_headers",
]
