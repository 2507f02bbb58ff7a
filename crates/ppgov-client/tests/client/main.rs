//! Integration tests of ppgov-client over real HTTP on 127.0.0.1: scripted axum servers for the
//! edge cases, the emulator for whole listings.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

mod emulator;
mod families;
mod hardening;
mod lifecycle;
mod paging;
mod retry;
