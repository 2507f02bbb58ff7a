//! DNS names: is a host a domain or one of its subdomains.

/// `host` is `domain` itself or a subdomain of it (`eu.contoso.com` for `contoso.com`), ASCII
/// case-insensitive and without allocating (detections call it for every audit event).
/// Look-alikes (`evilcontoso.com`) and an empty `domain` are not.
pub fn within(host: &str, domain: &str) -> bool {
    if domain.is_empty() {
        return false;
    }
    if host.eq_ignore_ascii_case(domain) {
        return true;
    }
    let (h, d) = (host.as_bytes(), domain.as_bytes());
    // At least one byte of label, then the dot, then the domain.
    h.len() > d.len() + 1
        && h[h.len() - d.len() - 1] == b'.'
        && h[h.len() - d.len()..].eq_ignore_ascii_case(d)
}

#[cfg(test)]
mod tests {
    use super::within;

    #[test]
    fn subdomains_count_and_lookalikes_do_not() {
        assert!(within("Contoso.com", "contoso.com"));
        assert!(within("eu.CONTOSO.com", "contoso.com"));
        assert!(!within("evilcontoso.com", "contoso.com"));
        assert!(!within(".contoso.com", "contoso.com"));
        assert!(!within("contoso.com.evil", "contoso.com"));
        assert!(!within("com", "contoso.com"));
        assert!(!within("x.contoso.com", ""));
    }
}
