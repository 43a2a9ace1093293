//! Renderers for netfence results. Pure: every function writes into a `String`.
//!
//! The connectivity report (`connlist`) is line-compatible with np-guard's netpol-analyzer in
//! `txt`; `json` is an array of `{"src","dst","conn"}` in the same order.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod audit;
pub mod connlist;
pub mod diff;
pub mod html;
pub mod output;
pub mod tests_report;

pub use connlist::{ConnLine, ConnReport, ExposureSection, Format, ListWriter};
