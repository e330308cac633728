use super::*;

#[test]
fn counter_renders_with_help_type_and_sorted_labels() {
    let registry = Registry::new();
    let counter = registry
        .counter("calls_total", "Calls.", &[("z", "1"), ("a", "x")])
        .unwrap();
    counter.inc();
    counter.add(4);
    // The same labels in another order are the same series.
    registry
        .counter("calls_total", "Calls.", &[("a", "x"), ("z", "1")])
        .unwrap()
        .inc();
    let text = registry.render();
    assert_eq!(
        text,
        "# HELP calls_total Calls.\n# TYPE calls_total counter\ncalls_total{a=\"x\",z=\"1\"} 6\n"
    );
}

#[test]
fn gauge_goes_up_and_down() {
    let registry = Registry::new();
    let gauge = registry.gauge("legs", "Active legs.", &[]).unwrap();
    gauge.inc();
    gauge.inc();
    gauge.dec();
    gauge.add(0.5);
    assert!((gauge.get() - 1.5).abs() < f64::EPSILON);
    assert!(registry.render().contains("\nlegs 1.5\n"));
    gauge.set(f64::INFINITY);
    assert!(registry.render().contains("\nlegs +Inf\n"));
}

#[test]
fn histogram_buckets_are_cumulative_and_count_matches_inf() {
    let registry = Registry::new();
    let histogram = registry
        .histogram("lat", "Latency.", &[0.25, 1.0], &[("op", "x")])
        .unwrap();
    for value in [0.125, 0.25, 0.5, 7.0] {
        histogram.observe(value);
    }
    assert_eq!(histogram.count(), 4);
    let text = registry.render();
    for line in [
        "lat_bucket{op=\"x\",le=\"0.25\"} 2",
        "lat_bucket{op=\"x\",le=\"1\"} 3",
        "lat_bucket{op=\"x\",le=\"+Inf\"} 4",
        "lat_sum{op=\"x\"} 7.875",
        "lat_count{op=\"x\"} 4",
        "# TYPE lat histogram",
    ] {
        assert!(text.lines().any(|l| l == line), "missing {line} in\n{text}");
    }
}

#[test]
fn label_values_and_help_are_escaped() {
    let registry = Registry::new();
    registry
        .counter("x", "line\nback\\slash", &[("v", "a\"b\\c\nd")])
        .unwrap()
        .inc();
    let text = registry.render();
    assert!(text.contains("# HELP x line\\nback\\\\slash\n"), "{text}");
    assert!(text.contains("x{v=\"a\\\"b\\\\c\\nd\"} 1\n"), "{text}");
}

#[test]
fn registration_errors() {
    let registry = Registry::new();
    registry.counter("c", "h", &[("a", "1")]).unwrap();
    assert_eq!(
        registry.gauge("c", "h", &[("a", "1")]).unwrap_err(),
        MetricsError::KindMismatch("c".into())
    );
    assert_eq!(
        registry.counter("c", "h", &[("b", "1")]).unwrap_err(),
        MetricsError::LabelMismatch("c".into())
    );
    assert!(matches!(
        registry.counter("1c", "h", &[]),
        Err(MetricsError::InvalidName(_))
    ));
    assert!(matches!(
        registry.counter("d", "h", &[("a-b", "1")]),
        Err(MetricsError::InvalidLabel(_))
    ));
    assert!(matches!(
        registry.counter("d", "h", &[("__x", "1")]),
        Err(MetricsError::InvalidLabel(_))
    ));
    assert!(matches!(
        registry.counter("d", "h", &[("a", "1"), ("a", "2")]),
        Err(MetricsError::InvalidLabel(_))
    ));
    assert!(matches!(
        registry.histogram("h", "h", &[1.0], &[("le", "1")]),
        Err(MetricsError::InvalidLabel(_))
    ));
    assert!(matches!(
        registry.histogram("h", "h", &[1.0, 1.0], &[]),
        Err(MetricsError::InvalidBuckets(_))
    ));
    assert!(matches!(
        registry.histogram("h", "h", &[f64::NAN], &[]),
        Err(MetricsError::InvalidBuckets(_))
    ));
    registry.histogram("h", "h", &[1.0], &[]).unwrap();
    assert!(matches!(
        registry.histogram("h", "h", &[2.0], &[]),
        Err(MetricsError::InvalidBuckets(_))
    ));
}

#[test]
fn clones_share_series() {
    let registry = Registry::new();
    let first = registry.counter("c", "h", &[]).unwrap();
    let shared = registry.clone();
    let second = shared.counter("c", "h", &[]).unwrap();
    first.inc();
    second.inc();
    assert_eq!(first.get(), 2);
    assert!(registry.render().ends_with("\nc 2\n"));
}

#[test]
fn methods_outside_the_standard_set_share_one_label() {
    let custom = Method::from_bytes(b"PROPFIND").unwrap();
    assert_eq!(method_label(&custom), "other");
    assert_eq!(method_label(&Method::DELETE), "DELETE");
}

fn unescape_label_value(escaped: &str) -> String {
    let mut out = String::new();
    let mut chars = escaped.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            match chars.next() {
                Some('n') => out.push('\n'),
                Some(other) => out.push(other),
                None => out.push('\\'),
            }
        } else {
            out.push(c);
        }
    }
    out
}

proptest::proptest! {
    #[test]
    fn any_label_value_renders_on_one_line_and_round_trips(value in "\\PC*|[\"\\\\\n]{0,5}") {
        let registry = Registry::new();
        registry.counter("m", "h", &[("v", value.as_str())]).unwrap().inc();
        let text = registry.render();
        let series = text.lines().nth(2).unwrap_or_default();
        proptest::prop_assert_eq!(text.lines().count(), 3);
        let inner = series
            .strip_prefix("m{v=\"")
            .and_then(|rest| rest.strip_suffix("\"} 1"))
            .unwrap_or_default();
        proptest::prop_assert_eq!(unescape_label_value(inner), value);
    }
}
