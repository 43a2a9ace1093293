//! `netfence connectivity`.

#![expect(
    clippy::indexing_slicing,
    reason = "endpoint, class, rule and flow ids index the cluster and tables they were built from"
)]
use std::collections::HashMap;
use std::io::Write as _;
use std::sync::Arc;

use anyhow::{anyhow, bail, Result};
use netfence_engine::connectivity::{self, Node};
use netfence_engine::eval::RepNamespace;
use netfence_engine::exposure::{self, ExposedTo};
use netfence_engine::Direction;
use netfence_model::{Cluster, ConnSet, EndpointId, IpRange, PortSet, Protocol};
use netfence_report::{ConnLine, ConnReport, ExposureSection, Format, ListWriter};

use crate::cli::ConnectivityArgs;
use crate::input;

/// Display names, made once per node and shared by every line that mentions it.
struct Names {
    endpoints: Vec<Arc<str>>,
    external: HashMap<IpRange, Arc<str>>,
    controller: Arc<str>,
    fqdns: Vec<Arc<str>>,
    conns: HashMap<usize, Arc<str>>,
}

impl Names {
    fn new(c: &Cluster, fqdns: &[String]) -> Self {
        Self {
            endpoints: c
                .endpoints
                .iter()
                .map(|e| Arc::from(e.display_name()))
                .collect(),
            external: HashMap::new(),
            controller: Arc::from(netfence_engine::ingress::CONTROLLER_NAME),
            fqdns: fqdns
                .iter()
                .map(|f| Arc::from(format!("{f}[FQDN]")))
                .collect(),
            conns: HashMap::new(),
        }
    }

    fn node(&mut self, n: &Node) -> Arc<str> {
        match n {
            Node::Endpoint(id) => self.endpoints[*id].clone(),
            Node::External(r) => self
                .external
                .entry(*r)
                .or_insert_with(|| Arc::from(format!("{r}[External]")))
                .clone(),
            Node::IngressController => self.controller.clone(),
            Node::Fqdn(i) => self.fqdns[*i as usize].clone(),
        }
    }

    /// The rendering of a shared connection set, made once per set.
    fn conn(&mut self, conn: &Arc<ConnSet>, render: impl Fn(&ConnSet) -> String) -> Arc<str> {
        self.conns
            .entry(Arc::as_ptr(conn) as usize)
            .or_insert_with(|| Arc::from(render(conn)))
            .clone()
    }
}

/// Which workloads and pairs the focus options keep.
struct Focus<'a> {
    workloads: &'a [String],
    peers: &'a [String],
    direction: Option<Direction>,
    conn: Option<(Protocol, u16)>,
}

fn matches_name(c: &Cluster, id: EndpointId, names: &[String]) -> bool {
    let ep = &c.endpoints[id];
    names
        .iter()
        .any(|w| *w == ep.name || *w == ep.qualified_name() || *w == ep.display_name())
}

impl Focus<'_> {
    fn is_focus(&self, c: &Cluster, n: &Node) -> bool {
        match n {
            Node::Endpoint(id) => self.workloads.is_empty() || matches_name(c, *id, self.workloads),
            Node::External(_) | Node::Fqdn(_) => false,
            Node::IngressController => {
                self.workloads.is_empty()
                    || self.workloads.iter().any(|w| w == "ingress-controller")
            }
        }
    }

    fn is_peer(&self, c: &Cluster, n: &Node) -> bool {
        self.peers.is_empty() || matches!(n, Node::Endpoint(id) if matches_name(c, *id, self.peers))
    }

    fn keep_pair(&self, c: &Cluster, src: &Node, dst: &Node) -> bool {
        let (sf, df) = (self.is_focus(c, src), self.is_focus(c, dst));
        match self.direction {
            None => (sf && self.is_peer(c, dst)) || (df && self.is_peer(c, src)),
            Some(Direction::Egress) => sf && self.is_peer(c, dst),
            Some(Direction::Ingress) => df && self.is_peer(c, src),
        }
    }

    fn keep_conn(&self, conn: &ConnSet) -> bool {
        self.conn.is_none_or(|(p, port)| conn.contains(p, port))
    }

    fn keep_direction(&self, d: Direction) -> bool {
        self.direction.is_none_or(|x| x == d)
    }
}

fn parse_focus_conn(s: &str) -> Result<(Protocol, u16)> {
    let (p, port) = s
        .split_once('-')
        .ok_or_else(|| anyhow!("--focus-conn takes PROTOCOL-PORT, e.g. `tcp-8080`, not `{s}`"))?;
    let proto =
        Protocol::parse(p).ok_or_else(|| anyhow!("unknown protocol `{p}` in --focus-conn"))?;
    let port: u16 = port
        .parse()
        .map_err(|_| anyhow!("invalid port `{port}` in --focus-conn"))?;
    Ok((proto, port))
}

fn rep_name(ns: &RepNamespace, pods: &netfence_model::LabelSelector) -> String {
    let ns = match ns {
        RepNamespace::Named(n) => n.clone(),
        RepNamespace::Selector(s) if s.is_empty() => "[all namespaces]".into(),
        RepNamespace::Selector(s) => format!("[namespace with {{{}}}]", s.np_guard_string()),
    };
    let pods = if pods.is_empty() {
        "[all pods]".to_string()
    } else {
        format!("[pod with {{{}}}]", pods.np_guard_string())
    };
    format!("{ns}/{pods}")
}

/// The txt list written source by source, in the report's order (by source name, then
/// destination name, connection and L7 notes): sources are formatted in parallel batches,
/// so only one batch of lines is held at a time.
#[allow(clippy::too_many_arguments)]
fn stream(
    list: ListWriter<'_>,
    map: &connectivity::Connectivity,
    names: &mut Names,
    focus: &Focus<'_>,
    c: &Cluster,
    conn_str: &(dyn Fn(&ConnSet) -> String + Sync),
    out: &mut dyn std::io::Write,
) -> std::io::Result<()> {
    use rayon::prelude::*;
    list.begin(out)?;
    let index = map.source_index();
    let mut sources: Vec<(Arc<str>, Node)> = map
        .sources()
        .into_iter()
        .map(|n| (names.node(&n), n))
        .collect();
    sources.sort_unstable();
    // every name a line can hold, made before the parallel part reads them
    for r in map.dst_ranges.iter().chain(&map.src_ranges) {
        names.node(&Node::External(*r));
    }
    let names = &*names;
    let name_of = |n: &Node| -> Arc<str> {
        match n {
            Node::Endpoint(id) => names.endpoints[*id].clone(),
            Node::External(r) => names
                .external
                .get(r)
                .cloned()
                .unwrap_or_else(|| Arc::from(format!("{r}[External]"))),
            Node::IngressController => names.controller.clone(),
            Node::Fqdn(i) => names.fqdns[*i as usize].clone(),
        }
    };
    const BATCH: usize = 512;
    let mut started = false;
    for batch in sources.chunks(BATCH) {
        let texts: Vec<Vec<u8>> = batch
            .par_iter()
            .map_init(HashMap::<usize, Arc<str>>::new, |conns, (src_name, src)| {
                let mut lines: Vec<Tail> = map
                    .edges_from(&index, *src)
                    .filter(|e| focus.keep_pair(c, &e.src, &e.dst) && focus.keep_conn(&e.conn))
                    .map(|e| {
                        let conn = conns
                            .entry(Arc::as_ptr(&e.conn) as usize)
                            .or_insert_with(|| Arc::from(conn_str(&e.conn)))
                            .clone();
                        (name_of(&e.dst), conn, l7_note(&e))
                    })
                    .collect();
                lines.sort_unstable();
                lines.dedup();
                let mut buf = Vec::with_capacity(lines.len() * 96);
                for (dst, conn, l7) in &lines {
                    list.line(src_name, dst, conn, l7.as_deref(), &mut buf);
                }
                buf
            })
            .collect();
        for t in texts {
            list.write_chunk(out, &t, &mut started)?;
        }
    }
    list.end(out, started)
}

/// A line after its source: destination, connection and L7 notes.
type Tail = (Arc<str>, Arc<str>, Option<Arc<str>>);

/// The L7 notes of an edge, as the txt and report lines show them.
fn l7_note(e: &connectivity::Edge) -> Option<Arc<str>> {
    e.l7.as_ref().map(|notes| {
        let parts: Vec<String> = notes
            .iter()
            .map(|(conn, rules)| format!("{conn}: {rules}"))
            .collect();
        Arc::from(parts.join("; "))
    })
}

/// The report line of an edge.
fn conn_line(
    names: &mut Names,
    e: &connectivity::Edge,
    conn_str: &dyn Fn(&ConnSet) -> String,
) -> ConnLine {
    ConnLine {
        src: names.node(&e.src),
        dst: names.node(&e.dst),
        conn: names.conn(&e.conn, conn_str),
        l7: l7_note(e),
    }
}

pub fn run(args: &ConnectivityArgs) -> Result<i32> {
    let format = match args.format {
        crate::flags::Format::Json => Format::Json,
        crate::flags::Format::Csv => Format::Csv,
        crate::flags::Format::Md => Format::Md,
        crate::flags::Format::Dot => Format::Dot,
        _ => Format::Txt,
    };
    let choice = super::profile(&args.inputs.cni)?;
    if !args.focus_workload_peer.is_empty() && args.focus_workload.is_empty() {
        bail!("--focus-workload-peer needs --focus-workload");
    }
    let loaded = input::load(&args.inputs)?;
    let profile = choice.resolve(&loaded.cluster)?;
    let c = &loaded.cluster;
    let focus = Focus {
        workloads: &args.focus_workload,
        peers: &args.focus_workload_peer,
        direction: args.focus_direction.map(|d| match d {
            crate::flags::Direction::Ingress => Direction::Ingress,
            crate::flags::Direction::Egress => Direction::Egress,
        }),
        conn: args
            .focus_conn
            .as_deref()
            .map(parse_focus_conn)
            .transpose()?,
    };
    if !focus.workloads.is_empty()
        && !(0..c.endpoints.len()).any(|id| matches_name(c, id, focus.workloads))
    {
        eprintln!(
            "warning: no workload named {} in the input; the connectivity list is empty",
            focus.workloads.join(", ")
        );
    }
    let map = connectivity::compute(c, profile);
    let conn_str = |conn: &ConnSet| match focus.conn {
        Some((p, port)) => ConnSet::single(p, PortSet::range(port, port)).to_string(),
        None => conn.to_string(),
    };
    let mut report = ConnReport {
        focus_conn: focus
            .conn
            .map(|(p, port)| ConnSet::single(p, PortSet::range(port, port)).to_string()),
        nodes: c.endpoints.iter().map(|e| e.display_name()).collect(),
        ..Default::default()
    };
    let mut names = Names::new(c, &map.fqdns);
    // Without the exposure section, every format but dot is written as it is made.
    let list = ListWriter::new(format, report.focus_conn.as_deref());
    if let (Some(list), false) = (list, args.exposure) {
        let stdout = std::io::stdout();
        let mut out = std::io::BufWriter::with_capacity(1 << 16, stdout.lock());
        stream(list, &map, &mut names, &focus, c, &conn_str, &mut out)
            .and_then(|()| out.flush())
            .map_err(crate::out::StdoutError)?;
        crate::out::leave_to_exit((names, map, report));
        crate::out::leave_to_exit(loaded);
        return Ok(0);
    }
    for e in map.edges() {
        if focus.keep_pair(c, &e.src, &e.dst) && focus.keep_conn(&e.conn) {
            report.lines.push(conn_line(&mut names, &e, &conn_str));
        }
    }
    if args.exposure {
        let include = |id: EndpointId| focus.is_focus(c, &Node::Endpoint(id));
        let exp = exposure::compute(c, profile, &include);
        let mut sec = ExposureSection::default();
        // With --focus-conn, a potential peer adds nothing when the entire cluster already
        // gets the focused connection.
        let entire_has_focus: std::collections::HashSet<(EndpointId, bool)> = exp
            .lines
            .iter()
            .filter(|l| {
                l.to == ExposedTo::EntireCluster && focus.conn.is_some() && focus.keep_conn(&l.conn)
            })
            .map(|l| (l.endpoint, l.direction == Direction::Ingress))
            .collect();
        for l in &exp.lines {
            if !focus.keep_direction(l.direction) || !focus.keep_conn(&l.conn) {
                continue;
            }
            if matches!(l.to, ExposedTo::Potential(_))
                && entire_has_focus.contains(&(l.endpoint, l.direction == Direction::Ingress))
            {
                continue;
            }
            let w = c.endpoints[l.endpoint].display_name();
            let other = match &l.to {
                ExposedTo::EntireCluster => "entire-cluster".to_string(),
                ExposedTo::Potential(rep) => rep_name(&rep.namespace, &rep.pods),
            };
            let conn = conn_str(&l.conn);
            match l.direction {
                Direction::Egress => sec.egress.push(ConnLine::new(w, other, conn)),
                Direction::Ingress => sec.ingress.push(ConnLine::new(other, w, conn)),
            }
        }
        // External connections are repeated in the exposure section for workloads that have
        // an exposure entry (as netpol-analyzer does).
        let exposed: std::collections::HashSet<EndpointId> =
            exp.lines.iter().map(|l| l.endpoint).collect();
        for e in map.edges() {
            if !focus.keep_pair(c, &e.src, &e.dst) || !focus.keep_conn(&e.conn) {
                continue;
            }
            let workload = match (&e.src, &e.dst) {
                (Node::External(_), Node::Endpoint(id))
                | (Node::Endpoint(id), Node::External(_)) => *id,
                _ => continue,
            };
            if !exposed.contains(&workload) {
                continue;
            }
            let line = ConnLine {
                src: names.node(&e.src),
                dst: names.node(&e.dst),
                conn: names.conn(&e.conn, conn_str),
                l7: None,
            };
            match (&e.src, &e.dst) {
                (Node::External(_), _) => sec.ingress.push(line),
                (_, Node::External(_)) => sec.egress.push(line),
                _ => {}
            }
        }
        if focus.conn.is_none() {
            for (id, dir) in &exp.unprotected {
                if focus.keep_direction(*dir) {
                    sec.unprotected.push(format!(
                        "{} is not protected on {}",
                        c.endpoints[*id].display_name(),
                        dir
                    ));
                }
            }
        }
        report.exposure = Some(sec);
    }
    // Order by name ranks (cheap integer keys) before the report's own sort finds the lines
    // already in order.
    let mut all_names: Vec<Arc<str>> = names.endpoints.clone();
    all_names.extend(names.external.values().cloned());
    all_names.push(names.controller.clone());
    all_names.sort_unstable();
    let rank: HashMap<usize, u32> = all_names
        .iter()
        .enumerate()
        .map(|(i, n)| (Arc::as_ptr(n) as *const u8 as usize, i as u32))
        .collect();
    let key = |n: &Arc<str>| {
        rank.get(&(Arc::as_ptr(n) as *const u8 as usize))
            .copied()
            .unwrap_or(u32::MAX)
    };
    report
        .lines
        .sort_by_cached_key(|l| (key(&l.src), key(&l.dst)));
    report.sort();
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::with_capacity(1 << 16, stdout.lock());
    report
        .write(format, &mut out)
        .and_then(|()| out.flush())
        .map_err(crate::out::StdoutError)?;
    crate::out::leave_to_exit((names, map, report));
    crate::out::leave_to_exit(loaded);
    Ok(0)
}
