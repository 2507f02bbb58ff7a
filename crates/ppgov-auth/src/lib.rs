//! Microsoft Entra token acquisition: client secret, certificate, password, device code, refresh; cache and redaction
