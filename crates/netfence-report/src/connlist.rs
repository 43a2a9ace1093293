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

/// The connection list written line by line, as [`ConnReport::write`] prints it: `begin`,
/// lines rendered into buffers (on any core) and written in order with `write_chunk`, then
/// `end`. `connectivity` streams millions of lines this way; the held report uses it too, so
/// both print the same bytes. Graphviz is not streamed (it lists every node first).
#[derive(Debug, Clone, Copy)]
pub struct ListWriter<'a> {
    format: Format,
    focus_conn: Option<&'a str>,
}

impl<'a> ListWriter<'a> {
    /// A writer for `format` (`None` for dot); `focus_conn` as [`ConnReport::focus_conn`].
    pub fn new(format: Format, focus_conn: Option<&'a str>) -> Option<Self> {
        (format != Format::Dot).then_some(Self { format, focus_conn })
    }

    /// What comes before the first line: the focus title, the table head, `[`.
    pub fn begin(&self, w: &mut dyn io::Write) -> io::Result<()> {
        let conn = self.focus_conn.is_none();
        match self.format {
            Format::Txt => match self.focus_conn {
                Some(fc) => writeln!(w, "Permitted connections on {fc}:"),
                None => Ok(()),
            },
            Format::Csv => writeln!(w, "{}", header(conn, false).join(",")),
            Format::Md => w.write_all(md_table_head(&header(conn, false)).as_bytes()),
            Format::Json => w.write_all(b"["),
            Format::Dot => Ok(()),
        }
    }

    /// Appends one line to `out`.
    pub fn line(&self, src: &str, dst: &str, conn: &str, l7: Option<&str>, out: &mut Vec<u8>) {
        let with_conn = self.focus_conn.is_none();
        match self.format {
            Format::Txt => {
                // (plain byte writes: formatting machinery was a third of the writing)
                out.extend_from_slice(src.as_bytes());
                out.extend_from_slice(b" => ");
                out.extend_from_slice(dst.as_bytes());
                if with_conn {
                    out.extend_from_slice(b" : ");
                    out.extend_from_slice(conn.as_bytes());
                    if let Some(l7) = l7 {
                        out.extend_from_slice(b" (");
                        out.extend_from_slice(l7.as_bytes());
                        out.push(b')');
                    }
                }
                out.push(b'\n');
            }
            Format::Csv => {
                let cells = [src, dst, conn];
                let n = if with_conn { 3 } else { 2 };
                for (i, cell) in cells.iter().take(n).enumerate() {
                    if i > 0 {
                        out.push(b',');
                    }
                    out.extend_from_slice(csv_cell(cell).as_bytes());
                }
                out.push(b'\n');
            }
            Format::Md => {
                let cells = [src, dst, conn];
                let n = if with_conn { 3 } else { 2 };
                out.extend_from_slice(b"|");
                for cell in cells.iter().take(n) {
                    out.push(b' ');
                    out.extend_from_slice(cell.replace('|', "\\|").as_bytes());
                    out.extend_from_slice(b" |");
                }
                out.push(b'\n');
            }
            Format::Json => {
                // serde_json's pretty layout of one array element, after its separator
                let q = |s: &str| serde_json::to_string(s).unwrap_or_default();
                out.extend_from_slice(b",\n  {\n    \"src\": ");
                out.extend_from_slice(q(src).as_bytes());
                out.extend_from_slice(b",\n    \"dst\": ");
                out.extend_from_slice(q(dst).as_bytes());
                if with_conn {
                    out.extend_from_slice(b",\n    \"conn\": ");
                    out.extend_from_slice(q(conn).as_bytes());
                }
                if let Some(l7) = l7 {
                    out.extend_from_slice(b",\n    \"l7\": ");
                    out.extend_from_slice(q(l7).as_bytes());
                }
                out.extend_from_slice(b"\n  }");
            }
            Format::Dot => {}
        }
    }

    /// Writes rendered lines; `started` says whether a line was written before (the first
    /// JSON element has no separator).
    pub fn write_chunk(
        &self,
        w: &mut dyn io::Write,
        chunk: &[u8],
        started: &mut bool,
    ) -> io::Result<()> {
        if chunk.is_empty() {
            return Ok(());
        }
        let chunk = match (self.format, *started) {
            (Format::Json, false) => chunk.get(1..).unwrap_or_default(),
            _ => chunk,
        };
        *started = true;
        w.write_all(chunk)
    }

    /// What comes after the last line.
    pub fn end(&self, w: &mut dyn io::Write, started: bool) -> io::Result<()> {
        match (self.format, started) {
            (Format::Json, true) => w.write_all(b"\n]\n"),
            (Format::Json, false) => w.write_all(b"]\n"),
            _ => Ok(()),
        }
    }
}

/// The column names of a table: `src, dst[, conn]`, or `dst, src[, conn]` for ingress
/// exposure; the connection is left out under `--focus-conn`.
fn header(with_conn: bool, dst_first: bool) -> Vec<&'static str> {
    let mut h = if dst_first {
        vec!["dst", "src"]
    } else {
        vec!["src", "dst"]
    };
    if with_conn {
        h.push("conn");
    }
    h
}

/// A Markdown table's head row and rule.
fn md_table_head(h: &[&str]) -> String {
    format!(
        "| {} |\n|{}|\n",
        h.join(" | "),
        h.iter()
            .map(|c| "-".repeat(c.len() + 2))
            .collect::<Vec<_>>()
            .join("|")
    )
}

/// A CSV cell, quoted when it holds a comma or a quote.
fn csv_cell(s: &str) -> std::borrow::Cow<'_, str> {
    if s.contains([',', '"']) {
        format!("\"{}\"", s.replace('"', "\"\"")).into()
    } else {
        s.into()
    }
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
        let list = ListWriter::new(format, self.focus_conn.as_deref());
        match (list, format, &self.exposure) {
            // JSON nests the list beside the exposure section
            (Some(list), _, None) | (Some(list), Format::Txt | Format::Csv | Format::Md, _) => {
                list.begin(w)?;
                let mut buf = Vec::with_capacity(1 << 16);
                let mut started = false;
                for l in &self.lines {
                    list.line(&l.src, &l.dst, &l.conn, l.l7.as_deref(), &mut buf);
                    if buf.len() >= 1 << 16 {
                        list.write_chunk(w, &buf, &mut started)?;
                        buf.clear();
                    }
                }
                list.write_chunk(w, &buf, &mut started)?;
                list.end(w, started)?;
                match format {
                    Format::Txt => self.txt_exposure(w),
                    Format::Csv => w.write_all(self.csv_exposure().as_bytes()),
                    Format::Md => w.write_all(self.md_exposure().as_bytes()),
                    _ => Ok(()),
                }
            }
            (_, Format::Json, _) => w.write_all(self.json().as_bytes()),
            _ => w.write_all(self.dot().as_bytes()),
        }
    }

    fn txt_exposure(&self, w: &mut dyn io::Write) -> io::Result<()> {
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
        header(self.focus_conn.is_none(), dst_first)
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

    fn csv_exposure(&self) -> String {
        let row = |cells: Vec<&str>| {
            cells
                .into_iter()
                .map(csv_cell)
                .collect::<Vec<_>>()
                .join(",")
        };
        let mut out = String::new();
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

    fn md_exposure(&self) -> String {
        let esc = |s: &str| s.replace('|', "\\|");
        let row = |cells: Vec<&str>| {
            format!(
                "| {} |\n",
                cells.into_iter().map(esc).collect::<Vec<_>>().join(" | ")
            )
        };
        let mut out = String::new();
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
                out.push_str(&md_table_head(&self.header(dst_first)));
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

    /// The list written line by line equals serde_json's pretty array (escapes, focus, L7
    /// notes, the empty list), whatever the chunks it is written in.
    #[test]
    fn streamed_json_is_serde_json_pretty() {
        let mut l7 = line("ns/a[Pod]", "ns/b[Pod]", "TCP 80");
        l7.l7 = Some("TCP 80: HTTP GET /\"x\"".into());
        let lines = vec![line("ns/\"q\"[Pod]", "ns/b[Pod]", "All Connections"), l7];
        for focus in [None, Some("TCP 80".to_string())] {
            for lines in [Vec::new(), lines.clone()] {
                let r = ConnReport {
                    lines: lines.clone(),
                    focus_conn: focus.clone(),
                    ..Default::default()
                };
                assert_eq!(
                    r.render(Format::Json),
                    r.json(),
                    "{focus:?} {}",
                    lines.len()
                );
                // one chunk per line, as `connectivity` writes a source at a time
                let w = ListWriter::new(Format::Json, focus.as_deref()).unwrap();
                let mut out = Vec::new();
                let mut started = false;
                w.begin(&mut out).unwrap();
                for l in &lines {
                    let mut buf = Vec::new();
                    w.line(&l.src, &l.dst, &l.conn, l.l7.as_deref(), &mut buf);
                    w.write_chunk(&mut out, &buf, &mut started).unwrap();
                    w.write_chunk(&mut out, &[], &mut started).unwrap();
                }
                w.end(&mut out, started).unwrap();
                assert_eq!(String::from_utf8(out).unwrap(), r.json());
            }
        }
        assert!(ListWriter::new(Format::Dot, None).is_none());
    }
}
