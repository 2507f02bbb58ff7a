//! ppgov.toml configuration: tenant, auth, endpoints, posture; validation before any network call
