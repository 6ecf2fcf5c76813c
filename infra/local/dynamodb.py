"""DynamoDB: moto's DynamoDB as an in-process HTTP endpoint, with every request serialized.

moto's threaded server runs requests concurrently against unsynchronised in-memory state, so two
concurrent conditional writes on one item can both succeed. Real DynamoDB never allows that, and
the backend's correctness rests on conditions, so the moto app runs behind a single lock. The HTTP
server itself stays threaded with keep-alive: clients keep their connections and merely queue.

moto 5 also backs up a transaction by deep-copying every table it touches, once per item in the
transaction, so on a table of 60,000 items one scan's transaction takes seconds. That is an artefact
of the emulator (DynamoDB's own latency does not grow with the table), and it would swamp every
handler time the benchmark reports. `install_transaction_patch()` keeps moto's behaviour, including
the all-or-nothing rollback, but backs up only the items the transaction names; EmbeddedDynamoDB
installs it unless asked not to, so the local server, the tests and the benchmark all see
transactions cost what they touch. A cancelled transaction also takes back the stream records of the writes
moto had applied before the failing condition (moto's own rollback restores them with its table copy).

moto also makes a Query reply cost far more than what it returns: it projects every item of an
index by converting the whole item to JSON once per projected attribute, then serializes the reply
value by value against the API model. A 1 MB page of a member index (an INCLUDE projection of some
twenty attributes) takes tens of seconds, past any client timeout. `install_query_patch()` picks the
projected attributes straight from the item and writes the reply, already DynamoDB JSON, with
`json.dumps`: the same reply, at the cost of what it holds.
"""

from __future__ import annotations

import copy
import io
import json
import sys
import threading
import traceback
import urllib.request
from collections.abc import Callable, Iterable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import SimpleNamespace
from typing import Any
from urllib.parse import unquote_to_bytes

from infra.local.http_body import read_request_body


class SerializedWSGIApp:
    """WSGI middleware: one request at a time, including the full production of its body."""

    def __init__(self, app: Callable[..., Iterable[bytes]]) -> None:
        self._app = app
        self._lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        with self._lock:
            result = self._app(environ, start_response)
            try:
                # A lazily produced body could still touch moto's state after the lock is released.
                body = b"".join(result)
            finally:
                close = getattr(result, "close", None)
                if close is not None:
                    close()
        return [body]


class _WSGIRequestHandler(BaseHTTPRequestHandler):
    """A minimal HTTP/1.1 WSGI gateway. werkzeug's development server closes every connection;
    this one keeps them alive, so SDK clients reuse their pooled sockets."""

    protocol_version = "HTTP/1.1"
    timeout = 120  # idle keep-alive connections end instead of pinning a thread forever
    disable_nagle_algorithm = True  # headers and body go out as separate writes: avoid 40 ms stalls
    server: _WSGIServer

    def _serve(self) -> None:
        body = self._read_body()
        if body is None:
            return
        path, _, query = self.path.partition("?")
        environ: dict[str, Any] = {
            "REQUEST_METHOD": self.command,
            "SCRIPT_NAME": "",
            # PEP 3333: native strings carrying the request's bytes as latin-1.
            "PATH_INFO": unquote_to_bytes(path).decode("latin-1"),
            "QUERY_STRING": query,
            "REQUEST_URI": self.path,
            "RAW_URI": self.path,
            "SERVER_NAME": self.server.server_address[0],
            "SERVER_PORT": str(self.server.server_address[1]),
            "SERVER_PROTOCOL": self.request_version,
            "REMOTE_ADDR": self.client_address[0],
            "CONTENT_LENGTH": str(len(body)),
            "CONTENT_TYPE": self.headers.get("Content-Type", ""),
            "wsgi.version": (1, 0),
            "wsgi.url_scheme": "http",
            "wsgi.input": io.BytesIO(body),
            "wsgi.errors": sys.stderr,
            "wsgi.multithread": True,
            "wsgi.multiprocess": False,
            "wsgi.run_once": False,
        }
        for name in set(self.headers.keys()):
            # Like werkzeug: an underscore could spoof a dashed header once both map to HTTP_*.
            if "_" in name or name.lower() in ("content-type", "content-length"):
                continue
            key = "HTTP_" + name.upper().replace("-", "_")
            environ[key] = ",".join(self.headers.get_all(name, []))

        status_and_headers: list[Any] = []

        def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            status_and_headers[:] = [status, headers]
            return lambda _data: None

        try:
            payload = b"".join(self.server.app(environ, start_response))
            status, headers = status_and_headers
        except Exception:
            traceback.print_exc()
            status, headers = "500 Internal Server Error", [("Content-Type", "application/x-amz-json-1.0")]
            payload = b'{"__type": "InternalServerError", "message": "embedded DynamoDB failed"}'
        code, _, reason = status.partition(" ")
        self.send_response(int(code), reason or None)
        for name, value in headers:
            if name.lower() not in _HOP_BY_HOP:
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload)

    def _read_body(self) -> bytes | None:
        try:
            return read_request_body(self)
        except ValueError:
            self.send_error(400, "bad Content-Length")
            return None

    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = do_PATCH = do_OPTIONS = _serve

    def log_message(self, format: str, *args: Any) -> None:
        pass  # one line per DynamoDB call would drown the API's own output


_HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "server", "date"}


class _WSGIServer(ThreadingHTTPServer):
    daemon_threads = True
    app: Callable[..., Iterable[bytes]]


class EmbeddedDynamoDB:
    """Usage: `with EmbeddedDynamoDB() as endpoint_url: ...` or `start()` / `stop()`.

    moto keeps its data in module-level state, shared with any `mock_aws` in the same process.
    """

    def __init__(self, host: str = "127.0.0.1", port: int = 0, *, table_sized_transactions: bool = False) -> None:
        """``table_sized_transactions=True`` keeps moto's stock transactions, whose cost grows with the
        table (see install_transaction_patch); by default they cost what the transaction touches."""
        self.host = host
        self.port = port
        self.table_sized_transactions = table_sized_transactions
        self.endpoint_url: str | None = None
        self._server: Any = None
        self._thread: threading.Thread | None = None

    def start(self) -> str:
        if self.endpoint_url is not None:
            return self.endpoint_url
        # Imported here: moto's server stack is heavy and only needed when running locally.
        from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

        if not self.table_sized_transactions:
            install_transaction_patch()  # a long `make run` session must not slow down as the table grows
        install_query_patch()

        self._server = _WSGIServer((self.host, self.port), _WSGIRequestHandler)
        self._server.app = SerializedWSGIApp(DomainDispatcherApplication(create_backend_app))
        self.port = self._server.server_port
        self._thread = threading.Thread(target=self._server.serve_forever, name="embedded-dynamodb", daemon=True)
        self._thread.start()
        self.endpoint_url = f"http://{self.host}:{self.port}"
        return self.endpoint_url

    def stop(self) -> None:
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=10)
        self._server = None
        self._thread = None
        self.endpoint_url = None

    def reset(self) -> None:
        """Drop every table and item (all of moto's in-process state)."""
        if self.endpoint_url is None:
            raise RuntimeError("EmbeddedDynamoDB is not running")
        request = urllib.request.Request(f"{self.endpoint_url}/moto-api/reset", data=b"", method="POST")
        with urllib.request.urlopen(request, timeout=30) as response:
            response.read()

    def __enter__(self) -> str:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


# moto's TransactWriteItems, made to cost what the transaction touches (see the module docstring).
_transaction_patch_installed = False


def _backup_touched_items(backend: Any, transact_items: list[dict[str, Any]]) -> list[tuple[Any, Any, Any, Any]]:
    from moto.dynamodb.models.dynamo_type import DynamoType

    backups = []
    for entry in transact_items:
        if len(entry) != 1:
            continue  # moto rejects it before writing anything
        op = next(iter(entry.values()))
        table = backend.tables.get(op.get("TableName")) if isinstance(op, dict) else None
        key = (op.get("Item") if "Item" in op else op.get("Key")) if table is not None else None
        if not key or table.hash_key_attr not in key:
            continue
        hash_value = DynamoType(key[table.hash_key_attr])
        range_value = None
        if table.range_key_attr is not None:
            if table.range_key_attr not in key:
                continue
            range_value = DynamoType(key[table.range_key_attr])
        current = table.get_item(hash_value, range_value)
        backups.append((table, hash_value, range_value, copy.deepcopy(current)))
    return backups


def _restore_backups(backups: list[tuple[Any, Any, Any, Any]]) -> None:
    # Newest first, so an item named twice ends up as it was before the transaction.
    for table, hash_value, range_value, item in reversed(backups):
        if range_value is None:
            if item is None:
                table.items.pop(hash_value, None)
            else:
                table.items[hash_value] = item
        elif item is None:
            table.items[hash_value].pop(range_value, None)
        else:
            table.items[hash_value][range_value] = item


def _stream_positions(backups: list[tuple[Any, Any, Any, Any]]) -> list[tuple[Any, int]]:
    """How many records each touched table's stream holds before the transaction."""
    tables = {id(table): table for table, *_ in backups}.values()
    return [(table.stream_shard, len(table.stream_shard.items)) for table in tables if table.stream_shard is not None]


def _restore_stream_positions(positions: list[tuple[Any, int]]) -> None:
    # moto records a stream record for each write as it applies it; a cancelled transaction wrote nothing, so the
    # records of the writes it applied before the failing condition must not reach a stream consumer either.
    for shard, length in positions:
        del shard.items[length:]


_query_patch_installed = False


def install_query_patch() -> None:
    """Idempotent. Afterwards a KEYS_ONLY or INCLUDE index projects an item by picking its attributes, and a
    Query reply is written as JSON directly (falling back to moto's serializer for what JSON cannot hold)."""
    global _query_patch_installed
    if _query_patch_installed:
        return
    from moto.core.responses import ActionResult
    from moto.dynamodb.models.dynamo_type import Item
    from moto.dynamodb.models.table import SecondaryIndex
    from moto.dynamodb.responses import DynamoHandler

    def project(self: Any, item: Any) -> Any:
        projection_type = (self.projection or {}).get("ProjectionType")
        if projection_type not in ("KEYS_ONLY", "INCLUDE"):
            return item  # ALL (or none given): the whole item
        wanted = [*self.table_key_attrs, *(key["AttributeName"] for key in self.schema)]
        if projection_type == "INCLUDE":
            wanted += self.projection.get("NonKeyAttributes", [])
        attrs = {name: item.attrs[name].to_json() for name in dict.fromkeys(wanted) if name in item.attrs}
        return Item(hash_key=item.hash_key, range_key=item.range_key, attrs=attrs)

    original_query = DynamoHandler.query

    def query(self: Any) -> Any:
        result = original_query(self)
        if isinstance(result, ActionResult):
            try:
                return json.dumps(result.result)
            except (TypeError, ValueError):
                return result  # binary values: moto's serializer encodes them
        return result

    SecondaryIndex.project = project
    DynamoHandler.query = query
    _query_patch_installed = True


def install_transaction_patch() -> None:
    """Idempotent. Afterwards TransactWriteItems backs up only the items it names."""
    global _transaction_patch_installed
    if _transaction_patch_installed:
        return
    from moto.dynamodb import models
    from moto.dynamodb.models.table import Table

    def deepcopy_except_tables(value: Any, memo: Any = None) -> Any:
        # transact_write_items is the only place in this module that deep-copies a Table; with the
        # table itself as its "backup", moto's own rollback assignment changes nothing.
        return value if isinstance(value, Table) else copy.deepcopy(value, memo)

    models.copy = SimpleNamespace(deepcopy=deepcopy_except_tables, copy=copy.copy)
    original = models.DynamoDBBackend.transact_write_items

    def transact_write_items(self: Any, transact_items: list[dict[str, Any]]) -> None:
        backups = _backup_touched_items(self, transact_items)
        streamed = _stream_positions(backups)
        try:
            original(self, transact_items)
        except BaseException:
            _restore_backups(backups)
            _restore_stream_positions(streamed)
            raise

    models.DynamoDBBackend.transact_write_items = transact_write_items
    _transaction_patch_installed = True
