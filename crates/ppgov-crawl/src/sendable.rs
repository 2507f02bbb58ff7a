//! Futures built inside stream closures (`map(|x| async move { .. })`) borrow the crawl's
//! context; spawned through a generic task (`ppgov serve`'s workers), the compiler cannot prove
//! such futures `Send` for every lifetime ("implementation of `Send` is not general enough").
//! Boxing each one as `Send` where its lifetimes are concrete proves it once, here.

use std::future::Future;
use std::pin::Pin;

/// A boxed future, `Send`.
pub(crate) type SendFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Boxes `f` as a `Send` future.
pub(crate) fn sendable<'a, T>(f: impl Future<Output = T> + Send + 'a) -> SendFuture<'a, T> {
    Box::pin(f)
}
