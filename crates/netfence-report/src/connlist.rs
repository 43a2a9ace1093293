//! The connectivity list and its exposure section, in txt, json, csv, md and dot.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::io;
use std::sync::Arc;

use serde::Serialize;

/// Output formats of `connectivity`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// One line per pair: `src => dst : conns`.
    Txt,
    /// An array of `{"src","dst","conn"}`.
    Json,
    /// `src,dst,conn` with a header.
    Csv,
    /// A Markdown table.
    Md,
    /// A Graphviz digraph.
    Dot,
}

impl Format {
    /// Parses a format name.
    pub fn parse(s: &str) -> Option<Format> {
        match s {
            "txt" => Some(Format::Txt),
            "json" => Some(Format::Json),
            "csv" => Some(Format::Csv),
            "md" => Some(Format::Md),
            "dot" => Some(Format::Dot),
            _ => None,
        }
    }
}

/// One connection line. Names and connection strings are shared: a map of millions of lines
/// repeats a few thousand of them.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct ConnLine {
    /// Source name.
    pub src: Arc<str>,
    /// Destination name.
    pub dst: Arc<str>,
    /// Connection set, rendered.
    pub conn: Arc<str>,
    /// L7 rules requests must match (`TCP 8080: HTTP GET /api/.*`), when some apply.
    pub l7: Option<Arc<str>>,
}

impl ConnLine {
    /// A line from any string-like parts.
    pub fn new(
        src: impl Into<Arc<str>>,
        dst: impl Into<Arc<str>>,
        conn: impl Into<Arc<str>>,
    ) -> Self {
        Self {
            src: src.into(),
            dst: dst.into(),
            conn: conn.into(),
            l7: None,
        }
    }
}

/// The exposure section.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ExposureSection {
    /// Egress exposure lines (`src` is the workload).
    pub egress: Vec<ConnLine>,
    /// Ingress exposure lines (`dst` is the workload).
    pub ingress: Vec<ConnLine>,
    /// `W is not protected on Ingress|Egress` lines.
    pub unprotected: Vec<String>,
}

/// Everything `connectivity` prints.
#[derive(Debug, Clone, Default)]
pub struct ConnReport {
    /// Allowed connections.
    pub lines: Vec<ConnLine>,
    /// The exposure section, when asked for.
    pub exposure: Option<ExposureSection>,
    /// With `--focus-conn`: the connection every line is about (`TCP 8080`); lines then omit it.
    pub focus_conn: Option<String>,
    /// Every workload name, for graph outputs that show isolated nodes too.
    pub nodes: Vec<String>,
}

impl ConnReport {
    /// Sorts everything the way outputs expect.
    pub fn sort(&mut self) {
        self.lines.sort_unstable();
        self.lines.dedup();
        if let Some(e) = &mut self.exposure {
            e.egress.sort();
            e.egress.dedup();
            e.ingress
                .sort_by(|a, b| (&a.dst, &a.src, &a.conn).cmp(&(&b.dst, &b.src, &b.conn)));
            e.ingress.dedup();
            e.unprotected.sort();
            e.unprotected.dedup();
        }
    }

    /// Renders in `format` into a string.
    pub fn render(&self, format: Format) -> String {
        let mut buf = Vec::new();
        // Writing into a Vec cannot fail.
        let _ = self.write(format, &mut buf);
        String::from_utf8(buf).unwrap_or_default()
    }

    /// Renders in `format` into `w`, line by line (outputs can hold millions of lines).
    pub fn write(&self, format: Format, w: &mut dyn io::Write) -> io::Result<()> {
        match format {
            Format::Txt => self.txt(w),
            other => {
                let s = match other {
                    Format::Json => self.json(),
                    Format::Csv => self.csv(),
                    Format::Md => self.md(),
                    _ => self.dot(),
                };
                w.write_all(s.as_bytes())
            }
        }
    }

    fn txt(&self, w: &mut dyn io::Write) -> io::Result<()> {
        if let Some(fc) = &self.focus_conn {
            writeln!(w, "Permitted connections on {fc}:")?;
        }
        for l in &self.lines {
            match self.focus_conn {
                Some(_) => writeln!(w, "{} => {}", l.src, l.dst)?,
                None => match &l.l7 {
                    None => writeln!(w, "{} => {} : {}", l.src, l.dst, l.conn)?,
                    Some(l7) => writeln!(w, "{} => {} : {} ({l7})", l.src, l.dst, l.conn)?,
                },
            }
        }
        let Some(e) = &self.exposure else {
            return Ok(());
        };
        let mut out = String::new();
        if !self.lines.is_empty() || self.focus_conn.is_some() {
            out.push('\n');
        }
        match &self.focus_conn {
            Some(fc) => {
                let _ = writeln!(out, "Exposure Analysis Result On {fc}:");
            }
            None => out.push_str("Exposure Analysis Result:\n"),
        }
        let width = e
            .egress
            .iter()
            .map(|l| l.src.len())
            .chain(e.ingress.iter().map(|l| l.dst.len()))
            .max()
            .unwrap_or(0);
        let exp_line = |w: &str, arrow: &str, other: &str, conn: &str| match self.focus_conn {
            Some(_) => format!("{w:<width$} \t{arrow} \t{other}"),
            None => format!("{w:<width$} \t{arrow} \t{other} : {conn}"),
        };
        if !e.egress.is_empty() {
            out.push_str("Egress Exposure:\n");
            for l in &e.egress {
                out.push_str(&exp_line(&l.src, "=>", &l.dst, &l.conn));
                out.push('\n');
            }
        }
        if !e.ingress.is_empty() {
            if !e.egress.is_empty() {
                out.push('\n');
            }
            out.push_str("Ingress Exposure:\n");
            for l in &e.ingress {
                out.push_str(&exp_line(&l.dst, "<=", &l.src, &l.conn));
                out.push('\n');
            }
        }
        if !e.unprotected.is_empty() {
            out.push_str("\nWorkloads not protected by network policies:\n");
            for u in &e.unprotected {
                out.push_str(u);
                out.push('\n');
            }
        }
        w.write_all(out.as_bytes())
    }

    /// The columns of one table row: `src, dst[, conn]`, or `dst, src[, conn]` for ingress
    /// exposure; the connection is left out under `--focus-conn` (every line is about it).
    fn cells<'l>(&self, l: &'l ConnLine, dst_first: bool) -> Vec<&'l str> {
        let mut v: Vec<&str> = if dst_first {
            vec![&l.dst, &l.src]
        } else {
            vec![&l.src, &l.dst]
        };
        if self.focus_conn.is_none() {
            v.push(&l.conn);
        }
        v
    }

    fn header(&self, dst_first: bool) -> Vec<&'static str> {
        let mut h = if dst_first {
            vec!["dst", "src"]
        } else {
            vec!["src", "dst"]
        };
        if self.focus_conn.is_none() {
            h.push("conn");
        }
        h
    }

    fn json(&self) -> String {
        #[derive(Serialize)]
        struct Row<'a> {
            src: &'a str,
            dst: &'a str,
            #[serde(skip_serializing_if = "Option::is_none")]
            conn: Option<&'a str>,
            #[serde(skip_serializing_if = "Option::is_none")]
            l7: Option<&'a str>,
        }
        let rows = |lines: &[ConnLine]| -> serde_json::Value {
            // netpol-analyzer (Go) writes an empty exposure list as `null`, except under
            // --focus-conn where its lists are made empty but non-nil.
            if lines.is_empty() && self.focus_conn.is_none() {
                return serde_json::Value::Null;
            }
            let v: Vec<Row<'_>> = lines
                .iter()
                .map(|l| Row {
                    src: &l.src,
                    dst: &l.dst,
                    conn: self.focus_conn.is_none().then_some(&*l.conn),
                    l7: l.l7.as_deref(),
                })
                .collect();
            serde_json::to_value(v).unwrap_or_default()
        };
        let conns = match rows(&self.lines) {
            serde_json::Value::Null => serde_json::Value::Array(Vec::new()),
            v => v,
        };
        let (list_key, exposure_key) = match self.focus_conn {
            Some(_) => ("connlist_conn_focus_results", "exposure_conn_focus_results"),
            None => ("connlist_results", "exposure_results"),
        };
        let v = match &self.exposure {
            None => conns,
            Some(e) => {
                let mut o = serde_json::Map::new();
                o.insert(list_key.into(), conns);
                o.insert(
                    exposure_key.into(),
                    serde_json::json!({
                        "egress_exposure": rows(&e.egress),
                        "ingress_exposure": rows(&e.ingress),
                    }),
                );
                serde_json::Value::Object(o)
            }
        };
        let mut s = serde_json::to_string_pretty(&v).unwrap_or_else(|_| "[]".to_string());
        s.push('\n');
        s
    }

    fn csv(&self) -> String {
        let q = |s: &str| {
            if s.contains([',', '"']) {
                format!("\"{}\"", s.replace('"', "\"\""))
            } else {
                s.to_string()
            }
        };
        let row = |cells: Vec<&str>| cells.into_iter().map(q).collect::<Vec<_>>().join(",");
        let mut out = self.header(false).join(",") + "\n";
        for l in &self.lines {
            let _ = writeln!(out, "{}", row(self.cells(l, false)));
        }
        if let Some(e) = &self.exposure {
            // Section titles always pad to three columns, as netpol-analyzer writes them.
            let pad = ",,";
            match &self.focus_conn {
                Some(fc) => {
                    let _ = writeln!(out, "Exposure Analysis Result On {fc}:{pad}");
                }
                None => {
                    let _ = writeln!(out, "Exposure Analysis Result:{pad}");
                }
            }
            for (title, lines, dst_first) in [
                ("Egress Exposure:", &e.egress, false),
                ("Ingress Exposure:", &e.ingress, true),
            ] {
                if lines.is_empty() {
                    continue;
                }
                let _ = writeln!(out, "{title}{pad}\n{}", self.header(dst_first).join(","));
                for l in lines {
                    let _ = writeln!(out, "{}", row(self.cells(l, dst_first)));
                }
            }
        }
        out
    }

    fn md(&self) -> String {
        let esc = |s: &str| s.replace('|', "\\|");
        let table_head = |h: Vec<&str>| {
            format!(
                "| {} |\n|{}|\n",
                h.join(" | "),
                h.iter()
                    .map(|c| "-".repeat(c.len() + 2))
                    .collect::<Vec<_>>()
                    .join("|")
            )
        };
        let row = |cells: Vec<&str>| {
            format!(
                "| {} |\n",
                cells.into_iter().map(esc).collect::<Vec<_>>().join(" | ")
            )
        };
        let mut out = table_head(self.header(false));
        for l in &self.lines {
            out.push_str(&row(self.cells(l, false)));
        }
        if let Some(e) = &self.exposure {
            match &self.focus_conn {
                Some(fc) => {
                    let _ = writeln!(out, "## Exposure Analysis Result On {fc}:");
                }
                None => out.push_str("## Exposure Analysis Result:\n"),
            }
            for (title, lines, dst_first) in [
                ("### Egress Exposure:", &e.egress, false),
                ("### Ingress Exposure:", &e.ingress, true),
            ] {
                if lines.is_empty() {
                    continue;
                }
                let _ = writeln!(out, "{title}");
                out.push_str(&table_head(self.header(dst_first)));
                for l in lines {
                    out.push_str(&row(self.cells(l, dst_first)));
                }
                out.push('\n');
            }
        }
        out
    }

    fn dot(&self) -> String {
        let mut nodes: BTreeSet<&str> = self.nodes.iter().map(String::as_str).collect();
        for l in &self.lines {
            nodes.insert(&l.src);
            nodes.insert(&l.dst);
        }
        let id = |s: &str| format!("\"{}\"", s.replace('"', "\\\""));
        let mut out = String::from("digraph {\n");
        for n in &nodes {
            let shape = if n.ends_with("[External]") {
                "box"
            } else {
                "ellipse"
            };
            let _ = writeln!(out, "\t{} [label={} shape={shape}]", id(n), id(n));
        }
        for l in &self.lines {
            let _ = writeln!(
                out,
                "\t{} -> {} [label={}]",
                id(&l.src),
                id(&l.dst),
                id(&l.conn)
            );
        }
        out.push_str("}\n");
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(s: &str, d: &str, c: &str) -> ConnLine {
        ConnLine::new(s, d, c)
    }

    #[test]
    fn txt_matches_netpol_analyzer_layout() {
        let mut r = ConnReport {
            lines: vec![
                line("ns/b[Pod]", "ns/a[Pod]", "TCP 80"),
                line("ns/a[Pod]", "ns/b[Pod]", "All Connections"),
            ],
            exposure: Some(ExposureSection {
                egress: vec![line("ns/a[Pod]", "entire-cluster", "All Connections")],
                ingress: vec![line("entire-cluster", "ns/a[Pod]", "TCP 80")],
                unprotected: vec!["ns/a[Pod] is not protected on Egress".into()],
            }),
            ..Default::default()
        };
        r.sort();
        let out = r.render(Format::Txt);
        assert_eq!(
            out,
            "ns/a[Pod] => ns/b[Pod] : All Connections\nns/b[Pod] => ns/a[Pod] : TCP 80\n\n\
             Exposure Analysis Result:\nEgress Exposure:\nns/a[Pod] \t=> \tentire-cluster : All Connections\n\n\
             Ingress Exposure:\nns/a[Pod] \t<= \tentire-cluster : TCP 80\n\n\
             Workloads not protected by network policies:\nns/a[Pod] is not protected on Egress\n"
        );
    }

    #[test]
    fn json_is_an_array_of_src_dst_conn() {
        let r = ConnReport {
            lines: vec![line("a", "b", "TCP 1")],
            ..Default::default()
        };
        let v: serde_json::Value = serde_json::from_str(&r.render(Format::Json)).unwrap();
        assert_eq!(
            v,
            serde_json::json!([{"src": "a", "dst": "b", "conn": "TCP 1"}])
        );
    }
}
