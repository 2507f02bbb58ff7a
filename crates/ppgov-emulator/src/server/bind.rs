//! Where the emulator may listen. It publishes well-known credentials (its ready line prints
//! them), so it stays a lab tool: loopback only, unless the operator says otherwise.

use std::net::SocketAddr;

/// `Ok` for a loopback address, or any address when `allow_remote`; otherwise the refusal,
/// saying how to proceed.
pub fn check_listen_addr(addr: SocketAddr, allow_remote: bool) -> Result<(), String> {
    if addr.ip().is_loopback() || allow_remote {
        return Ok(());
    }
    Err(format!(
        "refusing to listen on {addr}: the emulator hands out well-known credentials to anyone \
         who can reach it; listen on 127.0.0.1 (or [::1]), or pass --allow-remote if you really \
         mean to expose it"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_loopback_unless_allowed() {
        let a = |s: &str| s.parse::<SocketAddr>().unwrap();
        assert!(check_listen_addr(a("127.0.0.1:0"), false).is_ok());
        assert!(check_listen_addr(a("127.8.9.10:80"), false).is_ok());
        assert!(check_listen_addr(a("[::1]:0"), false).is_ok());
        for remote in [
            "0.0.0.0:0",
            "[::]:0",
            "192.168.1.5:8080",
            "[::ffff:10.0.0.1]:1",
        ] {
            let e = check_listen_addr(a(remote), false).unwrap_err();
            assert!(e.contains("--allow-remote"), "{remote}: {e}");
            assert!(check_listen_addr(a(remote), true).is_ok());
        }
    }
}
