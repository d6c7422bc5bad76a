"""Tamper-evident custody journal: append-only SQLite, RFC 9162 Merkle tree, signed checkpoints."""

from edge.journal.blobs import BlobStore
from edge.journal.clock import ClockState
from edge.journal.errors import (
    JournalClosedError,
    JournalCorruptError,
    JournalDamagedError,
    JournalError,
    JournalFullError,
    JournalInputError,
    JournalLockedError,
)
from edge.journal.events import CustodyEvent, EventDraft, EventType
from edge.journal.journal import JOURNAL_FILE, Journal, JournalPolicy, JournalStats
from edge.journal.note import Checkpoint, Signer, Verifier
from edge.journal.reader import JournalReader
from edge.journal.verify import VerifyReport, verify_journal

__all__ = [
    "JOURNAL_FILE",
    "BlobStore",
    "Checkpoint",
    "ClockState",
    "CustodyEvent",
    "EventDraft",
    "EventType",
    "Journal",
    "JournalClosedError",
    "JournalCorruptError",
    "JournalDamagedError",
    "JournalError",
    "JournalFullError",
    "JournalInputError",
    "JournalLockedError",
    "JournalPolicy",
    "JournalReader",
    "JournalStats",
    "Signer",
    "Verifier",
    "VerifyReport",
    "verify_journal",
]
