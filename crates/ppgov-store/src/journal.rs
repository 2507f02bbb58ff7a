//! The remediation journal: one row per step event of an apply, hash-chained.
//!
//! Each entry's `hash` is the SHA-256 of the previous entry's hash and every field of the entry
//! as stored (the JSON columns as their stored text), so editing, deleting, inserting or
//! reordering a row breaks the chain at that row. The chain's head (last sequence number and
//! hash) is kept in `journal_head`, written in the same transaction, so a truncated tail is seen
//! too. Someone able to rewrite the whole file can recompute every hash: record the head that
//! `ppgov journal verify` prints somewhere else (a change ticket) to anchor it.
//!
//! Also here: actions due later (`due_actions`), which `ppgov apply --due` carries out.

use crate::time::{from_text, to_text};
use crate::{Store, StoreError};
use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, params};
use serde::{Deserialize, Serialize};

/// The hash the first entry chains from.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// Where a step stands, as journaled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JournalPhase {
    /// About to write: journaled before the request leaves.
    Started,
    /// The write took effect (verified by reading it back).
    Done,
    /// Nothing written: already in the desired state, drifted, refused, or capped.
    Skipped,
    /// The write failed or its effect could not be verified.
    Failed,
}

impl JournalPhase {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            JournalPhase::Started => "started",
            JournalPhase::Done => "done",
            JournalPhase::Skipped => "skipped",
            JournalPhase::Failed => "failed",
        }
    }

    fn parse(s: &str) -> Result<JournalPhase, StoreError> {
        Ok(match s {
            "started" => JournalPhase::Started,
            "done" => JournalPhase::Done,
            "skipped" => JournalPhase::Skipped,
            "failed" => JournalPhase::Failed,
            other => {
                return Err(StoreError::BadValue {
                    column: "journal.phase",
                    value: other.to_string(),
                });
            }
        })
    }
}

/// An entry to append (the store adds the sequence number, time and hashes).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewJournalEntry {
    /// The tenant acted on.
    pub tenant_id: String,
    /// Who acted: the signed-in identity from the token (UPN or app id, and object id).
    pub actor: String,
    /// One run of `ppgov apply`.
    pub apply_id: String,
    /// The plan's id.
    pub plan_id: String,
    /// The plan's integrity digest.
    pub plan_digest: String,
    /// Step number in the plan.
    pub step: u32,
    /// Action id (`PPG-ACT-001`).
    pub action: String,
    /// The target, as the plan names it.
    pub target: String,
    /// Where the step stands.
    pub phase: JournalPhase,
    /// The request id of the write, when one was sent.
    pub request_id: Option<String>,
    /// The target's state read before the write.
    pub before: Option<serde_json::Value>,
    /// The target's state read after the write.
    pub after: Option<serde_json::Value>,
    /// What happened, in words.
    pub result: String,
}

/// A stored entry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JournalEntry {
    /// Position in the chain, from 1, without gaps.
    pub seq: i64,
    /// When it was written.
    pub at: DateTime<Utc>,
    /// The entry's fields.
    #[serde(flatten)]
    pub entry: NewJournalEntry,
    /// The previous entry's hash ([`GENESIS`] for the first).
    pub prev_hash: String,
    /// This entry's hash.
    pub hash: String,
}

/// Why the chain does not hold.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChainBreak {
    /// The sequence number where it breaks (the row, or the position expected).
    pub seq: i64,
    /// What is wrong there.
    pub problem: String,
}

/// What `verify_journal` found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChainReport {
    /// Entries checked.
    pub entries: i64,
    /// The head hash (the last entry's), to anchor elsewhere.
    pub head: String,
    /// Every break found (empty when the chain holds).
    pub breaks: Vec<ChainBreak>,
}

/// A stored row as text, exactly as hashed: what every backend stores, so they hash and verify
/// alike (exported as `ppgov_store::journal_chain`).
#[derive(Debug, Clone, PartialEq, Eq)]
#[allow(missing_docs)]
pub struct Row {
    pub seq: i64,
    pub at: String,
    pub tenant_id: String,
    pub actor: String,
    pub apply_id: String,
    pub plan_id: String,
    pub plan_digest: String,
    pub step: i64,
    pub action: String,
    pub target: String,
    pub phase: String,
    pub request_id: Option<String>,
    pub before: Option<String>,
    pub after: Option<String>,
    pub result: String,
    pub prev_hash: String,
    pub hash: String,
}

impl Row {
    /// The row an append writes after the chain's head `(last seq, its hash)` (`None`: the
    /// journal is empty), written now, with its hash.
    pub fn next(e: &NewJournalEntry, head: Option<(i64, String)>) -> Result<Row, StoreError> {
        let encode = |what: &str, v: &Option<serde_json::Value>| {
            v.as_ref()
                .map(serde_json::to_string)
                .transpose()
                .map_err(|source| StoreError::Encode {
                    what: what.to_string(),
                    source,
                })
        };
        let (last, prev_hash) = head.unwrap_or((0, GENESIS.to_string()));
        let mut row = Row {
            seq: last + 1,
            at: to_text(Utc::now()),
            tenant_id: e.tenant_id.clone(),
            actor: e.actor.clone(),
            apply_id: e.apply_id.clone(),
            plan_id: e.plan_id.clone(),
            plan_digest: e.plan_digest.clone(),
            step: i64::from(e.step),
            action: e.action.clone(),
            target: e.target.clone(),
            phase: e.phase.as_str().to_string(),
            request_id: e.request_id.clone(),
            before: encode("journal before-state", &e.before)?,
            after: encode("journal after-state", &e.after)?,
            result: e.result.clone(),
            prev_hash,
            hash: String::new(),
        };
        row.hash = row.compute_hash();
        Ok(row)
    }

    /// The SHA-256 of the previous hash and every field, each length-prefixed.
    pub fn compute_hash(&self) -> String {
        use sha2::Digest;
        let mut h = sha2::Sha256::new();
        let opt = |o: &Option<String>| o.clone().unwrap_or_else(|| "\u{0}null".into());
        // Length-prefixed fields, so no two different rows hash the same text.
        for field in [
            self.prev_hash.clone(),
            self.seq.to_string(),
            self.at.clone(),
            self.tenant_id.clone(),
            self.actor.clone(),
            self.apply_id.clone(),
            self.plan_id.clone(),
            self.plan_digest.clone(),
            self.step.to_string(),
            self.action.clone(),
            self.target.clone(),
            self.phase.clone(),
            opt(&self.request_id),
            opt(&self.before),
            opt(&self.after),
            self.result.clone(),
        ] {
            h.update((field.len() as u64).to_le_bytes());
            h.update(field.as_bytes());
        }
        hex(&h.finalize())
    }

    fn from_sql(r: &rusqlite::Row<'_>) -> rusqlite::Result<Row> {
        Ok(Row {
            seq: r.get(0)?,
            at: r.get(1)?,
            tenant_id: r.get(2)?,
            actor: r.get(3)?,
            apply_id: r.get(4)?,
            plan_id: r.get(5)?,
            plan_digest: r.get(6)?,
            step: r.get(7)?,
            action: r.get(8)?,
            target: r.get(9)?,
            phase: r.get(10)?,
            request_id: r.get(11)?,
            before: r.get(12)?,
            after: r.get(13)?,
            result: r.get(14)?,
            prev_hash: r.get(15)?,
            hash: r.get(16)?,
        })
    }

    /// The entry this row holds.
    pub fn into_entry(self) -> Result<JournalEntry, StoreError> {
        let json = |column: &'static str, s: Option<String>| -> Result<_, StoreError> {
            s.map(|t| {
                serde_json::from_str(&t).map_err(|_| StoreError::BadValue { column, value: t })
            })
            .transpose()
        };
        Ok(JournalEntry {
            seq: self.seq,
            at: from_text("journal.at", &self.at)?,
            entry: NewJournalEntry {
                tenant_id: self.tenant_id,
                actor: self.actor,
                apply_id: self.apply_id,
                plan_id: self.plan_id,
                plan_digest: self.plan_digest,
                step: u32::try_from(self.step).map_err(|_| StoreError::BadValue {
                    column: "journal.step",
                    value: self.step.to_string(),
                })?,
                action: self.action,
                target: self.target,
                phase: JournalPhase::parse(&self.phase)?,
                request_id: self.request_id,
                before: json("journal.before", self.before)?,
                after: json("journal.after", self.after)?,
                result: self.result,
            },
            prev_hash: self.prev_hash,
            hash: self.hash,
        })
    }
}

/// Checks a chain read in storage order: every hash recomputed, every link, a gapless sequence,
/// and the head `(seq, hash)` kept apart (so a truncated tail shows).
pub fn verify_rows(rows: &[Row], head: Option<(i64, String)>) -> ChainReport {
    let mut breaks = Vec::new();
    let mut prev = GENESIS.to_string();
    let mut expected_seq = 1;
    for row in rows {
        if row.seq != expected_seq {
            breaks.push(ChainBreak {
                seq: row.seq,
                problem: format!(
                    "entry {} found where entry {expected_seq} was expected (deleted, inserted or reordered entries)",
                    row.seq
                ),
            });
        }
        if row.prev_hash != prev {
            breaks.push(ChainBreak {
                seq: row.seq,
                problem: "does not link to the entry before it (an entry before it was removed, inserted or moved)".into(),
            });
        }
        if row.compute_hash() != row.hash {
            breaks.push(ChainBreak {
                seq: row.seq,
                problem: "its content does not match its hash (the entry was modified)".into(),
            });
        }
        prev = row.hash.clone();
        expected_seq = row.seq + 1;
    }
    let last = rows.last().map(|r| (r.seq, r.hash.clone()));
    match (head, last) {
        (None, None) => {}
        (Some((hs, hh)), Some((ls, lh))) if hs == ls && hh == lh => {}
        (Some((hs, _)), _) => breaks.push(ChainBreak {
            seq: hs,
            problem: format!(
                "the journal head records entry {hs} as the last, but the journal ends at entry {} (entries at the end were deleted or added)",
                rows.last().map_or(0, |r| r.seq)
            ),
        }),
        (None, Some((ls, _))) => breaks.push(ChainBreak {
            seq: ls,
            problem: "the journal has entries but no head (the head was deleted)".into(),
        }),
    }
    ChainReport {
        entries: rows.len() as i64,
        head: prev,
        breaks,
    }
}

const SELECT: &str = "SELECT seq, at, tenant_id, actor, apply_id, plan_id, plan_digest, step, action, target, phase, request_id, before, after, result, prev_hash, hash FROM journal";

use ppgov_core::hex;

/// An action due later: a plan to apply once `due_at` has passed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DueAction {
    /// Its id.
    pub id: i64,
    /// The tenant.
    pub tenant_id: String,
    /// When it becomes due.
    pub due_at: DateTime<Utc>,
    /// Why it was scheduled.
    pub reason: String,
    /// The plan to apply (a plan file's JSON).
    pub plan: String,
    /// When it was recorded.
    pub created_at: DateTime<Utc>,
    /// When it was carried out.
    pub done_at: Option<DateTime<Utc>>,
    /// The apply that carried it out.
    pub apply_id: Option<String>,
}

impl Store {
    /// Appends an entry to the journal in one transaction (entry and head together) and returns it.
    pub fn append_journal(&mut self, e: &NewJournalEntry) -> Result<JournalEntry, StoreError> {
        let tx = self.conn.transaction()?;
        let head: Option<(i64, String)> = tx
            .query_row("SELECT seq, hash FROM journal_head WHERE id = 1", [], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .optional()?;
        let row = Row::next(e, head)?;
        tx.execute(
            "INSERT INTO journal (seq, at, tenant_id, actor, apply_id, plan_id, plan_digest, step, action, target, phase, request_id, before, after, result, prev_hash, hash)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17)",
            params![
                row.seq, row.at, row.tenant_id, row.actor, row.apply_id, row.plan_id,
                row.plan_digest, row.step, row.action, row.target, row.phase, row.request_id,
                row.before, row.after, row.result, row.prev_hash, row.hash
            ],
        )?;
        tx.execute(
            "INSERT INTO journal_head (id, seq, hash) VALUES (1, ?1, ?2)
             ON CONFLICT (id) DO UPDATE SET seq = excluded.seq, hash = excluded.hash",
            params![row.seq, row.hash],
        )?;
        tx.commit()?;
        row.into_entry()
    }

    /// Every journal entry in chain order, optionally only one apply's.
    pub fn journal(&self, apply_id: Option<&str>) -> Result<Vec<JournalEntry>, StoreError> {
        let rows = match apply_id {
            Some(a) => {
                let mut stmt = self
                    .conn
                    .prepare(&format!("{SELECT} WHERE apply_id = ?1 ORDER BY seq"))?;
                stmt.query_map([a], Row::from_sql)?
                    .collect::<Result<Vec<_>, _>>()?
            }
            None => {
                let mut stmt = self.conn.prepare(&format!("{SELECT} ORDER BY seq"))?;
                stmt.query_map([], Row::from_sql)?
                    .collect::<Result<Vec<_>, _>>()?
            }
        };
        rows.into_iter().map(Row::into_entry).collect()
    }

    /// The entries journaled for one plan (by digest), in chain order.
    pub fn journal_for_plan(&self, plan_digest: &str) -> Result<Vec<JournalEntry>, StoreError> {
        let mut stmt = self
            .conn
            .prepare(&format!("{SELECT} WHERE plan_digest = ?1 ORDER BY seq"))?;
        let rows = stmt
            .query_map([plan_digest], Row::from_sql)?
            .collect::<Result<Vec<_>, _>>()?;
        rows.into_iter().map(Row::into_entry).collect()
    }

    /// Checks the whole chain: every hash recomputed, every link, gapless sequence, and the head.
    pub fn verify_journal(&self) -> Result<ChainReport, StoreError> {
        let mut stmt = self.conn.prepare(&format!("{SELECT} ORDER BY rowid"))?;
        let rows = stmt
            .query_map([], Row::from_sql)?
            .collect::<Result<Vec<_>, _>>()?;
        let head: Option<(i64, String)> = self
            .conn
            .query_row("SELECT seq, hash FROM journal_head WHERE id = 1", [], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .optional()?;
        Ok(verify_rows(&rows, head))
    }

    /// Records an action due at `due_at` and returns its id.
    pub fn add_due_action(
        &mut self,
        tenant_id: &str,
        due_at: DateTime<Utc>,
        reason: &str,
        plan_json: &str,
    ) -> Result<i64, StoreError> {
        self.conn.execute(
            "INSERT INTO due_actions (tenant_id, due_at, reason, plan, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![tenant_id, to_text(due_at), reason, plan_json, to_text(Utc::now())],
        )?;
        Ok(self.conn.last_insert_rowid())
    }

    /// The tenant's actions not yet carried out, due at or before `now` (all pending with `None`).
    pub fn due_actions(
        &self,
        tenant_id: &str,
        now: Option<DateTime<Utc>>,
    ) -> Result<Vec<DueAction>, StoreError> {
        let limit = now.map_or_else(|| "9999".to_string(), to_text);
        let mut stmt = self.conn.prepare(
            "SELECT id, tenant_id, due_at, reason, plan, created_at, done_at, apply_id FROM due_actions
             WHERE tenant_id = ?1 AND done_at IS NULL AND due_at <= ?2 ORDER BY due_at, id",
        )?;
        type Raw = (
            i64,
            String,
            String,
            String,
            String,
            String,
            Option<String>,
            Option<String>,
        );
        let rows: Vec<Raw> = stmt
            .query_map(params![tenant_id, limit], |r| {
                Ok((
                    r.get(0)?,
                    r.get(1)?,
                    r.get(2)?,
                    r.get(3)?,
                    r.get(4)?,
                    r.get(5)?,
                    r.get(6)?,
                    r.get(7)?,
                ))
            })?
            .collect::<Result<_, _>>()?;
        rows.into_iter()
            .map(
                |(id, tenant_id, due, reason, plan, created, done, apply_id)| {
                    Ok(DueAction {
                        id,
                        tenant_id,
                        due_at: from_text("due_actions.due_at", &due)?,
                        reason,
                        plan,
                        created_at: from_text("due_actions.created_at", &created)?,
                        done_at: done
                            .map(|d| from_text("due_actions.done_at", &d))
                            .transpose()?,
                        apply_id,
                    })
                },
            )
            .collect()
    }

    /// Marks a due action as carried out by an apply.
    pub fn finish_due_action(&mut self, id: i64, apply_id: &str) -> Result<(), StoreError> {
        self.conn.execute(
            "UPDATE due_actions SET done_at = ?1, apply_id = ?2 WHERE id = ?3",
            params![to_text(Utc::now()), apply_id, id],
        )?;
        Ok(())
    }
}
