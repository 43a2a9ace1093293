//! The self-contained HTML report: one file, styles and scripts inline, no network at view
//! time. The data is embedded as JSON; a small script draws the connectivity graph (grouped by
//! namespace) as SVG, and the matrix and lateral-movement tables are plain HTML.

use std::fmt::Write as _;

use serde::Serialize;

/// A workload of the report.
#[derive(Debug, Clone, Serialize)]
pub struct Workload {
    /// `namespace/name[Kind]`.
    pub name: String,
    /// The namespace.
    pub namespace: String,
    /// Whether no policy isolates it for ingress.
    pub open_ingress: bool,
    /// Whether no policy isolates it for egress.
    pub open_egress: bool,
    /// Whether it is reachable from outside the cluster.
    pub exposed: bool,
}

/// An allowed connection between two workloads (indices into the workload list).
#[derive(Debug, Clone, Serialize)]
pub struct Link {
    /// Source index.
    pub src: usize,
    /// Destination index.
    pub dst: usize,
    /// The connections.
    pub conn: String,
}

/// Lateral movement from one exposed workload.
#[derive(Debug, Clone, Serialize)]
pub struct Blast {
    /// The exposed workload.
    pub from: String,
    /// How many workloads it reaches.
    pub reaches: usize,
    /// Reached workloads with hop counts.
    pub reached: Vec<(String, usize)>,
}

/// Everything the report shows.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// A title.
    pub title: String,
    /// Workloads.
    pub workloads: Vec<Workload>,
    /// Workload-to-workload connections.
    pub links: Vec<Link>,
    /// Connections from outside the cluster: (workload, conn).
    pub external_in: Vec<(String, String)>,
    /// Number of policies by kind.
    pub policies: Vec<(String, usize)>,
    /// Lateral movement from every exposed workload.
    pub blast: Vec<Blast>,
    /// Lateral-movement score per namespace.
    pub namespace_scores: Vec<(String, f64)>,
    /// The zero-trust audit, when it was run.
    pub audit: Option<AuditSummary>,
}

/// The audit's part of the report.
#[derive(Debug, Clone, Serialize)]
pub struct AuditSummary {
    /// Cluster score, 0-100.
    pub score: f64,
    /// Cluster maturity level, 0-6.
    pub maturity: u8,
    /// Per namespace: (namespace, score, level).
    pub namespaces: Vec<(String, f64, u8)>,
    /// Findings: (severity, code, message, where, fix).
    pub findings: Vec<(String, String, String, String, String)>,
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

const STYLE: &str = r#"
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:0;color:#1d2330;background:#f6f7f9}
header{background:#1d2330;color:#fff;padding:18px 28px}header h1{margin:0;font-size:22px}header p{margin:4px 0 0;color:#b9c0cc}
main{padding:18px 28px;max-width:1400px}section{background:#fff;border:1px solid #e1e4ea;border-radius:8px;margin:0 0 18px;padding:14px 18px}
h2{font-size:17px;margin:0 0 10px}.cards{display:flex;gap:12px;flex-wrap:wrap}.card{border:1px solid #e1e4ea;border-radius:6px;padding:8px 14px;min-width:120px}
.card b{display:block;font-size:22px}.warn b{color:#b3261e}table{border-collapse:collapse;font-size:12px}td,th{border:1px solid #e1e4ea;padding:3px 6px;text-align:left;vertical-align:top}
th{background:#f0f2f5}td.allow{background:#e7f4ea}td.none{color:#aab}#graph{width:100%;height:640px;border:1px solid #e1e4ea;border-radius:6px;background:#fcfcfd}
.node circle{stroke:#fff;stroke-width:2}.node text{font-size:11px;fill:#1d2330}.edge{stroke:#7a8699;stroke-opacity:.35;fill:none}
.edge.hi{stroke:#d0531c;stroke-opacity:.95;stroke-width:2}.ns text{font-size:13px;font-weight:600;fill:#4a5568}.ns circle{fill:#eef1f6;stroke:#d5dbe5}
#detail{margin-top:8px;min-height:20px;color:#4a5568}.pill{display:inline-block;border-radius:10px;padding:0 7px;font-size:11px;margin-left:4px}
.pill.open{background:#fde2e0;color:#b3261e}.pill.exp{background:#fff1d6;color:#8a5a00}
"#;

const SCRIPT: &str = r#"
(function(){
  const data = JSON.parse(document.getElementById('netfence-data').textContent);
  const svg = document.getElementById('graph');
  const NS = 'http://www.w3.org/2000/svg';
  const W = svg.clientWidth || 1200, H = svg.clientHeight || 640;
  const el = (t, a, p) => { const e = document.createElementNS(NS, t); for (const k in a) e.setAttribute(k, a[k]); (p||svg).appendChild(e); return e; };
  const groups = {};
  data.workloads.forEach((w, i) => { (groups[w.namespace] = groups[w.namespace] || []).push(i); });
  const names = Object.keys(groups).sort();
  const pos = [], side = [];
  const R = Math.min(W, H) / 2 - 90, cx = W / 2, cy = H / 2;
  const defs = el('defs', {});
  const marker = el('marker', {id: 'arrow', viewBox: '0 0 10 10', refX: '17', refY: '5', markerWidth: '6', markerHeight: '6', orient: 'auto-start-reverse'}, defs);
  el('path', {d: 'M 0 0 L 10 5 L 0 10 z', fill: '#7a8699'}, marker);
  const gEdges = el('g', {id: 'edges'});
  const gNs = el('g', {id: 'namespaces'});
  const gNodes = el('g', {id: 'nodes'});
  names.forEach((ns, k) => {
    const a = 2 * Math.PI * k / Math.max(names.length, 1);
    const gx = names.length > 1 ? cx + R * Math.cos(a) : cx, gy = names.length > 1 ? cy + R * Math.sin(a) : cy;
    const members = groups[ns], r = members.length > 1 ? 26 + 16 * Math.sqrt(members.length) : 0;
    const g = el('g', {class: 'ns', 'data-namespace': ns}, gNs);
    el('circle', {cx: gx, cy: gy, r: r + 18}, g);
    const t = el('text', {x: gx, y: gy - r - 20, 'text-anchor': 'middle'}, g); t.textContent = ns;
    members.forEach((i, j) => {
      const b = 2 * Math.PI * j / members.length - Math.PI / 2;
      pos[i] = members.length > 1 ? [gx + r * Math.cos(b), gy + r * Math.sin(b)] : [gx, gy];
      side[i] = members.length > 1 ? Math.cos(b) : 1;
    });
  });
  const edges = data.links.map((l, i) => {
    const [x1, y1] = pos[l.src], [x2, y2] = pos[l.dst];
    const mx = (x1 + x2) / 2 + (y2 - y1) * 0.12, my = (y1 + y2) / 2 - (x2 - x1) * 0.12;
    const p = el('path', {class: 'edge', d: `M${x1},${y1} Q${mx},${my} ${x2},${y2}`, 'marker-end': 'url(#arrow)', 'data-src': l.src, 'data-dst': l.dst}, gEdges);
    const t = el('title', {}, p); t.textContent = `${data.workloads[l.src].name} => ${data.workloads[l.dst].name} : ${l.conn}`;
    return p;
  });
  const detail = document.getElementById('detail');
  data.workloads.forEach((w, i) => {
    const g = el('g', {class: 'node', 'data-index': i}, gNodes);
    const color = w.exposed ? '#d08b00' : (w.open_ingress || w.open_egress) ? '#c0392b' : '#2f7d4a';
    el('circle', {cx: pos[i][0], cy: pos[i][1], r: 7, fill: color}, g);
    // Labels point away from the group's centre, so members of one namespace do not overlap.
    const left = side[i] < -0.2;
    const t = el('text', {x: pos[i][0] + (left ? -10 : 10), y: pos[i][1] + 4, 'text-anchor': left ? 'end' : 'start'}, g);
    t.textContent = w.name.split('/')[1];
    g.addEventListener('mouseenter', () => {
      let out = 0, inn = 0;
      edges.forEach(e => { const s = +e.dataset.src, d = +e.dataset.dst; const on = s === i || d === i; e.classList.toggle('hi', on); if (s === i) out++; if (d === i) inn++; });
      detail.textContent = `${w.name}: ${out} outgoing, ${inn} incoming allowed connections` + (w.exposed ? ' - exposed to the outside' : '');
    });
    g.addEventListener('mouseleave', () => edges.forEach(e => e.classList.remove('hi')));
  });
  svg.setAttribute('data-rendered', 'true');
  svg.setAttribute('data-nodes', String(data.workloads.length));
  svg.setAttribute('data-edges', String(edges.length));
})();
"#;

/// Renders the report as one self-contained HTML document.
pub fn render(r: &Report) -> String {
    let mut h = String::new();
    let open_in = r.workloads.iter().filter(|w| w.open_ingress).count();
    let open_out = r.workloads.iter().filter(|w| w.open_egress).count();
    let exposed = r.workloads.iter().filter(|w| w.exposed).count();
    let _ = write!(
        h,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{t}</title><style>{STYLE}</style></head><body>\n<header><h1>{t}</h1><p>netfence report: who can reach whom, from the manifests</p></header>\n<main>\n",
        t = esc(&r.title)
    );
    let _ = write!(
        h,
        "<section id=\"summary\"><h2>Summary</h2><div class=\"cards\">"
    );
    let card = |h: &mut String, label: &str, n: usize, warn: bool| {
        let _ = write!(
            h,
            "<div class=\"card{}\"><b>{n}</b>{}</div>",
            if warn && n > 0 { " warn" } else { "" },
            esc(label)
        );
    };
    card(&mut h, "workloads", r.workloads.len(), false);
    card(&mut h, "allowed workload pairs", r.links.len(), false);
    card(&mut h, "open to any ingress", open_in, true);
    card(&mut h, "open to any egress", open_out, true);
    card(&mut h, "exposed to the outside", exposed, true);
    for (kind, n) in &r.policies {
        card(&mut h, kind, *n, false);
    }
    h.push_str("</div></section>\n");
    if let Some(a) = &r.audit {
        let _ = write!(
            h,
            "<section id=\"findings\"><h2>Zero-trust score and findings</h2><div class=\"cards\"><div class=\"card\"><b>{:.0}/100</b>zero-trust score</div><div class=\"card\"><b>{}/6</b>maturity level</div><div class=\"card{}\"><b>{}</b>findings</div></div>",
            a.score,
            a.maturity,
            if a.findings.is_empty() { "" } else { " warn" },
            a.findings.len()
        );
        h.push_str("<table style=\"margin-top:10px\"><tr><th>namespace</th><th>score</th><th>level</th></tr>");
        for (ns, sc, lv) in &a.namespaces {
            let _ = write!(
                h,
                "<tr><td>{}</td><td>{sc:.0}</td><td>{lv}</td></tr>",
                esc(ns)
            );
        }
        h.push_str("</table>");
        if !a.findings.is_empty() {
            h.push_str("<table style=\"margin-top:10px\"><tr><th>severity</th><th>code</th><th>finding</th><th>where</th><th>fix</th></tr>");
            for (sev, code, msg, at, fix) in &a.findings {
                let _ = write!(
                    h,
                    "<tr class=\"finding\"><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                    esc(sev), esc(code), esc(msg), esc(at), esc(fix)
                );
            }
            h.push_str("</table>");
        }
        h.push_str("<p>Rules and the score's method: <code>netfence rule</code>, <code>netfence rule score</code>.</p></section>\n");
    }
    h.push_str("<section id=\"graph-section\"><h2>Connectivity graph</h2><p>Workloads grouped by namespace: green is isolated in both directions, red has a direction no policy isolates, amber is reachable from outside the cluster. Hover a workload to highlight its connections.</p><svg id=\"graph\" role=\"img\" aria-label=\"connectivity graph\"></svg><div id=\"detail\"></div></section>\n");
    // Matrix.
    h.push_str("<section id=\"matrix\"><h2>Connectivity matrix</h2>");
    if r.workloads.len() > 80 {
        let _ = write!(h, "<p>{} workloads: the matrix is shown for up to 80; use <code>netfence connectivity</code>.</p>", r.workloads.len());
    } else {
        h.push_str("<div style=\"overflow-x:auto\"><table><tr><th>from \\ to</th>");
        for w in &r.workloads {
            let _ = write!(h, "<th>{}</th>", esc(&w.name));
        }
        h.push_str("</tr>");
        for (i, w) in r.workloads.iter().enumerate() {
            let _ = write!(h, "<tr><th>{}</th>", esc(&w.name));
            for j in 0..r.workloads.len() {
                match r.links.iter().find(|l| l.src == i && l.dst == j) {
                    Some(l) => {
                        let _ = write!(h, "<td class=\"allow\">{}</td>", esc(&l.conn));
                    }
                    None if i == j => h.push_str("<td class=\"none\">-</td>"),
                    None => h.push_str("<td class=\"none\"></td>"),
                }
            }
            h.push_str("</tr>");
        }
        h.push_str("</table></div>");
    }
    h.push_str("</section>\n");
    // Exposure and blast radius.
    h.push_str("<section id=\"blast\"><h2>Exposed workloads and their blast radius</h2>");
    if r.blast.is_empty() {
        h.push_str("<p>No workload is reachable from outside the cluster.</p>");
    } else {
        h.push_str("<table><tr><th>exposed workload</th><th>from outside</th><th>reaches</th><th>reached (hops)</th></tr>");
        for b in &r.blast {
            let ext: Vec<&str> = r
                .external_in
                .iter()
                .filter(|(w, _)| *w == b.from)
                .map(|(_, c)| c.as_str())
                .collect();
            let reached: Vec<String> = b
                .reached
                .iter()
                .map(|(w, n)| format!("{} ({n})", esc(w)))
                .collect();
            let _ = write!(
                h,
                "<tr><td>{}</td><td>{}</td><td>{} of {}</td><td>{}</td></tr>",
                esc(&b.from),
                esc(&ext.join("; ")),
                b.reaches,
                r.workloads.len().saturating_sub(1),
                reached.join(", ")
            );
        }
        h.push_str("</table>");
    }
    h.push_str("<h2 style=\"margin-top:14px\">Lateral-movement score per namespace</h2><table><tr><th>namespace</th><th>score (0 isolated, 100 reaches everything)</th></tr>");
    for (ns, s) in &r.namespace_scores {
        let _ = write!(h, "<tr><td>{}</td><td>{s:.0}</td></tr>", esc(ns));
    }
    h.push_str("</table></section>\n</main>\n");
    // The data, as JSON that cannot close the script element.
    let json = serde_json::to_string(r)
        .unwrap_or_else(|_| "{}".into())
        .replace("</", "<\\/");
    let _ = write!(
        h,
        "<script type=\"application/json\" id=\"netfence-data\">{json}</script>\n<script>{SCRIPT}</script>\n</body></html>\n"
    );
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn report_is_self_contained_and_escapes() {
        let r = Report {
            title: "a <b>".into(),
            workloads: vec![Workload {
                name: "ns/x</script>[Pod]".into(),
                namespace: "ns".into(),
                open_ingress: true,
                open_egress: false,
                exposed: false,
            }],
            links: vec![],
            external_in: vec![],
            policies: vec![],
            blast: vec![],
            namespace_scores: vec![],
            audit: None,
        };
        let h = render(&r);
        assert!(h.contains("<title>a &lt;b&gt;</title>"));
        assert!(
            !h.contains("x</script>"),
            "data cannot close the script element"
        );
        // the only absolute URLs are XML namespace names, which are never fetched
        let urls: Vec<&str> = h
            .match_indices("http")
            .filter_map(|(i, _)| h.get(i..))
            .filter(|rest| rest.starts_with("http://") || rest.starts_with("https://"))
            .map(|rest| rest.split(['"', '\'', ' ', ')']).next().unwrap_or_default())
            .collect();
        for u in &urls {
            assert!(
                u.starts_with("http://www.w3.org/"),
                "external reference {u}"
            );
        }
        assert!(!h.contains("src=\"http"), "nothing is fetched at view time");
        assert!(!h.contains("<link"), "no stylesheet or font is linked");
    }
}
