//! Arbitrary JSON documents for the property tests: keys drawn mostly from the field names
//! of the types under test (so documents get past the first "unknown field"), strings mostly
//! from values those fields accept.

use proptest::prelude::*;
use serde_json::{Map, Value};

/// Values up to `depth` levels deep whose object keys favour `keys` and whose strings
/// favour `strings`.
pub fn json_value(
    keys: &[&'static str],
    strings: &[&'static str],
    depth: u32,
) -> impl Strategy<Value = Value> {
    let key = prop_oneof![
        4 => prop::sample::select(keys.to_vec()).prop_map(str::to_owned),
        1 => ".{0,8}",
    ];
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(Value::from),
        prop::sample::select(strings.to_vec()).prop_map(Value::from),
        ".{0,12}".prop_map(Value::from),
    ];
    leaf.prop_recursive(depth, depth * 8, depth + 2, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec((key.clone(), inner), 0..6)
                .prop_map(|pairs| Value::Object(pairs.into_iter().collect::<Map<_, _>>())),
        ]
    })
}
