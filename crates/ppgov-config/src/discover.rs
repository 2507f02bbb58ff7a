//! Where the configuration comes from, decided in one place for every command: the file named by
//! `--config`, else by `PPGOV_CONFIG`, else `./ppgov.toml` when it exists, else none; then the
//! environment over the file and the flags over both (see [`crate::validate`]).

use crate::config::{CONFIG_ENV, ConfigSources, Flags};
use crate::error::{ConfigError, ConfigErrors, Location};
use crate::file;
use crate::notify::NotifyConfig;
use crate::posture::PostureConfig;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The file read when neither `--config` nor `PPGOV_CONFIG` names one (in the working directory).
pub const DEFAULT_FILE: &str = "ppgov.toml";

/// The configuration file a command reads: `explicit` (`--config`), else `PPGOV_CONFIG` from
/// `env`, else `ppgov.toml` in `cwd` when it exists, else none.
pub fn config_file(
    explicit: Option<&Path>,
    env: &BTreeMap<String, String>,
    cwd: &Path,
) -> Option<PathBuf> {
    if let Some(p) = explicit {
        return Some(p.to_path_buf());
    }
    if let Some(p) = env.get(CONFIG_ENV).filter(|s| !s.is_empty()) {
        return Some(PathBuf::from(p));
    }
    let default = cwd.join(DEFAULT_FILE);
    default.is_file().then_some(default)
}

impl ConfigSources {
    /// The sources of a command run in this process: the discovered file (see [`config_file`]),
    /// the process environment and the command-line flags.
    pub fn discover(explicit: Option<PathBuf>, flags: Flags) -> ConfigSources {
        let env: BTreeMap<String, String> = std::env::vars().collect();
        let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."));
        ConfigSources::discover_in(explicit, env, &cwd, flags)
    }

    /// [`ConfigSources::discover`] with the environment and working directory given (tests).
    pub fn discover_in(
        explicit: Option<PathBuf>,
        env: BTreeMap<String, String>,
        cwd: &Path,
        flags: Flags,
    ) -> ConfigSources {
        let file = config_file(explicit.as_deref(), &env, cwd);
        ConfigSources { file, env, flags }
    }
}

/// What a command that judges a snapshot file needs and nothing more: the `[posture]` of the
/// configuration file when there is one (defaults when there is none). No sign-in settings are
/// required; problems in the file's syntax or its `[posture]` are reported with their positions,
/// exactly as `config validate` reports them.
pub fn posture(sources: &ConfigSources) -> Result<PostureConfig, ConfigErrors> {
    let Some(path) = sources.file.as_deref() else {
        return Ok(PostureConfig::default());
    };
    let mut errs = Vec::new();
    let layer = file::read(path, &mut errs);
    errs.retain(|e| e.key == "file" || e.key == "syntax" || e.key.starts_with("posture"));
    let posture = match layer.posture.map(|p| p.try_into::<PostureConfig>()) {
        None => PostureConfig::default(),
        Some(Ok(p)) => p,
        Some(Err(e)) => {
            if errs.is_empty() {
                errs.push(
                    ConfigError::new(
                        Location::FileAsWhole(path.to_path_buf()),
                        "posture",
                        e.message().to_string(),
                    )
                    .fix("correct the [posture] section"),
                );
            }
            PostureConfig::default()
        }
    };
    if errs.is_empty() {
        Ok(posture)
    } else {
        Err(ConfigErrors(errs))
    }
}

/// What `ppgov notify` needs and nothing more: the `[notify]` section of the configuration file
/// (defaults, no sinks, when there is no file or no section), checked like `config validate`
/// checks it, without requiring sign-in settings.
pub fn notify(sources: &ConfigSources) -> Result<NotifyConfig, ConfigErrors> {
    let Some(path) = sources.file.as_deref() else {
        return Ok(NotifyConfig::default());
    };
    let mut errs = Vec::new();
    let layer = file::read(path, &mut errs);
    errs.retain(|e| e.key == "file" || e.key == "syntax" || e.key.starts_with("notify"));
    let notify = match layer.notify.map(|p| p.try_into::<NotifyConfig>()) {
        None => NotifyConfig::default(),
        Some(Ok(n)) => n.relative_to(Some(path)),
        Some(Err(e)) => {
            if errs.is_empty() {
                errs.push(
                    ConfigError::new(
                        Location::FileAsWhole(path.to_path_buf()),
                        "notify",
                        e.message().to_string(),
                    )
                    .fix("correct the [notify] section"),
                );
            }
            NotifyConfig::default()
        }
    };
    if errs.is_empty() {
        Ok(notify)
    } else {
        Err(ConfigErrors(errs))
    }
}

impl Flags {
    /// Flags from `KEY=VALUE` assignments (`--set`); an assignment without `=` or with an empty
    /// key is refused, naming it. Unknown keys are reported by [`crate::validate`].
    pub fn from_assignments(assignments: &[String]) -> Result<Flags, String> {
        let mut flags = Flags::default();
        for a in assignments {
            match a.split_once('=') {
                Some((k, v)) if !k.trim().is_empty() => {
                    flags.values.insert(k.trim().to_string(), v.to_string());
                }
                _ => {
                    return Err(format!(
                        "`{a}`: expected KEY=VALUE, e.g. --set auth.method=device_code"
                    ));
                }
            }
        }
        Ok(flags)
    }

    /// These flags with more values added (later ones win).
    pub fn with(mut self, pairs: impl IntoIterator<Item = (String, String)>) -> Flags {
        self.values.extend(pairs);
        self
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn flag_beats_environment_beats_working_directory_file() {
        let dir = tempfile::tempdir().unwrap();
        let cwd = dir.path();
        assert_eq!(config_file(None, &env(&[]), cwd), None, "no file anywhere");
        std::fs::write(cwd.join(DEFAULT_FILE), "").unwrap();
        assert_eq!(
            config_file(None, &env(&[]), cwd),
            Some(cwd.join(DEFAULT_FILE))
        );
        let named = env(&[(CONFIG_ENV, "/etc/ppgov/a.toml")]);
        assert_eq!(
            config_file(None, &named, cwd),
            Some(PathBuf::from("/etc/ppgov/a.toml"))
        );
        assert_eq!(
            config_file(Some(Path::new("b.toml")), &named, cwd),
            Some(PathBuf::from("b.toml"))
        );
        // An empty PPGOV_CONFIG names nothing.
        assert_eq!(
            config_file(None, &env(&[(CONFIG_ENV, "")]), cwd),
            Some(cwd.join(DEFAULT_FILE))
        );
    }

    #[test]
    fn posture_reads_the_discovered_file_without_sign_in_settings() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join(DEFAULT_FILE),
            "[[posture.suppressions]]\nrule_id = \"PPG-APP-001\"\nresource = \"*\"\njustification = \"accepted\"\n",
        )
        .unwrap();
        let sources = ConfigSources::discover_in(None, env(&[]), dir.path(), Flags::default());
        let p = posture(&sources).unwrap();
        assert_eq!(p.suppressions.len(), 1);
        assert_eq!(p.suppressions[0].rule_id, "PPG-APP-001");
        // No file: defaults.
        let empty = tempfile::tempdir().unwrap();
        let none = ConfigSources::discover_in(None, env(&[]), empty.path(), Flags::default());
        assert_eq!(posture(&none).unwrap(), PostureConfig::default());
        // A broken [posture] is an error with its position, not silently the defaults.
        std::fs::write(dir.path().join(DEFAULT_FILE), "[posture]\nnot_a_key = 1\n").unwrap();
        let errs = posture(&sources).unwrap_err();
        assert!(errs.to_string().contains("not_a_key"), "{errs}");
    }

    #[test]
    fn assignments_need_a_key_and_an_equals_sign() {
        let f =
            Flags::from_assignments(&["auth.method=device_code".into(), "a.b=x=y".into()]).unwrap();
        assert_eq!(f.values["auth.method"], "device_code");
        assert_eq!(f.values["a.b"], "x=y");
        assert!(Flags::from_assignments(&["novalue".into()]).is_err());
        assert!(Flags::from_assignments(&["=x".into()]).is_err());
    }
}
