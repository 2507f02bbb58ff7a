//! Batching normalised events into the event store, counting what was skipped and why.

use crate::AuditError;
use crate::event::{Malformed, normalise};
use ppgov_store::{EventRow, EventStore};
use serde::Serialize;

/// Malformed records reported in full; beyond this only the count grows.
pub const MAX_REPORTED: usize = 200;
/// Events per store batch (one transaction, one chain link).
pub const BATCH: usize = 5_000;

/// What an ingest did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct IngestOutcome {
    /// Records read.
    pub read: usize,
    /// Events newly stored.
    pub stored: usize,
    /// Records already stored (same `Id`).
    pub duplicates: usize,
    /// Records skipped as malformed.
    pub malformed: usize,
    /// The first [`MAX_REPORTED`] malformed records with their positions.
    pub malformed_records: Vec<Malformed>,
    /// Batches written.
    pub batches: usize,
    /// Apps, flows and connections marked for refresh at the next incremental crawl.
    pub marked_for_refresh: usize,
}

impl IngestOutcome {
    /// Adds another outcome's counts.
    pub fn add(&mut self, o: IngestOutcome) {
        self.read += o.read;
        self.stored += o.stored;
        self.duplicates += o.duplicates;
        self.malformed += o.malformed;
        self.batches += o.batches;
        self.marked_for_refresh += o.marked_for_refresh;
        for m in o.malformed_records {
            if self.malformed_records.len() < MAX_REPORTED {
                self.malformed_records.push(m);
            }
        }
    }
}

/// A callback on newly stored events.
type OnStored<'s> = Box<dyn FnMut(&[EventRow]) -> Result<(), AuditError> + Send + 's>;

/// Collects records into batches and writes them; a bad record is counted, never fatal.
pub struct Ingestor<'s, S: EventStore + ?Sized> {
    store: &'s mut S,
    pending: Vec<EventRow>,
    /// Counts so far.
    pub outcome: IngestOutcome,
    /// Called with every batch of newly stored events (detection on arrival).
    on_stored: Option<OnStored<'s>>,
}

impl<'s, S: EventStore + ?Sized> Ingestor<'s, S> {
    /// An ingestor writing to `store`.
    pub fn new(store: &'s mut S) -> Self {
        Ingestor {
            store,
            pending: Vec::with_capacity(BATCH),
            outcome: IngestOutcome::default(),
            on_stored: None,
        }
    }

    /// Calls `f` with each batch of newly stored events.
    pub fn on_stored(
        mut self,
        f: impl FnMut(&[EventRow]) -> Result<(), AuditError> + Send + 's,
    ) -> Self {
        self.on_stored = Some(Box::new(f));
        self
    }

    fn bad(&mut self, position: String, reason: String) {
        self.outcome.malformed += 1;
        if self.outcome.malformed_records.len() < MAX_REPORTED {
            tracing::warn!(%position, %reason, "skipped a malformed audit record");
            self.outcome
                .malformed_records
                .push(Malformed { position, reason });
        }
    }

    /// One record from a source: its position and raw JSON (or why it could not be read).
    pub fn push(
        &mut self,
        position: String,
        raw: Result<String, String>,
    ) -> Result<(), AuditError> {
        self.outcome.read += 1;
        match raw.and_then(|r| normalise(&r)) {
            Ok(e) => {
                self.pending.push(e);
                if self.pending.len() >= BATCH {
                    self.flush()?;
                }
            }
            Err(reason) => self.bad(position, reason),
        }
        Ok(())
    }

    /// Writes what is pending (one batch).
    pub fn flush(&mut self) -> Result<(), AuditError> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let n = self.pending.len();
        let r = self.store.append(&mut self.pending)?;
        self.outcome.stored += r.stored;
        self.outcome.duplicates += n - r.stored;
        if r.batch > 0 {
            self.outcome.batches += 1;
        }
        self.mark_changed_resources()?;
        if let Some(f) = self.on_stored.as_mut() {
            let stored: Vec<EventRow> = self.pending.drain(..).filter(|e| e.seq > 0).collect();
            f(&stored)?;
        }
        self.pending.clear();
        Ok(())
    }

    /// Marks the apps, flows and connections that the newly stored events changed, so the next
    /// incremental crawl reads them again in full (one mark call per operation). Marks naming an
    /// environment, a DLP policy or an environment's listing need nothing: those are read again
    /// on every crawl.
    fn mark_changed_resources(&mut self) -> Result<(), AuditError> {
        let mut by_operation: std::collections::BTreeMap<String, Vec<ppgov_core::ResourceRef>> =
            std::collections::BTreeMap::new();
        for e in self.pending.iter().filter(|e| e.seq > 0) {
            for m in crate::refresh::marks(e) {
                let kind = match m.kind {
                    "flow" => ppgov_core::ResourceKind::Flow,
                    "app" => ppgov_core::ResourceKind::App,
                    "connection" => ppgov_core::ResourceKind::Connection,
                    _ => continue,
                };
                by_operation.entry(e.operation.clone()).or_default().push(
                    ppgov_core::ResourceRef {
                        kind,
                        id: m.id,
                        name: String::new(),
                        environment_id: m.environment_id,
                    },
                );
            }
        }
        for (operation, refs) in by_operation {
            self.outcome.marked_for_refresh += refs.len();
            self.store
                .mark_for_refresh(&refs, &format!("audit: {operation}"))?;
        }
        Ok(())
    }

    /// Flushes and returns the counts.
    pub fn finish(mut self) -> Result<IngestOutcome, AuditError> {
        self.flush()?;
        Ok(self.outcome)
    }
}
