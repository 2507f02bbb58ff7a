//! Runs `tests/support/smtp_server.py` (aiosmtpd) with a certificate made here, and reads what it
//! received.

use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{Receiver, channel};
use std::time::Duration;

pub const USER: &str = "ppgov-test";
pub const PASSWORD: &str = "s3cret-Pa55word";

/// The server process; dropping it closes its stdin, which ends it.
pub struct SmtpServer {
    child: Child,
    stdin: Option<ChildStdin>,
    lines: Receiver<String>,
    pub port: u16,
    /// CA certificate (PEM) that signed the server's certificate.
    pub ca_pem: Vec<u8>,
    dir: tempfile::TempDir,
}

/// A CA and a server certificate for 127.0.0.1 signed by it.
fn certificates(dir: &std::path::Path) -> (Vec<u8>, PathBuf, PathBuf) {
    let ca_key = rcgen::KeyPair::generate().unwrap();
    let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "ppgov test CA");
    let ca = rcgen::CertifiedIssuer::self_signed(ca_params, ca_key).unwrap();
    let key = rcgen::KeyPair::generate().unwrap();
    let params = rcgen::CertificateParams::new(vec!["127.0.0.1".to_string()]).unwrap();
    let cert = params.signed_by(&key, &ca).unwrap();
    let cert_path = dir.join("server.pem");
    let key_path = dir.join("server.key");
    std::fs::write(&cert_path, cert.pem()).unwrap();
    std::fs::write(&key_path, key.serialize_pem()).unwrap();
    (ca.pem().into_bytes(), cert_path, key_path)
}

impl SmtpServer {
    /// Starts the server and waits (bounded) for its READY line. Fails, never skips, when
    /// Python or aiosmtpd is missing.
    pub fn start() -> SmtpServer {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("mail");
        std::fs::create_dir(&out).unwrap();
        let (ca_pem, cert, key) = certificates(dir.path());
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/support/smtp_server.py");
        let mut child = Command::new("python3")
            .arg(script)
            .arg("--cert")
            .arg(&cert)
            .arg("--key")
            .arg(&key)
            .arg("--out")
            .arg(&out)
            .args(["--user", USER, "--password", PASSWORD])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| {
                panic!("cannot run python3 for the SMTP test server ({e}): install Python 3 and `pip install aiosmtpd`")
            });
        let stdout = child.stdout.take().unwrap();
        let (tx, lines) = channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let first = lines.recv_timeout(Duration::from_secs(60)).unwrap_or_else(|_| {
            let status = child.try_wait().ok().flatten();
            panic!("the SMTP test server printed no READY line (exit status {status:?}); is aiosmtpd installed? pip install aiosmtpd")
        });
        if first.starts_with("MISSING") {
            panic!(
                "{first}: the SMTP tests need it; run `pip install aiosmtpd` (scripts/test installs it)"
            );
        }
        let port = first
            .strip_prefix("READY ")
            .and_then(|p| p.trim().parse().ok())
            .unwrap_or_else(|| panic!("unexpected first line from the SMTP test server: {first}"));
        SmtpServer {
            stdin: child.stdin.take(),
            child,
            lines,
            port,
            ca_pem,
            dir,
        }
    }

    /// The messages received so far, in arrival order (each a JSON record, see the script).
    pub fn messages(&self) -> Vec<serde_json::Value> {
        let mut files: Vec<PathBuf> = std::fs::read_dir(self.dir.path().join("mail"))
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|x| x == "json"))
            .collect();
        files.sort();
        files
            .iter()
            .map(|p| serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap())
            .collect()
    }

    /// Waits (bounded) for the next stdout line from the server.
    pub fn next_line(&self) -> String {
        self.lines
            .recv_timeout(Duration::from_secs(30))
            .expect("the SMTP test server printed nothing more")
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        if let Some(mut stdin) = self.stdin.take() {
            let _ = stdin.flush();
        }
        // Closing stdin ends the server; kill covers a server that hangs.
        if self.child.try_wait().ok().flatten().is_none() {
            let _ = self.child.kill();
        }
        let _ = self.child.wait();
    }
}
