"""Lambda: the functions of template.yaml, their execution environments and their invocation.

Every invoker of the local stack (the HTTP API, the scheduler, later queues and streams) calls
`LambdaRuntime.invoke(logical_id, event)`, as the AWS services call Lambda.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import signal
import sys
import threading
import time
import traceback
import uuid
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType
from typing import Any

from infra.local import DEFAULT_REGION, LOCAL_ACCOUNT_ID
from infra.local.clock import LocalClock, apply_offset_in_function
from infra.template import ROOT, FunctionSpec, functions, layer_content_uris, load_template


class LambdaContext:
    """The attributes and method of the Lambda runtime's context object that handlers use."""

    def __init__(self, spec: FunctionSpec, region: str) -> None:
        self.function_name = spec.logical_id
        self.function_version = "$LATEST"
        self.invoked_function_arn = f"arn:aws:lambda:{region}:{LOCAL_ACCOUNT_ID}:function:{spec.logical_id}"
        self.memory_limit_in_mb = spec.memory_mb
        self.aws_request_id = str(uuid.uuid4())
        self.log_group_name = f"/aws/lambda/{spec.logical_id}"
        self.log_stream_name = f"{datetime.now(UTC):%Y/%m/%d}/[$LATEST]{uuid.uuid4().hex}"
        self.identity = None
        self.client_context = None
        self.tenant_id = None
        self._deadline = time.monotonic() + spec.timeout_seconds

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


class FunctionError(RuntimeError):
    """A function in a worker process raised; carries what Lambda reports (errorType, errorMessage)."""

    def __init__(self, logical_id: str, error_type: str, error_message: str, stack_trace: str) -> None:
        super().__init__(f"{logical_id} failed:\n{stack_trace}")
        self.error_type = error_type
        self.error_message = error_message


class _FunctionCode:
    """One function's handler, loaded from its file on first use (a cold start)."""

    def __init__(self, spec: FunctionSpec, root: Path) -> None:
        self.spec = spec
        self._root = root
        self._module: ModuleType | None = None
        self._load_lock = threading.Lock()

    def module(self) -> ModuleType:
        with self._load_lock:
            if self._module is None:
                self._module = self._load()
            return self._module

    def handler(self) -> Any:
        return getattr(self.module(), self.spec.handler.rpartition(".")[2])

    def _load(self) -> ModuleType:
        module_path = self.spec.handler.rpartition(".")[0]
        code_dir = (self._root / self.spec.code_uri).resolve()
        file_path = code_dir / (module_path.replace(".", "/") + ".py")
        if not file_path.is_file():
            raise FileNotFoundError(f"{self.spec.logical_id}: handler file {file_path} does not exist")
        # Every function has an app.py; a unique module name keeps them apart in sys.modules.
        name = "bywalec_fn_" + "".join(ch if ch.isalnum() else "_" for ch in code_dir.name)
        spec = importlib.util.spec_from_file_location(name, file_path)
        if spec is None or spec.loader is None:
            raise ImportError(f"cannot load {file_path}")
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        try:
            spec.loader.exec_module(module)
        except BaseException:
            sys.modules.pop(name, None)
            raise
        return module


def _environment_main(conn: Any, spec: FunctionSpec, root: Path, region: str) -> None:
    """A worker process standing in for one Lambda execution environment: one invocation at a time."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent shuts environments down on Ctrl-C
    handler = _FunctionCode(spec, root).handler()
    while True:
        try:
            message = conn.recv()
        except EOFError:
            return
        if message is None:
            return
        event, clock_offset_seconds = message
        try:
            apply_offset_in_function(clock_offset_seconds)
            conn.send(("ok", handler(event, LambdaContext(spec, region))))
        except BaseException as exc:
            conn.send(("error", (type(exc).__name__, str(exc), traceback.format_exc())))


class _ExecutionEnvironments:
    """Up to `size` execution environments of one function, each a separate process.

    Lambda runs concurrent requests in separate environments, never two in one. Handlers rely on
    that (Powertools keeps the current event in class attributes), so local concurrency must come
    from processes too; then concurrent requests really race each other at the database.
    """

    def __init__(self, spec: FunctionSpec, root: Path, region: str, size: int) -> None:
        import multiprocessing

        self.spec, self.root, self.region, self.size = spec, root, region, size
        self._context = multiprocessing.get_context("spawn")
        self._idle: list[tuple[Any, Any]] = []
        self._started = 0
        self._all: list[tuple[Any, Any]] = []
        self._available = threading.Condition()

    def _acquire(self) -> tuple[Any, Any]:
        with self._available:
            while not self._idle and self._started >= self.size:
                self._available.wait()
            if self._idle:
                return self._idle.pop()
            self._started += 1
        parent, child = self._context.Pipe()
        process = self._context.Process(target=_environment_main, args=(child, self.spec, self.root, self.region),
                                        name=f"lambda-{self.spec.logical_id}", daemon=True)
        process.start()
        child.close()
        environment = (process, parent)
        with self._available:
            self._all.append(environment)
        return environment

    def _release(self, environment: tuple[Any, Any], healthy: bool) -> None:
        with self._available:
            if healthy:
                self._idle.append(environment)
            else:
                self._started -= 1
                self._all.remove(environment)
            self._available.notify()

    def invoke(self, event: Any, clock_offset_seconds: float) -> Any:
        environment = self._acquire()
        process, conn = environment
        try:
            conn.send((event, clock_offset_seconds))
            status, value = conn.recv()
        except (EOFError, OSError, BrokenPipeError):
            process.kill()
            self._release(environment, healthy=False)
            raise RuntimeError(f"{self.spec.logical_id}: the execution environment died") from None
        self._release(environment, healthy=True)
        if status == "error":
            raise FunctionError(self.spec.logical_id, *value)
        return value

    def close(self) -> None:
        with self._available:
            environments, self._all, self._idle = self._all, [], []
        for _process, conn in environments:
            with contextlib.suppress(OSError):
                conn.send(None)
        for process, _ in environments:
            process.join(timeout=5)
            if process.is_alive():
                process.kill()


class LambdaRuntime:
    """The template's functions, invoked the way Lambda invokes them.

    `concurrency=0` runs handlers in this process, one invocation at a time (fast, for tests that
    call handlers directly); `concurrency=N` gives each function up to N execution environments in
    worker processes, so concurrent invocations run concurrently, as on Lambda. Every invocation
    carries the stack's clock offset (see clock.py).
    """

    def __init__(
        self,
        template: dict[str, Any] | None = None,
        root: Path = ROOT,
        *,
        region: str | None = None,
        concurrency: int = 0,
        clock: LocalClock | None = None,
    ) -> None:
        self.template = template if template is not None else load_template(root / "template.yaml")
        self.root = root
        self.region = region or os.environ.get("AWS_REGION") or DEFAULT_REGION
        self.clock = clock or LocalClock()
        self.functions = functions(self.template)
        self._code = {logical_id: _FunctionCode(spec, root) for logical_id, spec in self.functions.items()}
        # One invocation at a time in this process. Lambda never runs two invocations in one
        # environment, and handlers rely on it: Powertools keeps the current event in a class
        # attribute shared by every resolver, so concurrent invocations would see each other's
        # events. Little is lost: handlers are GIL-bound and the embedded DynamoDB is serialized.
        self._invoke_lock = threading.Lock()
        self._environments = {
            logical_id: _ExecutionEnvironments(spec, root, self.region, concurrency)
            for logical_id, spec in self.functions.items()
        } if concurrency > 0 else {}
        # Layers are on sys.path in Lambda (/opt/python); locally their source folders are.
        for content_uri in reversed(layer_content_uris(self.template)):
            for folder in (root / content_uri / "python", root / content_uri):
                if folder.is_dir() and str(folder) not in sys.path:
                    sys.path.insert(0, str(folder))

    def load_module(self, logical_id: str) -> ModuleType:
        """The function's handler module, loaded once (the same module in-process invocations use)."""
        return self._code[logical_id].module()

    def invoke(self, logical_id: str, event: Any) -> Any:
        """Invoke a function synchronously (what API Gateway, a schedule or `aws lambda invoke` does)."""
        offset = self.clock.offset_seconds
        if self._environments:
            return self._environments[logical_id].invoke(event, offset)
        code = self._code[logical_id]
        with self._invoke_lock:
            handler = code.handler()
            apply_offset_in_function(offset)
            return handler(event, LambdaContext(code.spec, self.region))

    def close(self) -> None:
        for environments in self._environments.values():
            environments.close()
