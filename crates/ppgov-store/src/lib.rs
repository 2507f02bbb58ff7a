//! embedded SQLite store: snapshots, resources, collection status, checkpoints
