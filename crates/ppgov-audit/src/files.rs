//! File sources: a Purview audit export CSV (the `AuditData` column holds each record's JSON),
//! JSON lines, a JSON array of records, a Graph `auditLogRecord` page (`value[].auditData`),
//! standard input. Each record comes with its position for error reports.

use crate::AuditError;
use serde_json::Value;
use serde_json::value::RawValue;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

/// File formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Purview CSV export.
    Csv,
    /// One JSON record per line.
    JsonLines,
    /// A JSON array of records (or `{"value": [...]}`).
    JsonArray,
}

/// One record read from a file: its position and its raw JSON, or why it could not be read.
pub type Item = (String, Result<String, String>);

/// Guesses the format from the extension, else from the first non-blank byte.
pub fn detect_format(path: &Path, head: &[u8]) -> Format {
    match path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        Some("csv") => return Format::Csv,
        Some("jsonl" | "ndjson") => return Format::JsonLines,
        _ => {}
    }
    let first = head
        .iter()
        .find(|b| !b.is_ascii_whitespace() && **b != 0xEF && **b != 0xBB && **b != 0xBF);
    match first {
        Some(b'[') => Format::JsonArray,
        Some(b'{') => {
            // `{"value": [` is a Graph page; a record per line otherwise.
            let text = String::from_utf8_lossy(head);
            let t = text.trim_start_matches('\u{feff}').trim_start();
            if t.starts_with("{\"value\"") || t.starts_with("{\"@odata") {
                Format::JsonArray
            } else {
                Format::JsonLines
            }
        }
        _ => Format::Csv,
    }
}

/// The raw UAL record of a Graph `auditLogRecord` (`auditData`), or the record itself.
fn unwrap_graph(raw: &str) -> String {
    if raw.contains("\"auditData\"")
        && let Ok(Value::Object(o)) = serde_json::from_str::<Value>(raw)
        && let Some(a) = o.get("auditData")
        && a.is_object()
    {
        return a.to_string();
    }
    raw.to_string()
}

/// Reads every record of `input` (named `name` in positions) in `format`, calling `f` for each.
pub fn read(
    name: &str,
    input: Box<dyn Read>,
    format: Format,
    f: &mut dyn FnMut(Item) -> Result<(), AuditError>,
) -> Result<(), AuditError> {
    let path = PathBuf::from(name);
    let io = |source| AuditError::Io {
        path: path.clone(),
        source,
    };
    match format {
        Format::JsonLines => {
            let mut r = BufReader::new(input);
            let mut line = Vec::new();
            let mut n = 0usize;
            loop {
                line.clear();
                if r.read_until(b'\n', &mut line).map_err(io)? == 0 {
                    break;
                }
                n += 1;
                let pos = format!("{name}:{n}");
                match std::str::from_utf8(&line) {
                    Ok(t) => {
                        let t = t.trim().trim_start_matches('\u{feff}');
                        if !t.is_empty() {
                            f((pos, Ok(unwrap_graph(t))))?;
                        }
                    }
                    Err(_) => f((pos, Err("line is not UTF-8".into())))?,
                }
            }
        }
        Format::JsonArray => {
            let mut text = String::new();
            BufReader::new(input)
                .read_to_string(&mut text)
                .map_err(io)?;
            let text = text.trim_start_matches('\u{feff}');
            let items: Vec<Box<RawValue>> = match serde_json::from_str::<Vec<Box<RawValue>>>(text) {
                Ok(v) => v,
                Err(e) => {
                    #[derive(serde::Deserialize)]
                    struct Page {
                        value: Vec<Box<RawValue>>,
                    }
                    serde_json::from_str::<Page>(text)
                        .map(|p| p.value)
                        .map_err(|_| AuditError::BadFile {
                            path: path.clone(),
                            message: format!("not a JSON array of records: {e}"),
                        })?
                }
            };
            for (i, raw) in items.iter().enumerate() {
                f((format!("{name}[{i}]"), Ok(unwrap_graph(raw.get()))))?;
            }
        }
        Format::Csv => {
            let mut rdr = csv::ReaderBuilder::new().flexible(true).from_reader(input);
            let headers = rdr.headers().map_err(|e| AuditError::BadFile {
                path: path.clone(),
                message: format!("cannot read the CSV header: {e}"),
            })?;
            let col = headers
                .iter()
                .position(|h| {
                    h.trim()
                        .trim_start_matches('\u{feff}')
                        .eq_ignore_ascii_case("AuditData")
                })
                .ok_or_else(|| AuditError::BadFile {
                    path: path.clone(),
                    message: "the CSV has no AuditData column".into(),
                })?;
            let mut rec = csv::StringRecord::new();
            let mut row = 0usize;
            loop {
                let line = rdr.position().line();
                match rdr.read_record(&mut rec) {
                    Ok(false) => break,
                    Ok(true) => {
                        row += 1;
                        let pos = format!("{name}:{line} (row {row})");
                        match rec.get(col) {
                            Some(a) if !a.trim().is_empty() => f((pos, Ok(a.to_string())))?,
                            _ => f((pos, Err("the AuditData cell is empty".into())))?,
                        }
                    }
                    Err(e) => {
                        row += 1;
                        let pos = format!("{name}:{line} (row {row})");
                        f((pos, Err(format!("bad CSV row: {e}"))))?;
                        if e.is_io_error() {
                            break;
                        }
                    }
                }
            }
        }
    }
    Ok(())
}

/// Opens a file (or `-` for standard input) and reads it with the format given or guessed.
pub fn read_path(
    path: &Path,
    format: Option<Format>,
    f: &mut dyn FnMut(Item) -> Result<(), AuditError>,
) -> Result<(), AuditError> {
    let io = |source| AuditError::Io {
        path: path.to_path_buf(),
        source,
    };
    let name = path.display().to_string();
    let mut input: Box<dyn Read> = if name == "-" {
        Box::new(std::io::stdin())
    } else {
        Box::new(std::fs::File::open(path).map_err(io)?)
    };
    // Peek at the start to guess the format, then read it all through one reader.
    let mut head = vec![0u8; 512];
    let mut got = 0;
    while got < head.len() {
        let n = input.read(&mut head[got..]).map_err(io)?;
        if n == 0 {
            break;
        }
        got += n;
    }
    head.truncate(got);
    let format = format.unwrap_or_else(|| detect_format(path, &head));
    let chained: Box<dyn Read> = Box::new(std::io::Cursor::new(head).chain(input));
    read(&name, chained, format, f)
}
