//! Terminal tables through `comfy-table`: one look for every table ppgov prints, fitted to a
//! width when the caller knows the terminal's (renderers never ask the terminal themselves).

use crate::table::one_line;
use comfy_table::{ContentArrangement, LineStyle, Table, TableStyle};

/// A header, a rule under it, then one line per row; no other lines, so a table stays easy to
/// read in a terminal, a log and `grep`.
const STYLE: TableStyle =
    TableStyle::new().header_separator(LineStyle::none().fill('-').junction(' '));

/// Renders a header and rows. With `width`, long cells wrap so the table fits it; without, every
/// cell is printed in full on one line (pipes, files, snapshots). Cells are made one line of plain
/// text first, so data cannot rewrite the terminal.
pub fn grid(header: &[&str], rows: &[Vec<String>], width: Option<u16>) -> String {
    let mut t = Table::new();
    t.load_style(STYLE);
    t.force_no_tty();
    match width {
        Some(w) => {
            t.set_content_arrangement(ContentArrangement::Dynamic);
            t.set_width(w);
        }
        None => {
            t.set_content_arrangement(ContentArrangement::Disabled);
        }
    }
    t.set_header(header.iter().map(|h| h.to_ascii_uppercase()));
    for r in rows {
        t.add_row(r.iter().map(|c| one_line(c)));
    }
    let mut out = String::new();
    // Every line starts with the first column's left padding: drop it, and trailing blanks.
    for line in t.to_string().lines() {
        out.push_str(line.strip_prefix(' ').unwrap_or(line).trim_end());
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_width_makes_every_line_fit_and_none_keeps_cells_whole() {
        let long = "word ".repeat(40);
        let rows = vec![vec!["a".to_string(), long.trim().to_string()]];
        let fitted = grid(&["id", "message"], &rows, Some(60));
        for line in fitted.lines() {
            assert!(line.chars().count() <= 60, "{line:?} is wider than 60");
        }
        let whole = grid(&["id", "message"], &rows, None);
        assert!(whole.lines().any(|l| l.contains(long.trim())), "{whole}");
    }

    #[test]
    fn control_characters_never_reach_the_terminal() {
        let rows = vec![vec!["x\u{1b}[31mred".to_string()]];
        let out = grid(&["name"], &rows, None);
        assert!(!out.contains('\u{1b}'), "{out:?}");
    }
}
