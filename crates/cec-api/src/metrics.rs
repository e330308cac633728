//! A small Prometheus registry (text exposition format 0.0.4) and the HTTP middleware that
//! feeds it. Handles are atomics behind an `Arc`: cloning and updating one never locks; only
//! registering a series and rendering take the registry's lock.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::Method;
use axum::http::header::{self, HeaderValue};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

/// Content type of [`Registry::render`]'s output.
pub const METRICS_CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Buckets of `opencec_http_request_duration_seconds`, in seconds.
pub const HTTP_DURATION_BUCKETS: [f64; 11] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// Why a series could not be registered. These are programming errors (a bad constant
/// name, two modules disagreeing about one family), never caused by request input.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum MetricsError {
    /// The metric name is not `[a-zA-Z_:][a-zA-Z0-9_:]*`.
    #[error("invalid metric name `{0}`")]
    InvalidName(String),
    /// A label name is not `[a-zA-Z_][a-zA-Z0-9_]*`, is reserved (`__…`, `le` on a
    /// histogram) or appears twice.
    #[error("invalid label name `{0}`")]
    InvalidLabel(String),
    /// The family exists with another type.
    #[error("metric `{0}` is already registered with another type")]
    KindMismatch(String),
    /// The family exists with other label names.
    #[error("metric `{0}` is already registered with other label names")]
    LabelMismatch(String),
    /// Histogram bounds must be finite, strictly increasing, and the same for every
    /// series of a family.
    #[error("invalid or mismatched buckets for histogram `{0}`")]
    InvalidBuckets(String),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Counter,
    Gauge,
    Histogram,
}

impl Kind {
    fn as_str(self) -> &'static str {
        match self {
            Kind::Counter => "counter",
            Kind::Gauge => "gauge",
            Kind::Histogram => "histogram",
        }
    }
}

/// A monotonically increasing count.
#[derive(Clone, Debug)]
pub struct Counter(Arc<AtomicU64>);

impl Counter {
    /// Adds one.
    pub fn inc(&self) {
        self.add(1);
    }

    /// Adds `n`.
    pub fn add(&self, n: u64) {
        self.0.fetch_add(n, Ordering::Relaxed);
    }

    /// The current count.
    pub fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// A value that goes up and down.
#[derive(Clone, Debug)]
pub struct Gauge(Arc<AtomicU64>);

impl Gauge {
    /// Sets the value.
    pub fn set(&self, value: f64) {
        self.0.store(value.to_bits(), Ordering::Relaxed);
    }

    /// Adds `delta` (negative to subtract).
    pub fn add(&self, delta: f64) {
        add_f64(&self.0, delta);
    }

    /// Adds one.
    pub fn inc(&self) {
        self.add(1.0);
    }

    /// Subtracts one.
    pub fn dec(&self) {
        self.add(-1.0);
    }

    /// The current value.
    pub fn get(&self) -> f64 {
        f64::from_bits(self.0.load(Ordering::Relaxed))
    }
}

fn add_f64(cell: &AtomicU64, delta: f64) {
    let mut current = cell.load(Ordering::Relaxed);
    loop {
        let next = (f64::from_bits(current) + delta).to_bits();
        match cell.compare_exchange_weak(current, next, Ordering::Relaxed, Ordering::Relaxed) {
            Ok(_) => return,
            Err(actual) => current = actual,
        }
    }
}

#[derive(Debug)]
struct HistogramCells {
    bounds: Arc<[f64]>,
    /// One cell per bound plus the overflow (`+Inf`) cell; not cumulative.
    counts: Box<[AtomicU64]>,
    sum_bits: AtomicU64,
}

/// A distribution of observations over fixed buckets.
#[derive(Clone, Debug)]
pub struct Histogram(Arc<HistogramCells>);

impl Histogram {
    /// Records one observation.
    pub fn observe(&self, value: f64) {
        let cells = &self.0;
        let index = cells.bounds.iter().position(|bound| value <= *bound);
        let cell = index.unwrap_or(cells.bounds.len());
        if let Some(count) = cells.counts.get(cell) {
            count.fetch_add(1, Ordering::Relaxed);
        }
        add_f64(&cells.sum_bits, value);
    }

    /// Number of observations so far.
    pub fn count(&self) -> u64 {
        self.0
            .counts
            .iter()
            .map(|c| c.load(Ordering::Relaxed))
            .sum()
    }
}

#[derive(Clone, Debug)]
enum Series {
    Counter(Counter),
    Gauge(Gauge),
    Histogram(Histogram),
}

#[derive(Debug)]
struct Family {
    help: String,
    kind: Kind,
    label_names: Vec<String>,
    bounds: Arc<[f64]>,
    /// Keyed by label values in `label_names` order.
    series: BTreeMap<Vec<String>, Series>,
}

/// The set of metric families the process exposes on `GET /metrics`. Cloning shares it.
#[derive(Clone, Debug, Default)]
pub struct Registry {
    families: Arc<Mutex<BTreeMap<String, Family>>>,
}

impl Registry {
    /// An empty registry.
    pub fn new() -> Self {
        Self::default()
    }

    /// The counter `name` with these label values, created at 0 on first use.
    pub fn counter(
        &self,
        name: &str,
        help: &str,
        labels: &[(&str, &str)],
    ) -> Result<Counter, MetricsError> {
        match self.series(name, help, Kind::Counter, &[], labels)? {
            Series::Counter(counter) => Ok(counter),
            _ => Err(MetricsError::KindMismatch(name.to_owned())),
        }
    }

    /// The gauge `name` with these label values, created at 0 on first use.
    pub fn gauge(
        &self,
        name: &str,
        help: &str,
        labels: &[(&str, &str)],
    ) -> Result<Gauge, MetricsError> {
        match self.series(name, help, Kind::Gauge, &[], labels)? {
            Series::Gauge(gauge) => Ok(gauge),
            _ => Err(MetricsError::KindMismatch(name.to_owned())),
        }
    }

    /// The histogram `name` with upper bounds `buckets` (the `+Inf` bucket is implicit)
    /// and these label values.
    pub fn histogram(
        &self,
        name: &str,
        help: &str,
        buckets: &[f64],
        labels: &[(&str, &str)],
    ) -> Result<Histogram, MetricsError> {
        let increasing = buckets.windows(2).all(|pair| pair.first() < pair.get(1));
        if !increasing || buckets.iter().any(|bound| !bound.is_finite()) {
            return Err(MetricsError::InvalidBuckets(name.to_owned()));
        }
        match self.series(name, help, Kind::Histogram, buckets, labels)? {
            Series::Histogram(histogram) => Ok(histogram),
            _ => Err(MetricsError::KindMismatch(name.to_owned())),
        }
    }

    fn series(
        &self,
        name: &str,
        help: &str,
        kind: Kind,
        bounds: &[f64],
        labels: &[(&str, &str)],
    ) -> Result<Series, MetricsError> {
        if !valid_metric_name(name) {
            return Err(MetricsError::InvalidName(name.to_owned()));
        }
        let mut sorted: Vec<(&str, &str)> = labels.to_vec();
        sorted.sort_by(|a, b| a.0.cmp(b.0));
        let mut previous: Option<&str> = None;
        for (label, _) in &sorted {
            let reserved = label.starts_with("__") || (kind == Kind::Histogram && *label == "le");
            if !valid_label_name(label) || reserved || previous == Some(label) {
                return Err(MetricsError::InvalidLabel((*label).to_owned()));
            }
            previous = Some(label);
        }
        let names: Vec<String> = sorted.iter().map(|(n, _)| (*n).to_owned()).collect();
        let values: Vec<String> = sorted.iter().map(|(_, v)| (*v).to_owned()).collect();

        let mut families = self.families.lock().unwrap_or_else(PoisonError::into_inner);
        let family = families.entry(name.to_owned()).or_insert_with(|| Family {
            help: help.to_owned(),
            kind,
            label_names: names.clone(),
            bounds: bounds.into(),
            series: BTreeMap::new(),
        });
        if family.kind != kind {
            return Err(MetricsError::KindMismatch(name.to_owned()));
        }
        if family.label_names != names {
            return Err(MetricsError::LabelMismatch(name.to_owned()));
        }
        if *family.bounds != *bounds {
            return Err(MetricsError::InvalidBuckets(name.to_owned()));
        }
        let family_bounds = Arc::clone(&family.bounds);
        let series = family.series.entry(values).or_insert_with(|| match kind {
            Kind::Counter => Series::Counter(Counter(Arc::default())),
            Kind::Gauge => Series::Gauge(Gauge(Arc::new(AtomicU64::new(0f64.to_bits())))),
            Kind::Histogram => Series::Histogram(Histogram(Arc::new(HistogramCells {
                counts: (0..=family_bounds.len())
                    .map(|_| AtomicU64::new(0))
                    .collect(),
                bounds: family_bounds,
                sum_bits: AtomicU64::new(0f64.to_bits()),
            }))),
        });
        Ok(series.clone())
    }

    /// Every family in the text exposition format 0.0.4, sorted by name.
    pub fn render(&self) -> String {
        let families = self.families.lock().unwrap_or_else(PoisonError::into_inner);
        let mut out = String::new();
        for (name, family) in families.iter() {
            let _ = writeln!(out, "# HELP {name} {}", escape_help(&family.help));
            let _ = writeln!(out, "# TYPE {name} {}", family.kind.as_str());
            for (values, series) in &family.series {
                let labels = format_labels(&family.label_names, values, None);
                match series {
                    Series::Counter(counter) => {
                        let _ = writeln!(out, "{name}{labels} {}", counter.get());
                    }
                    Series::Gauge(gauge) => {
                        let _ = writeln!(out, "{name}{labels} {}", format_float(gauge.get()));
                    }
                    Series::Histogram(histogram) => {
                        render_histogram(&mut out, name, &family.label_names, values, histogram);
                    }
                }
            }
        }
        out
    }
}

fn render_histogram(
    out: &mut String,
    name: &str,
    label_names: &[String],
    values: &[String],
    histogram: &Histogram,
) {
    let cells = &histogram.0;
    let mut cumulative = 0u64;
    for (index, count) in cells.counts.iter().enumerate() {
        cumulative += count.load(Ordering::Relaxed);
        let le = cells
            .bounds
            .get(index)
            .map_or_else(|| "+Inf".to_owned(), |b| format_float(*b));
        let labels = format_labels(label_names, values, Some(&le));
        let _ = writeln!(out, "{name}_bucket{labels} {cumulative}");
    }
    let labels = format_labels(label_names, values, None);
    let sum = f64::from_bits(cells.sum_bits.load(Ordering::Relaxed));
    let _ = writeln!(out, "{name}_sum{labels} {}", format_float(sum));
    // The count is the `+Inf` bucket, so the two always agree.
    let _ = writeln!(out, "{name}_count{labels} {cumulative}");
}

fn format_labels(names: &[String], values: &[String], le: Option<&str>) -> String {
    let mut pairs: Vec<String> = names
        .iter()
        .zip(values)
        .map(|(name, value)| format!("{name}=\"{}\"", escape_label_value(value)))
        .collect();
    if let Some(le) = le {
        pairs.push(format!("le=\"{le}\""));
    }
    if pairs.is_empty() {
        String::new()
    } else {
        format!("{{{}}}", pairs.join(","))
    }
}

fn valid_metric_name(name: &str) -> bool {
    let mut bytes = name.bytes();
    bytes
        .next()
        .is_some_and(|b| b.is_ascii_alphabetic() || b == b'_' || b == b':')
        && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b':')
}

fn valid_label_name(name: &str) -> bool {
    let mut bytes = name.bytes();
    bytes
        .next()
        .is_some_and(|b| b.is_ascii_alphabetic() || b == b'_')
        && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// HELP text escaping: backslash and line feed.
fn escape_help(text: &str) -> String {
    text.replace('\\', "\\\\").replace('\n', "\\n")
}

/// Label value escaping: backslash, double quote and line feed.
fn escape_label_value(text: &str) -> String {
    text.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// Go-compatible float text: `+Inf`, `-Inf`, `NaN`, else Rust's shortest round-trip form.
fn format_float(value: f64) -> String {
    if value.is_nan() {
        "NaN".to_owned()
    } else if value.is_infinite() {
        if value > 0.0 { "+Inf" } else { "-Inf" }.to_owned()
    } else {
        format!("{value}")
    }
}

/// Middleware (`axum::middleware::from_fn_with_state(registry, track_http)`, added with
/// `Router::layer` so it runs after routing) that counts requests in
/// `opencec_http_requests_total{method,route,status}` and times them in
/// `opencec_http_request_duration_seconds{method,route}`. `route` is the matched path
/// template (`/api/v1/tenants/{tenant}`) or `unmatched`, and unusual methods are `other`,
/// so the number of series stays bounded whatever clients send.
pub async fn track_http(
    State(registry): State<Registry>,
    request: Request,
    next: Next,
) -> Response {
    let started = Instant::now();
    let method = method_label(request.method());
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |path| path.as_str().to_owned());
    let response = next.run(request).await;
    let status = response.status().as_u16().to_string();
    let labels = [("method", method), ("route", route.as_str())];
    let counted = registry
        .counter(
            "opencec_http_requests_total",
            "HTTP requests answered, by method, route template and status.",
            &[labels[0], labels[1], ("status", status.as_str())],
        )
        .map(|counter| counter.inc());
    let timed = registry
        .histogram(
            "opencec_http_request_duration_seconds",
            "Time from receiving an HTTP request to producing its response head.",
            &HTTP_DURATION_BUCKETS,
            &labels,
        )
        .map(|histogram| histogram.observe(started.elapsed().as_secs_f64()));
    if let Err(error) = counted.and(timed) {
        tracing::error!(%error, "HTTP metrics not recorded");
    }
    response
}

fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

/// `GET /metrics` handler: the registry (reached through `FromRef` on the state) as text.
pub async fn metrics_endpoint(State(registry): State<Registry>) -> Response {
    let mut response = registry.render().into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(METRICS_CONTENT_TYPE),
    );
    response
}

#[cfg(test)]
#[path = "metrics_tests.rs"]
mod tests;
