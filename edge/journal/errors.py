"""Errors a user of the custody journal can meet, each with a message that says what to do."""


class JournalError(Exception):
    """Base class for custody journal errors."""


class JournalInputError(JournalError, ValueError):
    """An event was refused before anything was written (bad type, payload, attachment)."""


class JournalLockedError(JournalError):
    """Another process already holds this journal for writing."""


class JournalFullError(JournalError):
    """The disk (or the journal's size limit) is full; nothing of the refused write was kept."""


class JournalCorruptError(JournalError):
    """The journal file cannot be read as a database, or SQLite's own check failed."""


class JournalDamagedError(JournalError):
    """The journal's history does not match its signed checkpoints; appending is refused."""


class JournalClosedError(JournalError):
    """The journal has been closed; no more appends are taken."""
