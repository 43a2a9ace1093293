//! Load errors: one line each, with file, document and line.

use std::fmt;

/// Something in the input netfence could not use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadError {
    /// The file name.
    pub file: String,
    /// The document's 1-based index in the file.
    pub document: usize,
    /// The 1-based line, when known.
    pub line: Option<usize>,
    /// The object, as `Kind ns/name`, when known.
    pub object: Option<String>,
    /// The field path, when known (`spec.ingress[0].from[1]`).
    pub field: Option<String>,
    /// What is wrong (lowercase, no final period).
    pub message: String,
    /// How to fix it, when there is something to say.
    pub help: Option<String>,
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(l) => write!(f, "{}:{}: ", self.file, l)?,
            None => write!(f, "{}: ", self.file)?,
        }
        write!(f, "document {}", self.document)?;
        if let Some(o) = &self.object {
            write!(f, " ({o})")?;
        }
        if let Some(p) = &self.field {
            write!(f, ", field `{p}`")?;
        }
        write!(f, ": {}", self.message)?;
        if let Some(h) = &self.help {
            write!(f, "\n  help: {h}")?;
        }
        Ok(())
    }
}
