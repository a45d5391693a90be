"""Three places where moto's cost grows with everything stored and AWS's does not, made local.

1. **Transactions.** moto 5.2's ``TransactWriteItems`` backs up every table a transaction names with
   ``copy.deepcopy(table)`` before it writes, and puts that copy back if any operation fails. On the local
   stack every case update is such a transaction (the record and its audit event, together), so:

   - each transaction costs time in proportion to everything the cases table holds;
   - the copy iterates the live table while other threads write to it (Step Functions executions run in
     moto's threads), which fails with ``RuntimeError: dictionary changed size during iteration``: in a first
     run of 60 concurrent cases, 7 failed that way and were closed as FAILED;
   - a rollback replaces the whole table with the old copy, losing what other threads wrote meanwhile.

   Here transactions run one at a time (a lock), each keeps a deep copy of only the items it names, and on
   any failure puts those back. moto's own code still checks the conditions and writes.

2. **Queries.** moto's ``Query`` on a table (not an index) walks and sorts every item of the table to find
   one partition's, so reading a case's events costs time in proportion to all cases. Here a query on the
   table's own key sees only its partition (sorted by range key as before); queries on indexes, and scans,
   are unchanged.

3. **SQS receives.** For every message it hands out, moto checks the queue's retention period by computing
   all of the queue's attributes, which counts every message in the queue (three times): a receive costs
   time in proportion to the queue's length, per message. Here the retention period is read from the
   queue directly; the check is the same.

AWS does none of these things, so without them a benchmark of N cases or pages measures moto's O(N^2), not
our code. The benchmarks install all three in their worker processes (:mod:`bench.local_worker`). Nothing
of ours changes.
"""

from __future__ import annotations

import copy
import threading
from typing import TYPE_CHECKING, Any, Final

import moto.dynamodb.models as dynamodb_models
from moto.core.utils import unix_time
from moto.dynamodb.models.dynamo_type import DynamoType
from moto.dynamodb.models.table import Table
from moto.sqs.models import SQSBackend

if TYPE_CHECKING:
    from collections.abc import Callable

    from moto.dynamodb.models.dynamo_type import Item

_ORIGINAL_TRANSACT: Final[Callable[..., None]] = dynamodb_models.DynamoDBBackend.transact_write_items
_ORIGINAL_COPY_MODULE: Final = dynamodb_models.copy  # type: ignore[attr-defined]
_ORIGINAL_QUERY: Final[Callable[..., Any]] = Table.query
_ORIGINAL_ALL_ITEMS: Final[Callable[[Table], list[Any]]] = Table.all_items
_ORIGINAL_RETENTION_CHECK: Final[Callable[..., bool]] = SQSBackend.is_message_valid_based_on_retention_period
_TRANSACTION_LOCK: Final = threading.RLock()
_QUERY_PARTITION = threading.local()


# ----------------------------------------------------------------------------------------------------------
# Transactions


class _CopyKeepingTablesLive:
    """Stands in for the ``copy`` module inside ``moto.dynamodb.models``: a table is not copied.

    The whole-table copy is the only deep copy of a :class:`Table` in that module; every other deep copy (an
    item before an update) is made as before.
    """

    def __getattr__(self, name: str) -> Any:
        return getattr(copy, name)

    @staticmethod
    def deepcopy(value: Any, memo: dict[int, Any] | None = None) -> Any:
        if isinstance(value, Table):
            return value  # the live table: moto's "rollback" then puts back the same object, a no-op
        return copy.deepcopy(value, memo)


_ItemBackup = tuple[Table, DynamoType, "DynamoType | None", "Item | None"]


def _backups(backend: Any, transact_items: list[dict[str, Any]]) -> list[_ItemBackup]:
    """A deep copy of each item the transaction names, or None where there is no item yet."""
    saved: list[_ItemBackup] = []
    for entry in transact_items:
        operation = next(iter(entry.values()), None)
        if not isinstance(operation, dict):
            continue
        table = backend.tables.get(operation.get("TableName"))
        if table is None:
            continue  # moto reports the unknown table itself
        key_source = operation.get("Item") if "Item" in operation else operation.get("Key")
        if not isinstance(key_source, dict) or table.hash_key_attr not in key_source:
            continue  # malformed: moto rejects it before writing anything
        hash_value = DynamoType(key_source[table.hash_key_attr])
        range_value = None
        if table.range_key_attr is not None:
            if table.range_key_attr not in key_source:
                continue
            range_value = DynamoType(key_source[table.range_key_attr])
        saved.append((table, hash_value, range_value, copy.deepcopy(table.get_item(hash_value, range_value))))
    return saved


def _restore(saved: list[_ItemBackup]) -> None:
    for table, hash_value, range_value, item in reversed(saved):
        if range_value is None:
            if item is None:
                table.items.pop(hash_value, None)
            else:
                table.items[hash_value] = item  # type: ignore[assignment]
        elif item is None:
            table.items[hash_value].pop(range_value, None)
        else:
            table.items[hash_value][range_value] = item


def _transact_write_items(self: Any, transact_items: list[dict[str, Any]]) -> None:
    with _TRANSACTION_LOCK:
        saved = _backups(self, transact_items)
        try:
            _ORIGINAL_TRANSACT(self, transact_items)
        except BaseException:
            _restore(saved)
            raise


# ----------------------------------------------------------------------------------------------------------
# Queries


def _query(self: Table, hash_key: Any, *args: Any, **kwargs: Any) -> Any:
    index_name = kwargs.get("index_name") if "index_name" in kwargs else (args[6] if len(args) > 6 else None)
    if index_name or hash_key is None:
        return _ORIGINAL_QUERY(self, hash_key, *args, **kwargs)
    _QUERY_PARTITION.table, _QUERY_PARTITION.hash_key = self, hash_key
    try:
        return _ORIGINAL_QUERY(self, hash_key, *args, **kwargs)
    finally:
        _QUERY_PARTITION.table = _QUERY_PARTITION.hash_key = None


def _all_items(self: Table) -> list[Any]:
    """During a query on the table's key (this thread), only that partition's items; else all of them."""
    if getattr(_QUERY_PARTITION, "table", None) is not self:
        return _ORIGINAL_ALL_ITEMS(self)
    hash_key = _QUERY_PARTITION.hash_key
    if hash_key not in self.items:  # a defaultdict: look, do not create
        return []
    partition = self.items[hash_key]
    if not self.range_key_attr:
        return [partition]
    return sorted(partition.values(), key=lambda item: item.range_key)


# ----------------------------------------------------------------------------------------------------------
# SQS


def _within_retention(self: SQSBackend, queue_name: str, message: Any) -> bool:
    """moto's check, with the retention period read from the queue instead of from all its attributes."""
    retention_period = int(getattr(self.get_queue(queue_name), "message_retention_period"))  # noqa: B009 - set by setattr
    return bool(retention_period + message.sent_timestamp / 1000 > unix_time())


# ----------------------------------------------------------------------------------------------------------


def install() -> None:
    """Use the cheaper transaction backups, queries and SQS receives in this process. Idempotent."""
    dynamodb_models.copy = _CopyKeepingTablesLive()  # type: ignore[attr-defined, assignment]
    dynamodb_models.DynamoDBBackend.transact_write_items = _transact_write_items  # type: ignore[method-assign]
    Table.query = _query  # type: ignore[method-assign]
    Table.all_items = _all_items  # type: ignore[method-assign, assignment]
    SQSBackend.is_message_valid_based_on_retention_period = _within_retention  # type: ignore[method-assign]


def uninstall() -> None:
    """Put moto's own code back."""
    dynamodb_models.copy = _ORIGINAL_COPY_MODULE  # type: ignore[attr-defined]
    dynamodb_models.DynamoDBBackend.transact_write_items = _ORIGINAL_TRANSACT  # type: ignore[method-assign]
    Table.query = _ORIGINAL_QUERY  # type: ignore[method-assign]
    Table.all_items = _ORIGINAL_ALL_ITEMS  # type: ignore[method-assign, assignment]
    SQSBackend.is_message_valid_based_on_retention_period = _ORIGINAL_RETENTION_CHECK  # type: ignore[method-assign]


def is_installed() -> bool:
    """True while :func:`install` is in effect."""
    return Table.query is _query  # type: ignore[comparison-overlap]
