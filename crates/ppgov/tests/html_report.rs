//! The HTML report in headless Chromium (Debian's `chromium`; `scripts/test` installs it): it
//! renders, its filters work, and the page logs no console errors.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::process::Command;

fn chromium() -> PathBuf {
    for c in [
        "/usr/bin/chromium",
        "/usr/bin/chromium-browser",
        "/usr/bin/google-chrome",
    ] {
        if Path::new(c).exists() {
            return PathBuf::from(c);
        }
    }
    panic!(
        "headless Chromium is needed for the HTML report test: run scripts/test (installs Debian's chromium) or `apt-get install chromium`"
    );
}

/// Loads `page` headless, lets its scripts run, returns (DOM, stderr with console messages).
fn run_page(page: &Path, profile: &Path) -> (String, String) {
    let out = Command::new(chromium())
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--allow-file-access-from-files",
            "--enable-logging=stderr",
            "--v=0",
            "--virtual-time-budget=5000",
            "--dump-dom",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg(format!("file://{}", page.display()))
        .output()
        .unwrap();
    (
        String::from_utf8_lossy(&out.stdout).to_string(),
        String::from_utf8_lossy(&out.stderr).to_string(),
    )
}

const HARNESS: &str = r#"<!doctype html><html><body>
<iframe id="r" src="report.html" width="1200" height="800"></iframe>
<pre id="out">pending</pre>
<script>
document.getElementById('r').addEventListener('load', function () {
  var d = this.contentDocument, out = [];
  function rows() { return Array.prototype.slice.call(d.querySelectorAll('#findings tbody tr')); }
  function visible() { return rows().filter(function (tr) { return !tr.hidden; }).length; }
  function set(id, v) { var e = d.getElementById(id); e.value = v; e.dispatchEvent(new Event(id === 'f-q' ? 'input' : 'change')); }
  out.push('total=' + visible());
  set('f-sev', 'critical'); out.push('critical=' + visible()); out.push('count_text=' + d.getElementById('f-count').textContent); set('f-sev', '');
  var rule = d.getElementById('f-rule').options[1].value; set('f-rule', rule); out.push('rule=' + rule + '=' + visible()); set('f-rule', '');
  var env = d.getElementById('f-env').options[1].value; set('f-env', env); out.push('env=' + env + '=' + visible()); set('f-env', '');
  set('f-q', 'no-such-text-anywhere'); out.push('search_none=' + visible()); set('f-q', '');
  out.push('reset=' + visible());
  out.push('svg=' + d.querySelectorAll('svg').length);
  document.getElementById('out').textContent = out.join('\n');
});
</script></body></html>"#;

fn value<'a>(dom: &'a str, key: &str) -> &'a str {
    let start = dom
        .find(&format!("{key}="))
        .unwrap_or_else(|| panic!("harness output lacks {key}: {dom}"))
        + key.len()
        + 1;
    dom[start..]
        .lines()
        .next()
        .unwrap()
        .split('<')
        .next()
        .unwrap()
        .trim()
}

#[test]
fn the_html_report_renders_filters_and_logs_no_errors_in_chromium() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("demo");
    let o = Command::new(env!("CARGO_BIN_EXE_ppgov"))
        .args(["--quiet", "demo", "--seed", "2", "--out"])
        .arg(&out)
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "demo: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    let findings: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("findings.json")).unwrap()).unwrap();
    let findings = findings["findings"].as_array().unwrap().clone();
    assert!(findings.len() > 10);
    std::fs::write(out.join("harness.html"), HARNESS).unwrap();

    let (dom, log) = run_page(&out.join("harness.html"), &dir.path().join("profile"));
    let count = |f: &dyn Fn(&serde_json::Value) -> bool| findings.iter().filter(|x| f(x)).count();
    assert_eq!(
        value(&dom, "total"),
        findings.len().to_string(),
        "every finding is a row"
    );
    let critical = count(&|x| x["severity"] == "critical");
    assert_eq!(
        value(&dom, "critical"),
        critical.to_string(),
        "severity filter"
    );
    assert_eq!(
        value(&dom, "count_text"),
        format!("{critical} of {} findings shown", findings.len())
    );
    let (rule, shown) = value(&dom, "rule").rsplit_once('=').unwrap();
    assert_eq!(
        shown,
        count(&|x| x["rule_id"] == rule).to_string(),
        "rule filter for {rule}"
    );
    let (env, shown) = value(&dom, "env").rsplit_once('=').unwrap();
    assert_eq!(
        shown,
        count(&|x| x["resource"]["environment_id"].as_str().unwrap_or("-") == env).to_string(),
        "environment filter for {env}"
    );
    assert_eq!(value(&dom, "search_none"), "0", "search filter");
    assert_eq!(
        value(&dom, "reset"),
        findings.len().to_string(),
        "clearing filters shows everything"
    );
    assert!(
        value(&dom, "svg").parse::<usize>().unwrap() >= 2,
        "charts are drawn"
    );

    let console_errors: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("CONSOLE") && (l.contains("Uncaught") || l.contains("Error")))
        .collect();
    assert!(
        console_errors.is_empty(),
        "console errors: {console_errors:#?}"
    );
}
