//! Calico (projectcalico.org/v3) policies: the selector language, NetworkPolicy,
//! GlobalNetworkPolicy and Tier.

use std::fmt;

use crate::cluster::Origin;
use crate::conn::Protocol;
use crate::ip::IpSet;
use crate::labels::Labels;

/// The label Calico gives every workload endpoint with its namespace.
pub const CALICO_NAMESPACE_LABEL: &str = "projectcalico.org/namespace";
/// The label Calico gives every workload endpoint with its orchestrator.
pub const CALICO_ORCHESTRATOR_LABEL: &str = "projectcalico.org/orchestrator";
/// The label Calico gives every workload endpoint with its service account.
pub const CALICO_SERVICE_ACCOUNT_LABEL: &str = "projectcalico.org/serviceaccount";
/// The name label of namespaces and service accounts.
pub const CALICO_NAME_LABEL: &str = "projectcalico.org/name";

/// A Calico selector expression.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Selector {
    /// `all()` or the empty selector.
    All,
    /// `global()`: non-namespaced resources (in a `namespaceSelector`); true elsewhere.
    Global,
    /// `k == 'v'`.
    Eq(String, String),
    /// `k != 'v'` (true when `k` is absent).
    Ne(String, String),
    /// `k in {...}`.
    In(String, Vec<String>),
    /// `k not in {...}` (true when `k` is absent).
    NotIn(String, Vec<String>),
    /// `has(k)`.
    Has(String),
    /// `k contains 's'`.
    Contains(String, String),
    /// `k starts with 's'`.
    StartsWith(String, String),
    /// `k ends with 's'`.
    EndsWith(String, String),
    /// `!e`.
    Not(Box<Selector>),
    /// `a && b && ...`.
    And(Vec<Selector>),
    /// `a || b || ...`.
    Or(Vec<Selector>),
}

/// A selector that does not parse, with the byte offset of the problem.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SelectorError {
    /// Byte offset in the selector text.
    pub offset: usize,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for SelectorError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "at character {}: {}", self.offset + 1, self.message)
    }
}

impl Selector {
    /// Parses Calico's selector syntax.
    pub fn parse(text: &str) -> Result<Selector, SelectorError> {
        let mut p = Parser {
            s: text.as_bytes(),
            pos: 0,
            depth: 0,
        };
        p.skip_ws()?;
        if p.pos == p.s.len() {
            return Ok(Selector::All);
        }
        let e = p.or()?;
        p.skip_ws()?;
        if p.pos < p.s.len() {
            return Err(p.err("unexpected text after the expression"));
        }
        Ok(e)
    }

    /// Whether `labels` satisfy the selector (`global()` is true here).
    pub fn matches(&self, labels: &Labels) -> bool {
        match self {
            Selector::All | Selector::Global => true,
            Selector::Eq(k, v) => labels.get(k) == Some(v),
            Selector::Ne(k, v) => labels.get(k) != Some(v),
            Selector::In(k, set) => labels.get(k).is_some_and(|v| set.contains(v)),
            Selector::NotIn(k, set) => labels.get(k).is_none_or(|v| !set.contains(v)),
            Selector::Has(k) => labels.contains_key(k),
            Selector::Contains(k, s) => labels.get(k).is_some_and(|v| v.contains(s.as_str())),
            Selector::StartsWith(k, s) => labels.get(k).is_some_and(|v| v.starts_with(s.as_str())),
            Selector::EndsWith(k, s) => labels.get(k).is_some_and(|v| v.ends_with(s.as_str())),
            Selector::Not(e) => !e.matches(labels),
            Selector::And(v) => v.iter().all(|e| e.matches(labels)),
            Selector::Or(v) => v.iter().any(|e| e.matches(labels)),
        }
    }

    /// Whether the selector is exactly `global()`.
    pub fn is_global(&self) -> bool {
        matches!(self, Selector::Global)
    }
}

impl fmt::Display for Selector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let set = |v: &[String]| {
            v.iter()
                .map(|x| format!("'{x}'"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        match self {
            Selector::All => f.write_str("all()"),
            Selector::Global => f.write_str("global()"),
            Selector::Eq(k, v) => write!(f, "{k} == '{v}'"),
            Selector::Ne(k, v) => write!(f, "{k} != '{v}'"),
            Selector::In(k, v) => write!(f, "{k} in {{{}}}", set(v)),
            Selector::NotIn(k, v) => write!(f, "{k} not in {{{}}}", set(v)),
            Selector::Has(k) => write!(f, "has({k})"),
            Selector::Contains(k, v) => write!(f, "{k} contains '{v}'"),
            Selector::StartsWith(k, v) => write!(f, "{k} starts with '{v}'"),
            Selector::EndsWith(k, v) => write!(f, "{k} ends with '{v}'"),
            Selector::Not(e) => write!(f, "!({e})"),
            Selector::And(v) => {
                let parts: Vec<String> = v.iter().map(|e| format!("({e})")).collect();
                f.write_str(&parts.join(" && "))
            }
            Selector::Or(v) => {
                let parts: Vec<String> = v.iter().map(|e| format!("({e})")).collect();
                f.write_str(&parts.join(" || "))
            }
        }
    }
}

struct Parser<'a> {
    s: &'a [u8],
    pos: usize,
    /// Parentheses open at this point (bounded, so that input cannot overflow the stack).
    depth: usize,
}

/// Deepest nesting of parentheses a selector may have; Calico's own selectors never come close.
pub const MAX_SELECTOR_DEPTH: usize = 64;

impl Parser<'_> {
    /// The input not read yet.
    fn rest(&self) -> &[u8] {
        self.s.get(self.pos..).unwrap_or_default()
    }

    fn err(&self, message: &str) -> SelectorError {
        SelectorError {
            offset: self.pos,
            message: message.to_string(),
        }
    }

    fn skip_ws(&mut self) -> Result<(), SelectorError> {
        while let Some(c) = self.s.get(self.pos) {
            match c {
                b' ' | b'\t' => self.pos += 1,
                b'\n' | b'\r' => return Err(self.err("line breaks are not allowed in a selector")),
                _ => break,
            }
        }
        Ok(())
    }

    fn eat(&mut self, tok: &str) -> Result<bool, SelectorError> {
        self.skip_ws()?;
        if self.rest().starts_with(tok.as_bytes()) {
            self.pos += tok.len();
            Ok(true)
        } else {
            Ok(false)
        }
    }

    /// A keyword followed by a non-label character.
    fn eat_word(&mut self, word: &str) -> Result<bool, SelectorError> {
        self.skip_ws()?;
        let rest = self.rest();
        if rest.starts_with(word.as_bytes())
            && rest.get(word.len()).is_none_or(|c| !is_label_char(*c))
        {
            self.pos += word.len();
            Ok(true)
        } else {
            Ok(false)
        }
    }

    /// `first` and `second` with optional blanks between, then a non-label character.
    fn eat_pair(&mut self, first: &str, second: &str) -> Result<bool, SelectorError> {
        self.skip_ws()?;
        let save = self.pos;
        if !self.rest().starts_with(first.as_bytes()) {
            return Ok(false);
        }
        self.pos += first.len();
        if self.eat_word(second)? {
            return Ok(true);
        }
        self.pos = save;
        Ok(false)
    }

    /// `name (`, blanks optional.
    fn eat_open(&mut self, name: &str) -> Result<bool, SelectorError> {
        self.skip_ws()?;
        let save = self.pos;
        if self.rest().starts_with(name.as_bytes()) {
            self.pos += name.len();
            if self.eat("(")? {
                return Ok(true);
            }
        }
        self.pos = save;
        Ok(false)
    }

    /// `name ( )`, blanks optional.
    fn eat_call(&mut self, name: &str) -> Result<bool, SelectorError> {
        let save = self.pos;
        if self.eat_open(name)? && self.eat(")")? {
            return Ok(true);
        }
        self.pos = save;
        Ok(false)
    }

    fn or(&mut self) -> Result<Selector, SelectorError> {
        let mut v = vec![self.and()?];
        while self.eat("||")? {
            v.push(self.and()?);
        }
        Ok(if v.len() == 1 {
            v.remove(0)
        } else {
            Selector::Or(v)
        })
    }

    fn and(&mut self) -> Result<Selector, SelectorError> {
        let mut v = vec![self.unary()?];
        while self.eat("&&")? {
            v.push(self.unary()?);
        }
        Ok(if v.len() == 1 {
            v.remove(0)
        } else {
            Selector::And(v)
        })
    }

    fn unary(&mut self) -> Result<Selector, SelectorError> {
        let mut nots = 0;
        loop {
            self.skip_ws()?;
            if self.s.get(self.pos) == Some(&b'!') && self.s.get(self.pos + 1) != Some(&b'=') {
                self.pos += 1;
                nots += 1;
            } else {
                break;
            }
        }
        let e = self.primary()?;
        Ok(if nots % 2 == 1 {
            Selector::Not(Box::new(e))
        } else {
            e
        })
    }

    fn label(&mut self) -> Result<String, SelectorError> {
        self.skip_ws()?;
        let start = self.pos;
        while self.s.get(self.pos).is_some_and(|c| is_label_char(*c)) {
            self.pos += 1;
        }
        if self.pos == start {
            return Err(self.err("expected a label name"));
        }
        if self.pos - start > 512 {
            return Err(self.err("a label name has at most 512 characters"));
        }
        Ok(String::from_utf8_lossy(self.s.get(start..self.pos).unwrap_or_default()).into_owned())
    }

    fn string(&mut self) -> Result<String, SelectorError> {
        self.skip_ws()?;
        let q = match self.s.get(self.pos) {
            Some(&q @ (b'"' | b'\'')) => q,
            _ => return Err(self.err("expected a quoted value ('v' or \"v\")")),
        };
        let start = self.pos + 1;
        let end = self
            .s
            .get(start..)
            .unwrap_or_default()
            .iter()
            .position(|c| *c == q)
            .map(|i| start + i)
            .ok_or_else(|| self.err("unterminated string"))?;
        self.pos = end + 1;
        Ok(String::from_utf8_lossy(self.s.get(start..end).unwrap_or_default()).into_owned())
    }

    fn set(&mut self) -> Result<Vec<String>, SelectorError> {
        if !self.eat("{")? {
            return Err(self.err("expected `{`"));
        }
        let mut v = Vec::new();
        if self.eat("}")? {
            return Ok(v);
        }
        loop {
            v.push(self.string()?);
            if self.eat("}")? {
                return Ok(v);
            }
            if !self.eat(",")? {
                return Err(self.err("expected `,` or `}`"));
            }
        }
    }

    fn primary(&mut self) -> Result<Selector, SelectorError> {
        self.skip_ws()?;
        if self.eat("(")? {
            if self.depth >= MAX_SELECTOR_DEPTH {
                return Err(self.err(&format!(
                    "parentheses nest deeper than {MAX_SELECTOR_DEPTH} levels"
                )));
            }
            self.depth += 1;
            let e = self.or()?;
            self.depth -= 1;
            if !self.eat(")")? {
                return Err(self.err("expected `)`"));
            }
            return Ok(e);
        }
        // Calico's tokenizer allows blanks inside `all ( )`, `global ( )` and `has (`
        if self.eat_call("all")? {
            return Ok(Selector::All);
        }
        if self.eat_call("global")? {
            return Ok(Selector::Global);
        }
        if self.eat_open("has")? {
            let k = self.label()?;
            if !self.eat(")")? {
                return Err(self.err("expected `)` after the label of has("));
            }
            return Ok(Selector::Has(k));
        }
        let k = self.label()?;
        if self.eat("==")? {
            return Ok(Selector::Eq(k, self.string()?));
        }
        if self.eat("!=")? {
            return Ok(Selector::Ne(k, self.string()?));
        }
        if self.eat_word("in")? {
            return Ok(Selector::In(k, self.set()?));
        }
        if self.eat_word("notin")? {
            return Ok(Selector::NotIn(k, self.set()?));
        }
        if self.eat_word("not")? {
            if !self.eat_word("in")? {
                return Err(self.err("expected `in` after `not`"));
            }
            return Ok(Selector::NotIn(k, self.set()?));
        }
        if self.eat_word("contains")? {
            return Ok(Selector::Contains(k, self.string()?));
        }
        // `starts with` and `ends with`, blanks optional (`startswith`), as upstream's
        // tokenizer reads them (`^starts\s*with`)
        if self.eat_pair("starts", "with")? {
            return Ok(Selector::StartsWith(k, self.string()?));
        }
        if self.eat_pair("ends", "with")? {
            return Ok(Selector::EndsWith(k, self.string()?));
        }
        if self.eat_word("starts")? {
            return Err(self.err("expected `with` after `starts`"));
        }
        if self.eat_word("ends")? {
            return Err(self.err("expected `with` after `ends`"));
        }
        if self.eat("=")? {
            return Err(self.err("`=` is not an operator: use `==`"));
        }
        Err(self.err("expected an operator (==, !=, in, not in, contains, starts with, ends with)"))
    }
}

fn is_label_char(c: u8) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, b'_' | b'.' | b'/' | b'-')
}

/// A rule action.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    /// Final accept.
    Allow,
    /// Final drop.
    Deny,
    /// Log and continue with the next rule.
    Log,
    /// Skip the rest of this tier.
    Pass,
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Action::Allow => "Allow",
            Action::Deny => "Deny",
            Action::Log => "Log",
            Action::Pass => "Pass",
        })
    }
}

/// A port of a Calico rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Port {
    /// A single port.
    Number(u16),
    /// An inclusive range `"lo:hi"`.
    Range(u16, u16),
    /// A named port, resolved on the endpoint on that side.
    Named(String),
}

/// `serviceAccounts` of an entity rule.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ServiceAccountMatch {
    /// Names (any of them); empty means any name.
    pub names: Vec<String>,
    /// A selector over the service account's labels.
    pub selector: Option<Selector>,
}

/// `source` or `destination` of a rule; every present field must match.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct EntityRule {
    /// `nets`: the address is in one of them.
    pub nets: Option<IpSet>,
    /// `notNets`: the address is in none of them.
    pub not_nets: Option<IpSet>,
    /// `selector`: a known endpoint whose labels match.
    pub selector: Option<Selector>,
    /// `notSelector`: not an endpoint whose labels match.
    pub not_selector: Option<Selector>,
    /// `namespaceSelector`.
    pub namespace_selector: Option<Selector>,
    /// `serviceAccounts`.
    pub service_accounts: Option<ServiceAccountMatch>,
    /// `services`: endpoints of a Service (name, namespace).
    pub services: Option<(String, Option<String>)>,
    /// `ports`.
    pub ports: Option<Vec<Port>>,
    /// `notPorts`.
    pub not_ports: Option<Vec<Port>>,
    /// `domains` (Calico Enterprise egress DNS policy).
    pub domains: Vec<String>,
}

/// `http` of an ingress rule (application layer policy).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct HttpMatch {
    /// Methods (any).
    pub methods: Vec<String>,
    /// Paths: `(exact, text)` or prefix.
    pub paths: Vec<(bool, String)>,
}

/// One Calico rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    /// The action.
    pub action: Action,
    /// `protocol` (`None`: any).
    pub protocol: Option<Protocol>,
    /// Whether `protocol` names one netfence does not model (UDPLite, numbers other than
    /// TCP's, UDP's, SCTP's and ICMP's): matches no modelled traffic.
    pub other_protocol: Option<String>,
    /// `icmp` (with `protocol: ICMP` or `ICMPv6`): the type and code it matches.
    pub icmp: Option<IcmpMatch>,
    /// `notICMP`.
    pub not_icmp: Option<IcmpMatch>,
    /// `notProtocol`.
    pub not_protocol: Option<Protocol>,
    /// `source`.
    pub source: EntityRule,
    /// `destination`.
    pub destination: EntityRule,
    /// `http`.
    pub http: Option<HttpMatch>,
    /// The line of the rule, when known.
    pub line: Option<usize>,
}

/// A rule's `icmp`/`notICMP`: a type, and optionally a code of that type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IcmpMatch {
    /// The ICMP type.
    pub icmp_type: u8,
    /// The code (not modelled: a rule with one is read as matching every code of its type).
    pub code: Option<u8>,
}

/// A Calico NetworkPolicy, GlobalNetworkPolicy or StagedNetworkPolicy.
#[derive(Debug, Clone, PartialEq)]
pub struct CalicoPolicy {
    /// The namespace; `None` for a GlobalNetworkPolicy.
    pub namespace: Option<String>,
    /// The name as written (without the tier prefix).
    pub name: String,
    /// The tier (`default` when unset).
    pub tier: String,
    /// `order` (`None`: after every ordered policy).
    pub order: Option<f64>,
    /// `selector`.
    pub selector: Selector,
    /// `namespaceSelector` (GlobalNetworkPolicy).
    pub namespace_selector: Option<Selector>,
    /// `serviceAccountSelector`.
    pub service_account_selector: Option<Selector>,
    /// Whether the policy applies to ingress.
    pub applies_ingress: bool,
    /// Whether the policy applies to egress.
    pub applies_egress: bool,
    /// Ingress rules.
    pub ingress: Vec<Rule>,
    /// Egress rules.
    pub egress: Vec<Rule>,
    /// A staged policy: reported, never enforced.
    pub staged: bool,
    /// `doNotTrack`, `preDNAT` or `applyOnForward` (host endpoint policy).
    pub host_flags: Vec<&'static str>,
    /// Where it was declared.
    pub origin: Origin,
}

impl CalicoPolicy {
    /// `NetworkPolicy`, `GlobalNetworkPolicy` or a staged kind.
    pub fn kind(&self) -> &'static str {
        match (self.namespace.is_some(), self.staged) {
            (true, false) => "NetworkPolicy",
            (false, false) => "GlobalNetworkPolicy",
            (true, true) => "StagedNetworkPolicy",
            (false, true) => "StagedGlobalNetworkPolicy",
        }
    }

    /// Its [`crate::cluster::ObjectKey`].
    pub fn object_key(&self) -> crate::cluster::ObjectKey {
        crate::cluster::object_key(
            &format!("projectcalico.org/{}", self.kind()),
            self.namespace.as_deref(),
            &self.name,
        )
    }

    /// `ns/name`, or the name of a global policy.
    pub fn qualified_name(&self) -> String {
        match &self.namespace {
            Some(ns) => format!("{ns}/{}", self.name),
            None => self.name.clone(),
        }
    }
}

/// A Calico NetworkSet (namespaced) or GlobalNetworkSet: labelled networks that policy rule
/// selectors match like endpoints, so that rules can name external addresses by label.
#[derive(Debug, Clone, PartialEq)]
pub struct NetworkSet {
    /// The namespace; `None` for a GlobalNetworkSet.
    pub namespace: Option<String>,
    /// The name.
    pub name: String,
    /// `metadata.labels`.
    pub labels: Labels,
    /// `spec.nets`.
    pub nets: crate::ip::IpSet,
    /// Where it was declared.
    pub origin: Origin,
}

/// A Calico Tier.
#[derive(Debug, Clone, PartialEq)]
pub struct Tier {
    /// The name.
    pub name: String,
    /// `order` (`None`: after every ordered tier).
    pub order: Option<f64>,
    /// `defaultAction: Pass` (otherwise Deny).
    pub default_pass: bool,
    /// Where it was declared (`None` for built-in tiers).
    pub origin: Option<Origin>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn l(pairs: &[(&str, &str)]) -> Labels {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    /// Test vectors S1–S15 from Calico's selector documentation.
    #[test]
    fn selector_vectors() {
        let ax = l(&[("a", "x")]);
        let ay = l(&[("a", "y"), ("b", "1")]);
        let none = l(&[]);
        let table: [(&str, [bool; 3]); 14] = [
            ("a == 'x'", [true, false, false]),
            ("a != 'x'", [false, true, true]),
            ("a in {'x','y'}", [true, true, false]),
            ("a not in {\"x\"}", [false, true, true]),
            ("has(b)", [false, true, false]),
            ("!has(a)", [false, false, true]),
            ("a == 'y' || a == 'x' && has(b)", [false, true, false]),
            ("(a == 'y' || a == 'x') && has(b)", [false, true, false]),
            ("!!has(a)", [true, true, false]),
            ("all()", [true, true, true]),
            ("!all()", [false, false, false]),
            ("a starts with 'x'", [true, false, false]),
            ("a in {}", [false, false, false]),
            ("a notin {'x'}", [false, true, true]),
        ];
        for (text, want) in table {
            let s = Selector::parse(text).unwrap_or_else(|e| panic!("{text}: {e}"));
            for (labels, w) in [&ax, &ay, &none].iter().zip(want) {
                assert_eq!(s.matches(labels), w, "{text} on {labels:?}");
            }
        }
        assert_eq!(Selector::parse("").unwrap(), Selector::All, "S10 empty");
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_stack_overflow() {
        let deep = format!("{}a == 'b'{}", "(".repeat(12_000), ")".repeat(12_000));
        let e = Selector::parse(&deep).unwrap_err();
        assert!(e.to_string().contains("deeper than 64"), "{e}");
        let ok = format!("{}a == 'b'{}", "(".repeat(64), ")".repeat(64));
        assert!(Selector::parse(&ok).is_ok());
        assert!(Selector::parse(&"!".repeat(100_000)).is_err());
    }

    #[test]
    fn the_tokenizer_reads_what_calicos_does() {
        let l = |pairs: &[(&str, &str)]| -> Labels {
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        };
        let quote = l(&[("a", "\"x"), ("b", "y'")]);
        for text in [
            "a startswith '\"'",
            "a starts with '\"'",
            "b endswith \"'\"",
            "b ends  with \"'\"",
            "all ( )",
            "all() && has (a)",
            "a notin {'z'}",
            "a not in {'z'}",
        ] {
            let sel = Selector::parse(text).unwrap_or_else(|e| panic!("{text}: {e}"));
            assert!(sel.matches(&quote), "{text}");
        }
        assert!(Selector::parse("a starts '\"'").is_err());
        assert!(Selector::parse("a startswithx 'b'").is_err());
        assert!(Selector::parse("alls()").is_err());
    }

    #[test]
    fn parse_errors_have_a_position() {
        for bad in [
            "a == x",
            "a = 'x'",
            "a == 'x' & has(b)",
            "a in {'x'",
            "(has(a)",
            "has(a) b",
            "a == 'x'\n",
        ] {
            let e = Selector::parse(bad).expect_err(bad);
            assert!(e.offset <= bad.len(), "{bad}: {e}");
        }
        assert_eq!(Selector::parse("a == x").unwrap_err().offset, 5);
    }

    #[test]
    fn keywords_need_a_boundary_and_labels_may_contain_dots() {
        let s = Selector::parse("app.kubernetes.io/name in {'a'} && ends ends with 'x'").unwrap();
        assert!(s.matches(&l(&[("app.kubernetes.io/name", "a"), ("ends", "yx")])));
        let s = Selector::parse("index == 'i'").unwrap();
        assert!(s.matches(&l(&[("index", "i")])));
    }
}
