//! Percentiles and the report's rows (the printed table, BENCHMARKS.md and the raw CSV).

use std::fmt::Write as _;
use std::time::Duration;

/// The q-th percentile (0..=100) by nearest rank; 0 for no samples.
pub fn percentile(samples: &[f64], q: f64) -> f64 {
    if samples.is_empty() {
        return 0.0;
    }
    let mut s = samples.to_vec();
    s.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let rank = ((q / 100.0) * s.len() as f64).ceil() as usize;
    s[rank.clamp(1, s.len()) - 1]
}

pub fn median(samples: &[f64]) -> f64 {
    if samples.is_empty() {
        return 0.0;
    }
    let mut s = samples.to_vec();
    s.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let n = s.len();
    if n % 2 == 1 {
        s[n / 2]
    } else {
        (s[n / 2 - 1] + s[n / 2]) / 2.0
    }
}

pub fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// One line of a section's table.
pub struct Row {
    pub cells: Vec<String>,
    /// PASS / MISS / a note, shown in the last column when the section has a goal.
    pub verdict: Option<String>,
}

pub struct Section {
    pub title: String,
    pub intro: String,
    pub header: Vec<String>,
    pub rows: Vec<Row>,
    pub notes: Vec<String>,
}

impl Section {
    pub fn new(title: &str, intro: &str, header: &[&str]) -> Section {
        Section {
            title: title.to_owned(),
            intro: intro.to_owned(),
            header: header.iter().map(|h| h.to_string()).collect(),
            rows: Vec::new(),
            notes: Vec::new(),
        }
    }

    pub fn row(&mut self, cells: Vec<String>, verdict: Option<String>) {
        self.rows.push(Row { cells, verdict });
    }

    fn has_verdicts(&self) -> bool {
        self.rows.iter().any(|r| r.verdict.is_some())
    }

    fn all_cells(&self) -> (Vec<String>, Vec<Vec<String>>) {
        let mut header = self.header.clone();
        let verdicts = self.has_verdicts();
        if verdicts {
            header.push("goal".into());
        }
        let rows = self
            .rows
            .iter()
            .map(|r| {
                let mut c = r.cells.clone();
                if verdicts {
                    c.push(r.verdict.clone().unwrap_or_default());
                }
                c
            })
            .collect();
        (header, rows)
    }

    /// Aligned plain text for the terminal.
    pub fn to_text(&self) -> String {
        let (header, rows) = self.all_cells();
        let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
        for r in &rows {
            for (i, c) in r.iter().enumerate() {
                if i < widths.len() {
                    widths[i] = widths[i].max(c.chars().count());
                }
            }
        }
        let line = |cells: &[String]| {
            let mut out = String::new();
            for (i, c) in cells.iter().enumerate() {
                let pad = widths[i].saturating_sub(c.chars().count());
                out.push_str(c);
                out.push_str(&" ".repeat(pad + 2));
            }
            out.trim_end().to_owned()
        };
        let mut out = format!("\n== {} ==\n", self.title);
        out.push_str(&line(&header));
        out.push('\n');
        out.push_str(&line(
            &widths.iter().map(|w| "-".repeat(*w)).collect::<Vec<_>>(),
        ));
        out.push('\n');
        for r in &rows {
            out.push_str(&line(r));
            out.push('\n');
        }
        for n in &self.notes {
            let _ = writeln!(out, "  * {n}");
        }
        out
    }

    pub fn to_markdown(&self) -> String {
        let (header, rows) = self.all_cells();
        let mut out = format!("## {}\n\n", self.title);
        if !self.intro.is_empty() {
            out.push_str(&self.intro);
            out.push_str("\n\n");
        }
        let _ = writeln!(out, "| {} |", header.join(" | "));
        let _ = writeln!(out, "|{}", "---|".repeat(header.len()));
        for r in &rows {
            let _ = writeln!(out, "| {} |", r.join(" | ").replace('\n', " "));
        }
        if !self.notes.is_empty() {
            out.push('\n');
            for n in &self.notes {
                let _ = writeln!(out, "- {n}");
            }
        }
        out.push('\n');
        out
    }
}

/// Raw figures: one sample per line.
#[derive(Default)]
pub struct Raw {
    lines: Vec<String>,
}

impl Raw {
    pub fn push(&mut self, section: &str, subject: &str, metric: &str, index: usize, value: f64) {
        self.lines.push(format!(
            "{section},{},{metric},{index},{value:.4}",
            subject.replace(',', ";")
        ));
    }

    pub fn to_csv(&self) -> String {
        let mut out = String::from("section,subject,metric,sample,value\n");
        for l in &self.lines {
            out.push_str(l);
            out.push('\n');
        }
        out
    }
}

pub fn pass(ok: bool) -> String {
    if ok { "PASS" } else { "MISS" }.to_owned()
}

/// An invariant rather than a goal: broken, it is a FAIL (still without failing the run).
pub fn invariant(ok: bool) -> String {
    if ok { "PASS" } else { "FAIL" }.to_owned()
}

pub fn f1(v: f64) -> String {
    format!("{v:.1}")
}

pub fn f2(v: f64) -> String {
    format!("{v:.2}")
}
