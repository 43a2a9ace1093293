//! The data path a cluster runs: its CNI, that CNI's release, the settings that change what a
//! policy means, and the Kubernetes release.
//!
//! Since 2025 one YAML can mean different things on different releases of the same CNI
//! (`docs/dialects/versions.md`). Every version-dependent behaviour is a method here, and the
//! layers ask these methods ("does this data path enforce ClusterNetworkPolicy?"); no evaluator
//! compares versions itself. A data path without a known release is judged as the newest
//! release netfence models, and the caller says so.

use std::fmt;

use crate::profile::Profile;

/// A `major.minor` release.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Release {
    /// The major number.
    pub major: u16,
    /// The minor number.
    pub minor: u16,
}

impl Release {
    /// `major.minor`.
    pub const fn new(major: u16, minor: u16) -> Self {
        Self { major, minor }
    }

    /// Reads `1.20`, `v1.20.1`, `3.32.0-rc1` or `v1.36.0+k3s1` (the patch and suffix are
    /// ignored).
    pub fn parse(text: &str) -> Option<Self> {
        let mut parts = text.trim().trim_start_matches('v').split(['.', '-', '+']);
        let major = parts.next()?.parse().ok()?;
        let minor = parts.next()?.parse().ok()?;
        Some(Self { major, minor })
    }

    /// The release of an image tag such as `quay.io/cilium/cilium:v1.20.1@sha256:...`
    /// (`None` for a digest-only reference or a tag like `latest`).
    pub fn from_image(image: &str) -> Option<Self> {
        let name = image.split('@').next()?;
        let (repo, tag) = name.rsplit_once(':')?;
        // `registry:5000/cilium` has a port, not a tag
        if tag.contains('/') || repo.is_empty() {
            return None;
        }
        Self::parse(tag)
    }
}

impl fmt::Display for Release {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.major, self.minor)
    }
}

/// The settings of the CNI that change semantics (Cilium's `cilium-config` keys, Antrea's
/// feature gates). Each has the CNI's own default.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Settings {
    /// Cilium `enable-k8s-cluster-network-policy` (1.20, default off).
    pub cilium_cluster_network_policy: bool,
    /// Cilium `enable-l7-proxy` (default on): without it no L7 or DNS rule is enforced.
    pub cilium_l7_proxy: bool,
    /// Cilium `enable-extended-ip-protocols` (1.20, default off).
    pub cilium_extended_ip_protocols: bool,
    /// Antrea's `ClusterNetworkPolicy` feature gate (alpha in 2.7, default off).
    pub antrea_cluster_network_policy: bool,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            cilium_cluster_network_policy: false,
            cilium_l7_proxy: true,
            cilium_extended_ip_protocols: false,
            antrea_cluster_network_policy: false,
        }
    }
}

/// One setting a user can give with `--cni-setting KEY=VALUE`.
#[derive(Debug, Clone, Copy)]
pub struct SettingKey {
    /// The key, as the CNI's configuration spells it.
    pub key: &'static str,
    /// The CNI whose setting it is.
    pub cni: Profile,
    /// What it changes.
    pub meaning: &'static str,
    set: fn(&mut Settings, bool),
}

/// Every setting netfence models.
pub const SETTING_KEYS: [SettingKey; 4] = [
    SettingKey {
        key: "enable-k8s-cluster-network-policy",
        cni: Profile::Cilium,
        meaning: "Cilium 1.20 enforces ClusterNetworkPolicy (default false)",
        set: |s, v| s.cilium_cluster_network_policy = v,
    },
    SettingKey {
        key: "enable-l7-proxy",
        cni: Profile::Cilium,
        meaning: "Cilium enforces L7 (HTTP, DNS) rules through its proxy (default true)",
        set: |s, v| s.cilium_l7_proxy = v,
    },
    SettingKey {
        key: "enable-extended-ip-protocols",
        cni: Profile::Cilium,
        meaning: "Cilium 1.20 accepts GRE, IPIP, ESP, AH, VRRP, IGMP in toPorts (default false)",
        set: |s, v| s.cilium_extended_ip_protocols = v,
    },
    SettingKey {
        key: "ClusterNetworkPolicy",
        cni: Profile::Antrea,
        meaning: "Antrea's feature gate for ClusterNetworkPolicy (alpha, default false)",
        set: |s, v| s.antrea_cluster_network_policy = v,
    },
];

impl Settings {
    /// Sets `key` (a [`SETTING_KEYS`] key) to `value` (`true`/`false`, as a ConfigMap spells
    /// it); an error names the keys and values that exist.
    pub fn set(&mut self, key: &str, value: &str) -> Result<(), String> {
        let Some(k) = SETTING_KEYS.iter().find(|k| k.key == key) else {
            return Err(format!(
                "unknown data-path setting {key:?}: netfence models {} (and `kubernetes=1.36` for the Kubernetes release)",
                SETTING_KEYS.iter().map(|k| k.key).collect::<Vec<_>>().join(", ")
            ));
        };
        let v = match value.trim() {
            "true" | "True" | "TRUE" => true,
            "false" | "False" | "FALSE" => false,
            other => return Err(format!("{key}={other}: the value must be true or false")),
        };
        (k.set)(self, v);
        Ok(())
    }
}

/// What a data path does with a Cilium Kafka L7 rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KafkaRules {
    /// Enforced by the Kafka proxy (up to 1.19).
    Enforced,
    /// Removed in 1.20: the field is gone from the CRD schema, so the API server prunes it
    /// and the port rule holds no L7 rule: it allows the whole port at L4.
    Pruned,
}

/// The data path an analysis assumes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct DataPath {
    /// The CNI.
    pub cni: Profile,
    /// Its release, when known; `None` is judged as [`DataPath::newest`].
    pub version: Option<Release>,
    /// The Kubernetes release (from the nodes' kubelets), when known.
    pub kubernetes: Option<Release>,
    /// The settings that change semantics.
    pub settings: Settings,
}

impl From<Profile> for DataPath {
    fn from(cni: Profile) -> Self {
        Self {
            cni,
            ..Self::default()
        }
    }
}

impl fmt::Display for DataPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.release() {
            Some(r) => write!(f, "{}@{r}", self.cni),
            None => write!(f, "{}", self.cni),
        }
    }
}

const CILIUM_1_19: Release = Release::new(1, 19);
const CILIUM_1_20: Release = Release::new(1, 20);
const CALICO_3_32: Release = Release::new(3, 32);
const KUBERNETES_1_36: Release = Release::new(1, 36);

impl DataPath {
    /// A data path of `cni` at `version`.
    pub fn new(cni: Profile, version: Option<Release>) -> Self {
        Self {
            cni,
            version,
            ..Self::default()
        }
    }

    /// The releases of `cni` whose semantics netfence models (oldest first; empty for a CNI
    /// whose semantics do not depend on its release here).
    pub fn known_releases(cni: Profile) -> &'static [Release] {
        const CILIUM: [Release; 3] = [Release::new(1, 18), CILIUM_1_19, CILIUM_1_20];
        const CALICO: [Release; 3] = [Release::new(3, 30), Release::new(3, 31), CALICO_3_32];
        const ANTREA: [Release; 1] = [Release::new(2, 7)];
        match cni {
            Profile::Cilium => &CILIUM,
            Profile::Calico => &CALICO,
            Profile::Antrea => &ANTREA,
            Profile::Generic | Profile::Flannel | Profile::Weave => &[],
        }
    }

    /// The newest release of `cni` netfence models.
    pub fn newest(cni: Profile) -> Option<Release> {
        Self::known_releases(cni).last().copied()
    }

    /// The release the semantics follow: the one given, or the newest known.
    pub fn release(&self) -> Option<Release> {
        if Self::known_releases(self.cni).is_empty() {
            return None;
        }
        self.version.or(Self::newest(self.cni))
    }

    /// Whether the release is at least `r` (the CNI's newest when unknown).
    fn at_least(&self, r: Release) -> bool {
        self.release().is_some_and(|v| v >= r)
    }

    /// A sentence when the given release is outside the releases netfence models, saying which
    /// it is judged as.
    pub fn release_note(&self) -> Option<String> {
        let known = Self::known_releases(self.cni);
        let (first, last) = (known.first()?, known.last()?);
        let v = self.version?;
        if v < *first {
            Some(format!(
                "{} {v} is older than the releases netfence models ({first}-{last}): judged as {first}",
                self.cni
            ))
        } else if v > *last {
            Some(format!(
                "{} {v} is newer than the releases netfence models ({first}-{last}): judged as {last}",
                self.cni
            ))
        } else {
            None
        }
    }

    /// Whether Kubernetes NetworkPolicies are enforced.
    pub fn enforces_network_policy(&self) -> bool {
        self.cni.enforces_network_policy()
    }

    /// Whether Cilium's own policies are enforced.
    pub fn enforces_cilium_policies(&self) -> bool {
        self.cni.enforces_cilium_policies()
    }

    /// Whether Calico's own policies are enforced.
    pub fn enforces_calico_policies(&self) -> bool {
        self.cni.enforces_calico_policies()
    }

    /// Whether AdminNetworkPolicy and BaselineAdminNetworkPolicy (v1alpha1) are enforced:
    /// Calico up to 3.31 (3.32 enforces ClusterNetworkPolicy instead, calico#11144) and Antrea;
    /// Cilium never implemented them.
    pub fn enforces_admin_policies(&self) -> bool {
        match self.cni {
            Profile::Generic | Profile::Antrea => true,
            Profile::Calico => !self.at_least(CALICO_3_32),
            Profile::Cilium | Profile::Flannel | Profile::Weave => false,
        }
    }

    /// Whether ClusterNetworkPolicies are enforced: Calico from 3.32 (tiers `kube-admin` and
    /// `kube-baseline`), Cilium from 1.20 with `enable-k8s-cluster-network-policy`, Antrea 2.7
    /// with its `ClusterNetworkPolicy` feature gate.
    pub fn enforces_cluster_network_policies(&self) -> bool {
        match self.cni {
            Profile::Generic => true,
            Profile::Calico => self.at_least(CALICO_3_32),
            Profile::Cilium => {
                self.at_least(CILIUM_1_20) && self.settings.cilium_cluster_network_policy
            }
            Profile::Antrea => self.settings.antrea_cluster_network_policy,
            Profile::Flannel | Profile::Weave => false,
        }
    }

    /// Why ClusterNetworkPolicies are not enforced, in words a user can act on (`None` when
    /// they are).
    pub fn cluster_network_policy_gap(&self) -> Option<String> {
        if self.enforces_cluster_network_policies() {
            return None;
        }
        Some(match self.cni {
            Profile::Calico => format!("Calico enforces it from 3.32 (this data path is {self})"),
            Profile::Cilium if !self.at_least(CILIUM_1_20) => {
                format!("Cilium enforces it from 1.20 (this data path is {self})")
            }
            Profile::Cilium => "Cilium 1.20 enforces it only with enable-k8s-cluster-network-policy: \"true\" in kube-system/cilium-config (--cni-setting enable-k8s-cluster-network-policy=true)".into(),
            Profile::Antrea => "Antrea enforces it only with its ClusterNetworkPolicy feature gate (--cni-setting ClusterNetworkPolicy=true)".into(),
            _ => format!("{} enforces no ClusterNetworkPolicy", self.cni),
        })
    }

    /// Whether a Cilium `toFQDNs.matchPattern` or DNS rule's leading `**.` matches several
    /// labels (1.19; before, `**` was two one-label wildcards).
    pub fn cilium_fqdn_multilabel(&self) -> bool {
        self.at_least(CILIUM_1_19)
    }

    /// Whether Cilium TLS `serverNames` take wildcards (`*` in a label, `**.` several labels,
    /// `"*"` every name) rather than exact names (1.19).
    pub fn cilium_sni_wildcards(&self) -> bool {
        self.at_least(CILIUM_1_19)
    }

    /// Whether Cilium refuses `fromRequires`/`toRequires` (1.19: MaxItems 0 in the CRD).
    pub fn cilium_requires_refused(&self) -> bool {
        self.cni == Profile::Cilium && self.at_least(CILIUM_1_19)
    }

    /// What Cilium does with a Kafka L7 rule.
    pub fn cilium_kafka(&self) -> KafkaRules {
        if self.at_least(CILIUM_1_20) {
            KafkaRules::Pruned
        } else {
            KafkaRules::Enforced
        }
    }

    /// Whether the API server refuses non-canonical CIDRs and leading zeros in new objects
    /// (KEP-4858: Kubernetes 1.36, beta and on by default).
    pub fn strict_cidrs(&self) -> bool {
        self.kubernetes.is_some_and(|k| k >= KUBERNETES_1_36)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn releases_parse_from_tags_and_text() {
        assert_eq!(
            Release::from_image("quay.io/cilium/cilium:v1.20.1@sha256:abc"),
            Some(Release::new(1, 20))
        );
        assert_eq!(
            Release::from_image("docker.io/calico/node:v3.32.0"),
            Some(Release::new(3, 32))
        );
        assert_eq!(
            Release::from_image("quay.io/cilium/cilium@sha256:abc"),
            None
        );
        assert_eq!(Release::from_image("registry:5000/cilium/cilium"), None);
        assert_eq!(Release::from_image("cilium/cilium:latest"), None);
        assert_eq!(Release::parse("v1.36.0+k3s1"), Some(Release::new(1, 36)));
        assert_eq!(Release::parse("3.32.0-rc1"), Some(Release::new(3, 32)));
        assert_eq!(Release::parse("one"), None);
    }

    #[test]
    fn an_unknown_release_is_the_newest_known() {
        let dp = DataPath::from(Profile::Calico);
        assert_eq!(dp.release(), Some(Release::new(3, 32)));
        assert_eq!(dp.to_string(), "calico@3.32");
        assert_eq!(DataPath::from(Profile::Generic).to_string(), "generic");
        assert_eq!(DataPath::from(Profile::Generic).release(), None);
    }

    #[test]
    fn calico_moves_from_admin_policies_to_cluster_network_policies_at_3_32() {
        let old = DataPath::new(Profile::Calico, Some(Release::new(3, 31)));
        let new = DataPath::new(Profile::Calico, Some(Release::new(3, 32)));
        assert!(old.enforces_admin_policies() && !old.enforces_cluster_network_policies());
        assert!(!new.enforces_admin_policies() && new.enforces_cluster_network_policies());
        assert!(old.cluster_network_policy_gap().is_some());
    }

    #[test]
    fn cilium_enforces_cluster_network_policies_from_1_20_behind_its_flag() {
        let mut dp = DataPath::new(Profile::Cilium, Some(Release::new(1, 20)));
        assert!(!dp.enforces_cluster_network_policies());
        dp.settings
            .set("enable-k8s-cluster-network-policy", "true")
            .unwrap();
        assert!(dp.enforces_cluster_network_policies());
        dp.version = Some(Release::new(1, 19));
        assert!(!dp.enforces_cluster_network_policies());
        assert!(dp
            .cluster_network_policy_gap()
            .unwrap()
            .contains("from 1.20"));
    }

    #[test]
    fn cilium_1_19_changes_patterns_and_requires() {
        let old = DataPath::new(Profile::Cilium, Some(Release::new(1, 18)));
        let new = DataPath::new(Profile::Cilium, Some(Release::new(1, 19)));
        assert!(!old.cilium_fqdn_multilabel() && new.cilium_fqdn_multilabel());
        assert!(!old.cilium_sni_wildcards() && new.cilium_sni_wildcards());
        assert!(!old.cilium_requires_refused() && new.cilium_requires_refused());
        assert_eq!(new.cilium_kafka(), KafkaRules::Enforced);
        let v120 = DataPath::new(Profile::Cilium, Some(Release::new(1, 20)));
        assert_eq!(v120.cilium_kafka(), KafkaRules::Pruned);
    }

    #[test]
    fn releases_outside_the_table_are_said() {
        let dp = DataPath::new(Profile::Cilium, Some(Release::new(1, 16)));
        assert!(dp.release_note().unwrap().contains("judged as 1.18"));
        let dp = DataPath::new(Profile::Cilium, Some(Release::new(1, 21)));
        assert!(dp.release_note().unwrap().contains("judged as 1.20"));
        assert!(DataPath::new(Profile::Cilium, Some(Release::new(1, 19)))
            .release_note()
            .is_none());
    }

    #[test]
    fn settings_refuse_unknown_keys_and_values() {
        let mut s = Settings::default();
        assert!(s
            .set("enable-foo", "true")
            .unwrap_err()
            .contains("enable-l7-proxy"));
        assert!(s.set("enable-l7-proxy", "yes").is_err());
        s.set("enable-l7-proxy", "false").unwrap();
        assert!(!s.cilium_l7_proxy);
    }

    #[test]
    fn strict_cidrs_from_kubernetes_1_36() {
        let mut dp = DataPath::from(Profile::Generic);
        assert!(!dp.strict_cidrs());
        dp.kubernetes = Some(Release::new(1, 35));
        assert!(!dp.strict_cidrs());
        dp.kubernetes = Some(Release::new(1, 36));
        assert!(dp.strict_cidrs());
    }
}
