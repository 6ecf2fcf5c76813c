"""The server's signing key and admin token: a direct value from the environment (local run, tests) or an SSM
SecureString on AWS.

Powertools Parameters caches each value for POWERTOOLS_PARAMETERS_MAX_AGE seconds, so a warm
container does not call SSM on every request, and a rotated secret arrives within that time.
"""

from __future__ import annotations

from loyalty.settings import get_settings


def _parameter(name: str) -> str:
    from aws_lambda_powertools.utilities import parameters  # deferred: only on AWS, keeps cold imports small

    return parameters.get_parameter(name, decrypt=True)


def signing_key() -> bytes:
    settings = get_settings()
    if settings.signing_key:
        return settings.signing_key.encode()
    if settings.signing_key_parameter:
        return _parameter(settings.signing_key_parameter).encode()
    raise RuntimeError("Set LOYALTY_SIGNING_KEY or SIGNING_KEY_PARAMETER")


def admin_token() -> str | None:
    settings = get_settings()
    if settings.admin_token:
        return settings.admin_token
    if settings.admin_token_parameter:
        return _parameter(settings.admin_token_parameter)
    return None
