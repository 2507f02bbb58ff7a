//! One tenant's connection as the event store and the records hold it: scoped to the tenant,
//! taken from the pool (`pool.rs`) and given back when the store is dropped, with the embedded
//! store refresh marks go to when there is one.
//!
//! The stores' traits read through `&self` while the client needs `&mut`, so the client sits in
//! a `RefCell`: a store is `Send`, not `Sync`, and a call made while another holds the client is
//! refused with an error, never a panic.

use std::cell::{RefCell, RefMut};

use postgres::Client;
use ppgov_store::StoreError;

use crate::events::off_runtime;

pub(crate) struct TenantConn {
    /// `None` only while the store is dropped (see `Drop`).
    pub(crate) client: RefCell<Option<Client>>,
    pub(crate) tenant: String,
    /// Where refresh marks go instead of PostgreSQL: the store the crawler reads them from.
    pub(crate) marks: Option<ppgov_store::Store>,
    /// The url connected to: the connection goes back to the pool under it and the tenant.
    url: String,
    /// The store's name in messages ("event store").
    name: &'static str,
}

impl TenantConn {
    /// A connection to `url` scoped to `tenant` (migrated and scoped as `crate::open` does, or
    /// one kept in the pool); the role must be subject to row-level security.
    pub(crate) fn connect(
        url: &str,
        tenant: &str,
        name: &'static str,
    ) -> Result<TenantConn, StoreError> {
        let client = off_runtime(|| crate::pool::checkout(url, Some(tenant)))?;
        Ok(TenantConn {
            client: RefCell::new(Some(client)),
            tenant: tenant.to_owned(),
            marks: None,
            url: url.to_owned(),
            name,
        })
    }

    /// True once the client has seen the connection close; every call then fails.
    pub(crate) fn is_closed(&self) -> bool {
        self.client
            .try_borrow()
            .is_ok_and(|c| c.as_ref().is_none_or(Client::is_closed))
    }

    /// The client for a read through `&self`: refused while another call holds it.
    pub(crate) fn client(&self) -> Result<RefMut<'_, Client>, StoreError> {
        let held = self.client.try_borrow_mut().map_err(|_| {
            StoreError::PgRefused(format!(
                "the postgresql {} is already in a call on this thread; call it after that call \
                 returns",
                self.name
            ))
        })?;
        RefMut::filter_map(held, Option::as_mut).map_err(|_| self.closed())
    }

    /// The client and the tenant for a write through `&mut self`.
    pub(crate) fn live(&mut self) -> Result<(&mut Client, &str), StoreError> {
        let closed = self.closed();
        let client = self.client.get_mut().as_mut().ok_or(closed)?;
        Ok((client, &self.tenant))
    }

    fn closed(&self) -> StoreError {
        StoreError::PgRefused(format!("the postgresql {} is closed", self.name))
    }
}

/// The connection goes back to the pool for the next store of this url and tenant; closing one
/// blocks on the client's runtime, so this runs off the async runtime's worker, as every call
/// does, and a store may be dropped in async code.
impl Drop for TenantConn {
    fn drop(&mut self) {
        if let Some(client) = self.client.get_mut().take() {
            let (url, tenant) = (&self.url, &self.tenant);
            off_runtime(|| crate::pool::give_back(url, Some(tenant), client));
        }
    }
}
