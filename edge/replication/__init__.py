"""The station's side of replication: the journal upstream, the manifest feed down
(docs/replication.md)."""

from edge.replication.replicator import ReadOnlyJournal, ReplicationAlarm, Replicator
from edge.replication.service import ReplicationService

__all__ = ["ReadOnlyJournal", "ReplicationAlarm", "ReplicationService", "Replicator"]
