"""Station profiles and workflows (receiving, bench, erasure, disposition): not built yet."""
