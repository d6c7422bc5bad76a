"""The station hub: configuration, the custody journal, and (as they land) bus, API, replication."""

__version__ = "0.1.0"
