//! Emulator-only controls for changes no Microsoft API makes (new flow runs happen when a flow
//! runs, not through a call). They are Rust methods on [`Emulator`], never HTTP paths, so nothing
//! here can be mistaken for Microsoft's wire protocol.

use super::Emulator;

impl Emulator {
    /// Serves `n` more audit blobs, then holds every further blob request until
    /// [`Emulator::release_audit_blobs`] (an ingest stopped mid-way at a known point).
    pub fn hold_audit_blobs_after(&self, n: u64) {
        self.state().blob_gate.hold_after(n);
    }

    /// Waits until at least `n` audit blob requests are held.
    pub async fn audit_blobs_held(&self, n: u64) {
        self.state().blob_gate.wait_held(n).await;
    }

    /// Lets held and later audit blob requests through.
    pub fn release_audit_blobs(&self) {
        self.state().blob_gate.release();
    }

    /// Single-flow GETs (definitions) answered so far.
    pub fn flow_definition_reads(&self) -> u64 {
        self.state()
            .flow_definition_reads
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Adds `count` failed runs to a flow's history, the newest starting now, as if the flow had
    /// just run and failed. Moves no `lastModifiedTime`. Returns false when the environment or
    /// the flow does not exist.
    pub fn add_failed_runs(&self, environment: &str, flow: &str, count: u32) -> bool {
        let state = self.state();
        let Some(idx) = state.env_index(environment) else {
            return false;
        };
        let now = state.now();
        state.env_content_mut(idx, |c| match c.flow_mut(flow) {
            Some(f) => {
                f.runs.oldest = f.runs.oldest.or(f.runs.newest).or(Some(now));
                f.runs.newest = Some(now);
                f.runs.runs += count;
                f.runs.failed += count;
                true
            }
            None => false,
        })
    }
}
