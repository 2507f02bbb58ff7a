//! Validation problems: every one is collected with where the value came from, so a user fixes
//! the whole configuration in one go instead of one error per run.

use std::fmt;
use std::path::PathBuf;

/// Where a configuration value (or the lack of one) comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    /// A position in the configuration file (1-based line and column).
    File {
        /// The file as named by the user.
        path: PathBuf,
        /// 1-based line.
        line: usize,
        /// 1-based column (characters).
        column: usize,
    },
    /// The whole configuration file (it could not be read).
    FileAsWhole(PathBuf),
    /// An environment variable.
    Env(String),
    /// A command-line flag (key path).
    Flag(String),
    /// No source set the value (a required value is missing).
    Unset,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Location::File { path, line, column } => {
                write!(f, "{}:{line}:{column}", path.display())
            }
            Location::FileAsWhole(path) => write!(f, "{}", path.display()),
            Location::Env(var) => write!(f, "environment variable {var}"),
            Location::Flag(key) => write!(f, "flag {key}"),
            Location::Unset => f.write_str("configuration"),
        }
    }
}

/// One problem with the configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// Where the offending value is (or `Unset` for a missing one).
    pub location: Location,
    /// Dotted key, e.g. `auth.client_secret`.
    pub key: String,
    /// What is wrong (never contains a secret value).
    pub message: String,
    /// How to fix it.
    pub fix: Option<String>,
}

impl ConfigError {
    pub(crate) fn new(
        location: Location,
        key: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        ConfigError {
            location,
            key: key.into(),
            message: message.into(),
            fix: None,
        }
    }

    pub(crate) fn fix(mut self, fix: impl Into<String>) -> Self {
        self.fix = Some(fix.into());
        self
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}: {}", self.location, self.key, self.message)?;
        if let Some(fix) = &self.fix {
            write!(f, " (fix: {fix})")?;
        }
        Ok(())
    }
}

/// Every problem found in one validation pass, in a stable order (by source, then position).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ConfigErrors(pub Vec<ConfigError>);

impl ConfigErrors {
    /// The problems.
    pub fn errors(&self) -> &[ConfigError] {
        &self.0
    }

    /// Whether any problem concerns this dotted key.
    pub fn has_key(&self, key: &str) -> bool {
        self.0.iter().any(|e| e.key == key)
    }
}

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}
