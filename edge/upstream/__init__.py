"""The reference upstream: the ledger that receives station journals (docs/replication.md)."""

from edge.upstream.cosign import CosignatureVerifier, Cosigner
from edge.upstream.ledger import IngestResult, Ledger, LedgerError
from edge.upstream.store import PostgresStore, SqliteStore, Store, StoreError, open_store

__all__ = [
    "CosignatureVerifier",
    "Cosigner",
    "IngestResult",
    "Ledger",
    "LedgerError",
    "PostgresStore",
    "SqliteStore",
    "Store",
    "StoreError",
    "open_store",
]
