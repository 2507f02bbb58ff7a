//! Emulator-only controls for changes no Microsoft API makes (new flow runs happen when a flow
//! runs, not through a call). They are Rust methods on [`Emulator`], never HTTP paths, so nothing
//! here can be mistaken for Microsoft's wire protocol.

use super::Emulator;

impl Emulator {
    /// The gate holding requests of kind `g` after a number of them (`gate.rs`): a test can
    /// stop a client mid-way at a known point without timing anything.
    pub fn gate(&self, g: super::gate::Gated) -> &super::gate::Gate {
        let s = self.state();
        match g {
            super::gate::Gated::AuditBlobs => &s.blob_gate,
            super::gate::Gated::Writes => &s.write_gate,
            super::gate::Gated::Requests => &s.request_gate,
        }
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
