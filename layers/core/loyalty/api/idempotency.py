"""Exactly-once POSTs with Powertools Idempotency (all POSTs but scans and claims, see services/exactly_once.py).

The record id and the sealed reply come from the request's ExactlyOnce: the key is scoped to the
caller and the route, the reply kept is sealed, and the same key with another body is refused.
Retries that arrive while the first request is still running wait for its reply and return it, so
every retry of one request sees the very same answer.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from aws_lambda_powertools.utilities.idempotency import IdempotencyConfig, idempotent_function
from aws_lambda_powertools.utilities.idempotency.exceptions import (
    IdempotencyAlreadyInProgressError,
    IdempotencyPersistenceLayerError,
    IdempotencyValidationError,
)

from loyalty.domain.errors import IdempotencyKeyReused, ServiceUnavailable
from loyalty.services.exactly_once import ExactlyOnce
from loyalty.settings import get_settings
from loyalty.store.idempotency import persistence_layer

WAIT_FOR_FIRST_SECONDS = 8.0

config = IdempotencyConfig(
    event_key_jmespath="record",
    payload_validation_jmespath="payload",
    raise_on_no_idempotency_key=True,
    expires_after_seconds=get_settings().idempotency_ttl_seconds,
)

Work = Callable[[], tuple[int, dict]]


def run_exactly_once(once: ExactlyOnce, work: Work, lambda_context: object = None) -> tuple[int, dict]:
    if lambda_context is not None:
        config.register_lambda_context(lambda_context)  # in-progress records expire with the invocation

    @idempotent_function(data_keyword_argument="request", persistence_store=persistence_layer(), config=config)
    def execute(request: dict) -> dict:
        status, reply = work()
        return {"status": status, "sealed": once.seal(status, reply)}  # what Powertools keeps: sealed

    request = {"record": once.record_id, "payload": once.payload_hash}
    deadline = time.monotonic() + WAIT_FOR_FIRST_SECONDS
    delay = 0.02
    while True:
        try:
            outcome = execute(request=request)
            return once.open(outcome["sealed"])
        except IdempotencyValidationError as exc:
            raise IdempotencyKeyReused() from exc
        except IdempotencyAlreadyInProgressError as exc:
            if time.monotonic() > deadline:
                raise ServiceUnavailable("The first request with this Idempotency-Key is still running.",
                                         retry_after=1) from exc
            time.sleep(delay)
            delay = min(delay * 2, 0.25)
        except IdempotencyPersistenceLayerError as exc:
            raise ServiceUnavailable(retry_after=1) from exc
