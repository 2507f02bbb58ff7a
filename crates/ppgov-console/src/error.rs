//! What can go wrong in the console.

/// A console error; every message says what failed and, where it can, what to do.
#[derive(Debug, thiserror::Error)]
pub enum ConsoleError {
    /// The console cannot be set up (configuration, discovery, keys).
    #[error("console sign-in set-up: {0}")]
    SignInSetup(String),
    /// A sign-in failed (the provider refused, or its answer did not verify).
    #[error("sign-in failed: {0}")]
    SignIn(String),
    /// The shared sessions cannot be kept (the PostgreSQL database of `[store] url`).
    #[error("console sessions: {0}")]
    Sessions(String),
    /// A page could not be rendered.
    #[error("page {page} could not be rendered: {message}")]
    Render {
        /// The template.
        page: String,
        /// Why.
        message: String,
    },
}
