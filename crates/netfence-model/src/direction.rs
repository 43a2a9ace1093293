//! The direction of traffic, seen from the endpoint whose policies apply.

use std::fmt;

/// A traffic direction, seen from the endpoint whose policies apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Direction {
    /// Traffic arriving at the endpoint.
    Ingress,
    /// Traffic leaving the endpoint.
    Egress,
}

impl Direction {
    /// Both directions, ingress first.
    pub const BOTH: [Direction; 2] = [Direction::Ingress, Direction::Egress];

    /// The other direction.
    pub fn opposite(self) -> Direction {
        match self {
            Direction::Ingress => Direction::Egress,
            Direction::Egress => Direction::Ingress,
        }
    }

    /// The section key of policy dialects: `ingress` or `egress`.
    pub fn key(self) -> &'static str {
        match self {
            Direction::Ingress => "ingress",
            Direction::Egress => "egress",
        }
    }
}

impl fmt::Display for Direction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Direction::Ingress => "Ingress",
            Direction::Egress => "Egress",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_and_names() {
        assert_eq!(Direction::Ingress.key(), "ingress");
        assert_eq!(Direction::Egress.to_string(), "Egress");
        assert_eq!(Direction::BOTH, [Direction::Ingress, Direction::Egress]);
        assert_eq!(Direction::Ingress.opposite(), Direction::Egress);
        assert_eq!(Direction::Egress.opposite(), Direction::Ingress);
    }
}
