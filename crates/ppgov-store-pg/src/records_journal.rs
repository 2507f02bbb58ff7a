//! The remediation journal of [`PgRecords`]: rows built, hashed and verified by
//! `ppgov_store::journal_chain`, stored as the text they were hashed from, numbered from 1 per
//! tenant, each tenant's head `(seq, hash)` in `journal_head`.
//!
//! Appends of one tenant serialise on a transaction-scoped advisory lock in `LOCK_SPACE` keyed
//! by a hash of `journal:` and the tenant (bit 30 set, clear of the store's fixed keys; a prefix
//! of its own, so a journal append never waits on the tenant's audit chain): the head is read,
//! the row inserted and the head moved in that transaction, so concurrent appends from several
//! connections or machines make one gapless chain. Other tenants never wait on them.

use postgres::IsolationLevel;
use ppgov_store::journal_chain::{Row, verify_rows};
use ppgov_store::{ChainReport, JournalEntry, NewJournalEntry, StoreError};

use crate::PgRecords;
use crate::migrations::LOCK_SPACE;
use crate::pg;

/// Serialises the journal appends of one tenant (see the module documentation).
const JOURNAL_LOCK: &str =
    "SELECT pg_advisory_xact_lock($1, hashtext('journal:' || $2) | 1073741824)";

const COLS: &str = "seq, at, tenant_id, actor, apply_id, plan_id, plan_digest, step, action, \
                    target, phase, request_id, before, after, result, prev_hash, hash";

fn row_of(r: &postgres::Row) -> Result<Row, postgres::Error> {
    Ok(Row {
        seq: r.try_get(0)?,
        at: r.try_get(1)?,
        tenant_id: r.try_get(2)?,
        actor: r.try_get(3)?,
        apply_id: r.try_get(4)?,
        plan_id: r.try_get(5)?,
        plan_digest: r.try_get(6)?,
        step: r.try_get(7)?,
        action: r.try_get(8)?,
        target: r.try_get(9)?,
        phase: r.try_get(10)?,
        request_id: r.try_get(11)?,
        before: r.try_get(12)?,
        after: r.try_get(13)?,
        result: r.try_get(14)?,
        prev_hash: r.try_get(15)?,
        hash: r.try_get(16)?,
    })
}

/// The tenant's chain head, `None` before the first entry.
fn head(
    client: &mut impl postgres::GenericClient,
    tenant: &str,
) -> Result<Option<(i64, String)>, StoreError> {
    let failed = pg("reading the journal head");
    client
        .query_opt(
            "SELECT seq, hash FROM journal_head WHERE tenant_id = $1",
            &[&tenant],
        )
        .map_err(&failed)?
        .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
        .transpose()
        .map_err(&failed)
}

impl PgRecords {
    pub(crate) fn append(&mut self, e: &NewJournalEntry) -> Result<JournalEntry, StoreError> {
        let (client, tenant) = self.writer(&e.tenant_id, "journal entries")?;
        let mut tx = client
            .transaction()
            .map_err(pg("starting a journal append"))?;
        tx.execute(JOURNAL_LOCK, &[&LOCK_SPACE, &tenant])
            .map_err(pg("waiting for the tenant's journal lock"))?;
        let row = Row::next(e, head(&mut tx, tenant)?)?;
        tx.execute(
            &format!(
                "INSERT INTO journal ({COLS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, \
                 $11, $12, $13, $14, $15, $16, $17)"
            ),
            &[
                &row.seq,
                &row.at,
                &row.tenant_id,
                &row.actor,
                &row.apply_id,
                &row.plan_id,
                &row.plan_digest,
                &row.step,
                &row.action,
                &row.target,
                &row.phase,
                &row.request_id,
                &row.before,
                &row.after,
                &row.result,
                &row.prev_hash,
                &row.hash,
            ],
        )
        .map_err(pg("appending to the journal"))?;
        tx.execute(
            "INSERT INTO journal_head (tenant_id, seq, hash) VALUES ($1, $2, $3)
             ON CONFLICT (tenant_id) DO UPDATE SET seq = excluded.seq, hash = excluded.hash",
            &[&tenant, &row.seq, &row.hash],
        )
        .map_err(pg("moving the journal head"))?;
        tx.commit().map_err(pg("committing a journal append"))?;
        row.into_entry()
    }

    /// The tenant's rows matching `filter` (SQL over `$2`), in chain order.
    fn rows(&self, filter: &str, arg: Option<&str>) -> Result<Vec<JournalEntry>, StoreError> {
        let failed = pg("reading the journal");
        let rows = self
            .client()?
            .query(
                &format!(
                    "SELECT {COLS} FROM journal WHERE tenant_id = $1 AND {filter} ORDER BY seq"
                ),
                &[&self.conn.tenant, &arg],
            )
            .map_err(&failed)?;
        rows.iter()
            .map(|r| row_of(r).map_err(&failed)?.into_entry())
            .collect()
    }

    pub(crate) fn entries(&self, apply_id: Option<&str>) -> Result<Vec<JournalEntry>, StoreError> {
        self.rows("($2::text IS NULL OR apply_id = $2)", apply_id)
    }

    pub(crate) fn entries_for_plan(
        &self,
        plan_digest: &str,
    ) -> Result<Vec<JournalEntry>, StoreError> {
        self.rows("plan_digest = $2::text", Some(plan_digest))
    }

    pub(crate) fn verify(&self) -> Result<ChainReport, StoreError> {
        let mut client = self.client()?;
        // One snapshot for the rows and the head, so an append committing meanwhile is all in
        // or all out.
        let mut tx = client
            .build_transaction()
            .isolation_level(IsolationLevel::RepeatableRead)
            .read_only(true)
            .start()
            .map_err(pg("starting the journal verification"))?;
        let tenant = self.conn.tenant.as_str();
        // SQLite reads in rowid (insertion) order, so a renumbered row shows out of sequence
        // there; PostgreSQL keeps no insertion order to read, so the rows come in seq order (the
        // key) and a moved, renumbered or reordered entry is found by its hash (which covers
        // its seq) and its link to the entry before.
        let failed = pg("reading the journal to verify");
        let rows = tx
            .query(
                &format!("SELECT {COLS} FROM journal WHERE tenant_id = $1 ORDER BY seq"),
                &[&tenant],
            )
            .map_err(&failed)?
            .iter()
            .map(row_of)
            .collect::<Result<Vec<_>, _>>()
            .map_err(&failed)?;
        let head = head(&mut tx, tenant)?;
        tx.commit().map_err(pg("ending the journal verification"))?;
        Ok(verify_rows(&rows, head))
    }
}
