"""The local stack: reads template.yaml and wires DynamoDB, Lambda, the HTTP API, the scheduler, the
queues, the table's stream, mail and the clock; seeds demo data and prints the banner for `make run`
(`python -m infra.local`).

Tests use `start_local_stack()`. A new emulated service is started and stopped here, next to the
scheduler, and its local-only routes join the others in `_local_routes`.
"""

from __future__ import annotations

import logging
import os
import secrets
import signal
import sys
import threading
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from infra.local import DEFAULT_REGION
from infra.local.clock import LocalClock
from infra.local.http_api import HttpApi, HttpServer, LocalRoute
from infra.local.lambda_runtime import LambdaRuntime
from infra.local.mail import LocalMail
from infra.local.queues import LocalQueues
from infra.local.scheduler import Scheduler, rate_seconds
from infra.local.streams import LocalStreams
from infra.template import ROOT, TABLE_LOGICAL_ID, ensure_table, schedule_events

DEFAULT_TABLE_NAME = "bywalec-local"
DEFAULT_PORT = 3000
# Execution environments per function for the local server (LOCAL_LAMBDA_CONCURRENCY to change).
DEFAULT_CONCURRENCY = 4
# Emails come from this address; the local SES knows it as a verified identity.
DEFAULT_SENDER_EMAIL = "loyalty@bywalec.example"
MESSAGING_SERVICES = ("SQS", "SESV2", "SNS")


@dataclass
class LocalStack:
    base_url: str
    admin_token: str
    env: dict[str, str]
    api: HttpApi
    runtime: LambdaRuntime
    scheduler: Scheduler
    clock: LocalClock
    queues: LocalQueues
    streams: LocalStreams
    mail: LocalMail
    table_name: str
    dynamodb_endpoint: str
    seed: dict[str, Any] | None = None
    _server: HttpServer | None = None
    _dynamodb: Any = None
    _messaging: Any = None
    _previous_env: dict[str, str | None] = field(default_factory=dict)

    def invoke(self, logical_id: str, event: Any) -> Any:
        """Invoke a function directly, e.g. `invoke("RewardExpiryFunction", {})`."""
        return self.runtime.invoke(logical_id, event)

    def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            self._server = None
        self.scheduler.stop()
        self.streams.stop()
        self.queues.stop()
        self.runtime.close()
        if self._dynamodb is not None:
            self._dynamodb.stop()
            self._dynamodb = None
        if self._messaging is not None:
            self._messaging.stop()
            self._messaging = None
        _restore(self._previous_env)
        self._previous_env = {}
        _forget_cached_settings()

    def __enter__(self) -> LocalStack:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def local_environment(base_url: str, environ: dict[str, str] | None = None) -> dict[str, str]:
    """Variables the handlers need locally; values already set in `environ` are kept."""
    environ = os.environ if environ is None else environ
    region = environ.get("AWS_REGION") or environ.get("AWS_DEFAULT_REGION") or DEFAULT_REGION
    defaults = {
        "AWS_REGION": region,
        "AWS_DEFAULT_REGION": region,
        # The embedded DynamoDB accepts any credentials; boto3 refuses to sign without some.
        "AWS_ACCESS_KEY_ID": "local",
        "AWS_SECRET_ACCESS_KEY": "local",
        "TABLE_NAME": DEFAULT_TABLE_NAME,
        "LOYALTY_ADMIN_TOKEN": secrets.token_urlsafe(24),
        "LOYALTY_SIGNING_KEY": secrets.token_urlsafe(32),
        "POWERTOOLS_SERVICE_NAME": "bywalec",
        "POWERTOOLS_METRICS_NAMESPACE": "Bywalec",
        "POWERTOOLS_LOG_LEVEL": "WARNING",  # keeps the terminal readable
        # No CloudWatch or X-Ray locally: EMF lines and trace segments would only be noise.
        "POWERTOOLS_METRICS_DISABLED": "true",
        "POWERTOOLS_TRACE_DISABLED": "true",
        "PUBLIC_BASE_URL": base_url,
        "SENDER_EMAIL": DEFAULT_SENDER_EMAIL,
    }
    return {key: environ.get(key) or value for key, value in defaults.items()}


def start_local_stack(
    port: int = 0,
    seed: bool = False,
    *,
    host: str = "127.0.0.1",
    root: Path = ROOT,
    env_overrides: dict[str, str | None] | None = None,
    concurrency: int | None = None,
    run_schedules: bool = True,
) -> LocalStack:
    """Start DynamoDB (embedded unless AWS_ENDPOINT_URL_DYNAMODB is set), the table, the functions,
    the API and (with `run_schedules`) the schedules on their rates.

    Sets the handlers' variables in os.environ (restored by `stop()`). Values already in the
    environment are kept; `env_overrides` wins over them, and None there means "use the local
    default" (e.g. {"PUBLIC_BASE_URL": None} for links to this server). Run one stack per process
    at a time, since handler modules are cached per process.
    """
    # Bind first: PUBLIC_BASE_URL must carry the real port before any handler is imported.
    server = HttpServer(host, port)
    previous: dict[str, str | None] = {}
    dynamodb = messaging = queues = None
    try:
        overrides = env_overrides or {}
        environ = {k: v for k, v in os.environ.items() if k not in overrides}
        environ.update({k: v for k, v in overrides.items() if v is not None})
        env = local_environment(server.base_url, environ)
        env.update({k: v for k, v in overrides.items() if v is not None})
        endpoint = environ.get("AWS_ENDPOINT_URL_DYNAMODB")
        if not endpoint:
            from infra.local.dynamodb import EmbeddedDynamoDB

            dynamodb = EmbeddedDynamoDB(host="127.0.0.1")
            endpoint = dynamodb.start()
        env["AWS_ENDPOINT_URL_DYNAMODB"] = endpoint
        # Queues, email and SMS: moto in this process (the outbox view reads its records), on the embedded
        # DynamoDB's endpoint when there is one, else on an endpoint of their own.
        messaging_endpoint = environ.get("AWS_ENDPOINT_URL_SQS")
        if not messaging_endpoint:
            if dynamodb is None:
                from infra.local.dynamodb import EmbeddedDynamoDB

                messaging = EmbeddedDynamoDB(host="127.0.0.1")  # moto's server answers for every service
                messaging_endpoint = messaging.start()
            else:
                messaging_endpoint = endpoint
        for service in MESSAGING_SERVICES:
            env[f"AWS_ENDPOINT_URL_{service}"] = environ.get(f"AWS_ENDPOINT_URL_{service}") or messaging_endpoint
        for key, value in env.items():
            previous[key] = os.environ.get(key)
            os.environ[key] = value
        _forget_cached_settings()

        import boto3

        client = boto3.client("dynamodb", endpoint_url=endpoint, region_name=env["AWS_REGION"])
        if concurrency is None:
            concurrency = int(os.environ.get("LOCAL_LAMBDA_CONCURRENCY") or DEFAULT_CONCURRENCY)
        clock = LocalClock()
        runtime = LambdaRuntime(root=root, region=env["AWS_REGION"], concurrency=concurrency, clock=clock)
        ensure_table(client, env["TABLE_NAME"], runtime.template)
        queues = LocalQueues(runtime.template, runtime, runtime.region, endpoint_url=env["AWS_ENDPOINT_URL_SQS"])
        for key, value in queues.create().items():  # e.g. MESSAGE_QUEUE_URL: !Ref MessageQueue
            env[key] = value
            previous.setdefault(key, os.environ.get(key))
            os.environ[key] = value
        _forget_cached_settings()
        # The table's stream feeds its consumers (the insights rollups) the way Lambda's event source mapping does.
        streams = LocalStreams(runtime.template, runtime, runtime.region, {TABLE_LOGICAL_ID: env["TABLE_NAME"]},
                               endpoint_url=endpoint, queue_urls=queues.urls,
                               queue_endpoint_url=env["AWS_ENDPOINT_URL_SQS"])
        streams.create()
        mail = LocalMail(runtime.region, env.get("SENDER_EMAIL"), clock.now, endpoint_url=env["AWS_ENDPOINT_URL_SESV2"])
        mail.start()
        scheduler = Scheduler(schedule_events(runtime.template), runtime, clock, runtime.region,
                              drain_queues=queues.drain, drain_streams=streams.drain)
        api = HttpApi(runtime, _local_routes(clock, scheduler, mail))
    except BaseException:
        server.close()
        for started in (dynamodb, messaging):
            if started is not None:
                started.stop()
        _restore(previous)
        raise

    server.serve(api)
    queues.start()
    streams.start()
    if run_schedules:
        scheduler.start()
    stack = LocalStack(
        base_url=server.base_url,
        admin_token=env["LOYALTY_ADMIN_TOKEN"],
        env=env,
        api=api,
        runtime=runtime,
        scheduler=scheduler,
        clock=clock,
        queues=queues,
        streams=streams,
        mail=mail,
        table_name=env["TABLE_NAME"],
        dynamodb_endpoint=endpoint,
        _server=server,
        _dynamodb=dynamodb,
        _messaging=messaging,
        _previous_env=previous,
    )
    if seed:
        try:
            stack.seed = run_seed(stack.base_url, stack.admin_token)
        except BaseException:
            stack.stop()
            raise
    return stack


def _local_routes(clock: LocalClock, scheduler: Scheduler, mail: LocalMail) -> list[LocalRoute]:
    return [*clock.local_routes(), *scheduler.local_routes(), *mail.local_routes()]


def _restore(previous: dict[str, str | None]) -> None:
    for key, value in previous.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


def _forget_cached_settings() -> None:
    # The core reads its settings once per process; a new stack brings new values.
    settings = sys.modules.get("loyalty.settings")
    cached = getattr(settings, "get_settings", None)
    if cached is not None and hasattr(cached, "cache_clear"):
        cached.cache_clear()


def run_seed(base_url: str, admin_token: str) -> dict[str, Any] | None:
    """Demo data via infra.seed.seed_demo, when that module exists."""
    try:
        from infra import seed as seed_module
    except ModuleNotFoundError as exc:
        if exc.name != "infra.seed":
            raise
        return None
    return seed_module.seed_demo(base_url, admin_token)


# Command line


def _print_banner(stack: LocalStack, seeded: dict[str, Any] | None, embedded: bool) -> None:
    where = "embedded (moto)" if embedded else stack.dynamodb_endpoint
    lines = [
        "",
        f"Bywalec local API: {stack.base_url}",
        f"  health:       {stack.base_url}/v1/health",
        f"  DynamoDB:     {where}, table {stack.table_name}",
        f"  admin token:  {stack.admin_token}",
    ]
    for schedule in stack.scheduler.schedules:
        period = rate_seconds(schedule.expression)
        when = schedule.expression if period is not None else f"{schedule.expression}, on demand only"
        lines.append(f"  schedule:     {schedule.function_logical_id}.{schedule.event_name} ({when})")
    lines.extend([
        f"  clock:        GET/POST {stack.base_url}/_local/clock {{\"offsetSeconds\": 86400}} moves time",
        f"  schedules:    POST {stack.base_url}/_local/schedules/run fires them all now and drains the queues",
        f"  outbox:       GET {stack.base_url}/_local/outbox shows every email and SMS sent",
    ])
    if seeded:
        labels = [
            ("merchantId", "merchant:"),
            ("ownerApiKey", "owner key:"),
            ("staffApiKey", "staff key:"),
            ("cardPageUrl", "card page:"),
            ("dashboardUrl", "dashboard:"),
            ("counterCodeUrl", "counter code:"),
        ]
        lines.extend(f"  {label:<13} {seeded[key]}" for key, label in labels if seeded.get(key))
        lines.extend(f"  {line}" for line in seeded.get("lines") or [])
    print("\n".join(lines), flush=True)
    if seeded and seeded.get("counterCodeUrl"):
        import qrcode

        qr = qrcode.QRCode(border=1)
        qr.add_data(seeded["counterCodeUrl"])
        qr.make(fit=True)
        print("\nCounter code (scan with a phone):", flush=True)
        qr.print_ascii(invert=True)
    print("\nCtrl-C to stop.", flush=True)


def _log_to_terminal() -> None:
    # The access log and the scheduler's lines; nothing else of the stack's own logging.
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(message)s"))
    local = logging.getLogger("infra.local")
    local.addHandler(handler)
    local.setLevel(logging.INFO)
    local.propagate = False


def _interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


def main() -> None:
    port = int(os.environ.get("PORT") or DEFAULT_PORT)
    embedded = not os.environ.get("AWS_ENDPOINT_URL_DYNAMODB")
    _log_to_terminal()
    # `docker stop` and process managers send SIGTERM; shut down the same way as on Ctrl-C.
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        stack = start_local_stack(port=port)
    except OSError as exc:
        message = f"Cannot listen on 127.0.0.1:{port}: {exc.strerror}. Set PORT to another port."
        print(message, file=sys.stderr)
        raise SystemExit(1) from None
    except KeyboardInterrupt:
        raise SystemExit(130) from None
    try:
        try:
            seeded = run_seed(stack.base_url, stack.admin_token)
        except Exception:
            traceback.print_exc()
            print("Seeding failed; the API is still running without demo data.", file=sys.stderr)
            seeded = None
        _print_banner(stack, seeded, embedded)
        threading.Event().wait()
    except KeyboardInterrupt:
        print("\nStopping.", file=sys.stderr)
    finally:
        stack.stop()
