//! Kubernetes labels and `metav1.LabelSelector` semantics.
//!
//! `matchLabels` and every `matchExpressions` requirement are ANDed; an empty selector matches
//! everything. A *missing* selector (nil) is represented by `Option::None` at the use site.
//! See <https://kubernetes.io/docs/concepts/overview/working-with-objects/labels/>.

use std::collections::BTreeMap;
use std::fmt;

/// A label map, sorted by key so every rendering is deterministic.
pub type Labels = BTreeMap<String, String>;

/// Whether `labels` carry every key and value of `required` (a `matchLabels` map).
pub fn has_all(labels: &Labels, required: &Labels) -> bool {
    required.iter().all(|(k, v)| labels.get(k) == Some(v))
}

/// A set-based requirement operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Operator {
    /// The label is present and its value is one of `values`.
    In,
    /// The label is absent, or its value is not one of `values`.
    NotIn,
    /// The label is present.
    Exists,
    /// The label is absent.
    DoesNotExist,
}

impl Operator {
    /// The operator's spelling in Kubernetes manifests.
    pub fn as_str(self) -> &'static str {
        match self {
            Operator::In => "In",
            Operator::NotIn => "NotIn",
            Operator::Exists => "Exists",
            Operator::DoesNotExist => "DoesNotExist",
        }
    }
}

/// One `matchExpressions` entry.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Requirement {
    /// The label key.
    pub key: String,
    /// The operator.
    pub operator: Operator,
    /// The values, in the order the manifest gave them.
    pub values: Vec<String>,
}

impl Requirement {
    /// Whether `labels` satisfy this requirement (apimachinery `Requirement.Matches`).
    pub fn matches(&self, labels: &Labels) -> bool {
        let value = labels.get(&self.key);
        match self.operator {
            Operator::In => value.is_some_and(|v| self.values.iter().any(|x| x == v)),
            Operator::NotIn => value.is_none_or(|v| !self.values.iter().any(|x| x == v)),
            Operator::Exists => value.is_some(),
            Operator::DoesNotExist => value.is_none(),
        }
    }

    /// A canonical key for comparing requirements regardless of value order; `In` with one
    /// value is the same as an equality.
    fn canonical(&self) -> String {
        let mut values = self.values.clone();
        values.sort();
        values.dedup();
        if self.operator == Operator::In && values.len() == 1 {
            return format!("{}={}", self.key, values.join(""));
        }
        format!(
            "{} {} ({})",
            self.key,
            self.operator.as_str(),
            values.join(",")
        )
    }
}

/// A `metav1.LabelSelector`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct LabelSelector {
    /// `matchLabels`.
    pub match_labels: Labels,
    /// `matchExpressions`, in manifest order.
    pub match_expressions: Vec<Requirement>,
}

impl LabelSelector {
    /// A selector that matches every object.
    pub fn everything() -> Self {
        Self::default()
    }

    /// A selector from `matchLabels` only.
    pub fn from_labels<I, K, V>(labels: I) -> Self
    where
        I: IntoIterator<Item = (K, V)>,
        K: Into<String>,
        V: Into<String>,
    {
        Self {
            match_labels: labels
                .into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
            match_expressions: Vec::new(),
        }
    }

    /// Whether the selector has no requirement at all (and so matches everything).
    pub fn is_empty(&self) -> bool {
        self.match_labels.is_empty() && self.match_expressions.is_empty()
    }

    /// Whether `labels` satisfy every requirement.
    pub fn matches(&self, labels: &Labels) -> bool {
        self.match_labels
            .iter()
            .all(|(k, v)| labels.get(k) == Some(v))
            && self.match_expressions.iter().all(|r| r.matches(labels))
    }

    /// The label keys this selector reads.
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.match_labels
            .keys()
            .map(String::as_str)
            .chain(self.match_expressions.iter().map(|r| r.key.as_str()))
    }

    /// A canonical form: two selectors with the same requirements (in any order, `In [x]`
    /// equal to `x`) have the same canonical form.
    pub fn canonical(&self) -> Vec<String> {
        let mut reqs: Vec<String> = self
            .match_labels
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .chain(self.match_expressions.iter().map(Requirement::canonical))
            .collect();
        reqs.sort();
        reqs.dedup();
        reqs
    }

    /// Whether two selectors state the same requirements.
    pub fn same_requirements(&self, other: &LabelSelector) -> bool {
        self.canonical() == other.canonical()
    }

    /// The selector written the way netpol-analyzer prints it: `k=v,...` for `matchLabels`
    /// then `{Key:k,Operator:Op,Values:[a b],}` per expression, sorted.
    pub fn np_guard_string(&self) -> String {
        let mut parts: Vec<String> = Vec::new();
        if !self.match_labels.is_empty() {
            parts.push(
                self.match_labels
                    .iter()
                    .map(|(k, v)| format!("{k}={v}"))
                    .collect::<Vec<_>>()
                    .join(","),
            );
        }
        if !self.match_expressions.is_empty() {
            let mut exprs: Vec<String> = self
                .match_expressions
                .iter()
                .map(|r| {
                    format!(
                        "{{Key:{},Operator:{},Values:[{}],}}",
                        r.key,
                        r.operator.as_str(),
                        r.values.join(" ")
                    )
                })
                .collect();
            exprs.sort();
            parts.push(exprs.join(","));
        }
        parts.join(",")
    }
}

impl fmt::Display for LabelSelector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_empty() {
            return f.write_str("{}");
        }
        let mut parts: Vec<String> = self
            .match_labels
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        for r in &self.match_expressions {
            parts.push(match r.operator {
                Operator::In => format!("{} in ({})", r.key, r.values.join(",")),
                Operator::NotIn => format!("{} notin ({})", r.key, r.values.join(",")),
                Operator::Exists => r.key.clone(),
                Operator::DoesNotExist => format!("!{}", r.key),
            });
        }
        f.write_str(&parts.join(","))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn labels(pairs: &[(&str, &str)]) -> Labels {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn req(key: &str, operator: Operator, values: &[&str]) -> Requirement {
        Requirement {
            key: key.into(),
            operator,
            values: values.iter().map(|s| s.to_string()).collect(),
        }
    }

    #[test]
    fn operators_follow_apimachinery_table() {
        let with = labels(&[("tier", "web")]);
        let other = labels(&[("tier", "db")]);
        let without = labels(&[]);
        let cases = [
            (Operator::In, [true, false, false]),
            (Operator::NotIn, [false, true, true]),
            (Operator::Exists, [true, true, false]),
            (Operator::DoesNotExist, [false, false, true]),
        ];
        for (op, want) in cases {
            let r = req("tier", op, &["web"]);
            assert_eq!(
                [r.matches(&with), r.matches(&other), r.matches(&without)],
                want,
                "{op:?}"
            );
        }
    }

    #[test]
    fn empty_selector_matches_everything() {
        assert!(LabelSelector::everything().matches(&labels(&[("a", "b")])));
        assert!(LabelSelector::everything().matches(&labels(&[])));
    }

    #[test]
    fn match_labels_and_expressions_are_anded() {
        let sel = LabelSelector {
            match_labels: labels(&[("app", "web")]),
            match_expressions: vec![req("env", Operator::NotIn, &["dev"])],
        };
        assert!(sel.matches(&labels(&[("app", "web")])));
        assert!(!sel.matches(&labels(&[("app", "web"), ("env", "dev")])));
        assert!(!sel.matches(&labels(&[("env", "prod")])));
    }

    #[test]
    fn in_with_one_value_equals_match_labels() {
        let a = LabelSelector::from_labels([("app", "x")]);
        let b = LabelSelector {
            match_labels: Labels::new(),
            match_expressions: vec![req("app", Operator::In, &["x"])],
        };
        assert!(a.same_requirements(&b));
    }

    #[test]
    fn np_guard_rendering_sorts_expressions_keeps_value_order() {
        let sel = LabelSelector {
            match_labels: labels(&[("foo", "managed")]),
            match_expressions: vec![
                req("env", Operator::Exists, &[]),
                req("app", Operator::NotIn, &["b", "a"]),
            ],
        };
        assert_eq!(
            sel.np_guard_string(),
            "foo=managed,{Key:app,Operator:NotIn,Values:[b a],},{Key:env,Operator:Exists,Values:[],}"
        );
    }

    proptest! {
        /// A selector built from a label map always matches that map and any superset of it.
        #[test]
        fn selector_from_labels_matches_supersets(
            base in proptest::collection::btree_map("[a-c]", "[x-z]", 0..3),
            extra in proptest::collection::btree_map("[d-f]", "[x-z]", 0..3),
        ) {
            let sel = LabelSelector::from_labels(base.clone());
            let mut all = base.clone();
            all.extend(extra);
            prop_assert!(sel.matches(&base));
            prop_assert!(sel.matches(&all));
        }

        /// NotIn is the complement of In on every label map.
        #[test]
        fn not_in_complements_in(
            lbls in proptest::collection::btree_map("[a-b]", "[x-z]", 0..3),
            values in proptest::collection::vec("[x-z]", 1..3),
        ) {
            let vals: Vec<&str> = values.iter().map(String::as_str).collect();
            let i = req("a", Operator::In, &vals);
            let n = req("a", Operator::NotIn, &vals);
            prop_assert_ne!(i.matches(&lbls), n.matches(&lbls));
        }
    }
}
