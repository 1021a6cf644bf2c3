//! Every notify_server metric, declared once, recorded only through the functions below.

use observability::MetricDef;

/// The declarations owned by notify_server (the shared HTTP and health metrics are added by
/// [`super::catalogue`]).
pub const DECLARED: &[MetricDef] = &[];
