use std::collections::BTreeMap;

use axum::http::StatusCode;
use serde::Deserialize;

use super::*;

#[derive(Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
struct Agent {
    name: String,
    #[serde(default)]
    skills: Vec<Skill>,
    #[serde(default)]
    labels: BTreeMap<String, u32>,
    #[serde(default)]
    state: Option<State>,
}

#[derive(Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
struct Skill {
    skill: String,
    weight: u8,
}

#[derive(Debug, Deserialize, PartialEq)]
#[serde(rename_all = "snake_case")]
enum State {
    Ready,
    Away,
}

fn field_of(json: &str) -> (String, String) {
    let problem = parse_json::<Agent>(json.as_bytes()).unwrap_err();
    assert_eq!(problem.status(), StatusCode::BAD_REQUEST, "{problem}");
    assert_eq!(problem.slug(), "invalid-input", "{problem}");
    assert_eq!(problem.errors().len(), 1);
    let error = &problem.errors()[0];
    (error.field.clone(), error.reason.clone())
}

#[test]
fn valid_document_parses() {
    let agent: Agent =
        parse_json(br#"{"name":"ann","skills":[{"skill":"fr","weight":3}],"state":"away"}"#)
            .unwrap();
    assert_eq!(agent.skills[0].weight, 3);
    assert_eq!(agent.state, Some(State::Away));
}

#[test]
fn missing_field_is_named() {
    assert_eq!(field_of("{}"), ("name".into(), "missing field".into()));
    let nested = field_of(r#"{"name":"a","skills":[{"skill":"x","weight":1},{"weight":1}]}"#);
    assert_eq!(nested, ("skills[1].skill".into(), "missing field".into()));
}

#[test]
fn unknown_field_is_named_with_its_path() {
    assert_eq!(
        field_of(r#"{"name":"a","extra":1}"#),
        ("extra".into(), "unknown field".into())
    );
    let nested = field_of(r#"{"name":"a","skills":[{"skill":"x","weight":1,"colour":2}]}"#);
    assert_eq!(nested, ("skills[0].colour".into(), "unknown field".into()));
}

#[test]
fn unknown_field_with_odd_characters_is_quoted() {
    let (field, reason) = field_of(r#"{"name":"a","we`ird, expected x":1}"#);
    assert_eq!(field, r#"["we`ird, expected x"]"#);
    assert_eq!(reason, "unknown field");
}

#[test]
fn wrong_type_names_path_and_expected_type() {
    let (field, reason) = field_of(r#"{"name":"a","skills":[{"skill":"x","weight":"high"}]}"#);
    assert_eq!(field, "skills[0].weight");
    assert!(
        reason.starts_with("invalid type: string \"high\", expected u8"),
        "{reason}"
    );
    assert!(!reason.contains("line"), "{reason}");
}

#[test]
fn out_of_range_number_is_invalid_value() {
    let (field, reason) = field_of(r#"{"name":"a","skills":[{"skill":"x","weight":300}]}"#);
    assert_eq!(field, "skills[0].weight");
    assert!(
        reason.starts_with("invalid value: integer `300`, expected u8"),
        "{reason}"
    );
}

#[test]
fn unknown_enum_variant_is_named() {
    let (field, reason) = field_of(r#"{"name":"a","state":"asleep"}"#);
    assert_eq!(field, "state");
    assert!(reason.starts_with("unknown variant `asleep`"), "{reason}");
}

#[test]
fn enum_given_a_non_string_is_a_field_error_not_malformed_json() {
    // serde_json reports these as syntax errors although the document is well-formed.
    for json in [
        r#"{"name":"a","state":false}"#,
        r#"{"name":"a","state":[]}"#,
        r#"{"name":"a","state":{}}"#,
    ] {
        let (field, reason) = field_of(json);
        assert_eq!(field, "state", "{json}");
        assert_eq!(reason, "invalid type: expected an enum variant", "{json}");
    }
}

#[test]
fn map_keys_that_are_not_words_are_quoted() {
    let (field, _) = field_of(r#"{"name":"a","labels":{"a.b":"x"}}"#);
    assert_eq!(field, r#"labels["a.b"]"#);
    let (field, _) = field_of(r#"{"name":"a","labels":{"tier":-1}}"#);
    assert_eq!(field, "labels.tier");
}

#[test]
fn wrong_root_type_is_the_root_field() {
    assert_eq!(field_of("42").0, ROOT_FIELD);
    // serde accepts a struct as a sequence of its fields; the error is then at the element.
    assert_eq!(field_of("[1]").0, "[0]");
    assert_eq!(field_of("null").0, ROOT_FIELD);
}

#[test]
fn huge_quoted_input_is_not_echoed_whole() {
    let long = "x".repeat(10_000);
    let (_, reason) = field_of(&format!(r#"{{"name":"a","skills":"{long}"}}"#));
    assert!(reason.len() <= MAX_REASON, "{}", reason.len());
}

#[test]
fn syntax_errors_give_line_and_column() {
    for (json, position) in [
        ("{\n  \"name\": \"a\",\n  oops\n}", "line 3 column 3"),
        ("", "line 1 column 0"),
        (r#"{"name":"a"} trailing"#, "line 1 column 14"),
    ] {
        let problem = parse_json::<Agent>(json.as_bytes()).unwrap_err();
        assert_eq!(problem.status(), StatusCode::BAD_REQUEST);
        assert_eq!(problem.slug(), "malformed-json");
        let detail = problem.detail().unwrap_or_default();
        assert!(detail.starts_with(position), "{detail}");
    }
}

#[test]
fn content_types() {
    let accepted = [
        "application/json",
        "Application/JSON; charset=utf-8",
        "application/merge-patch+json",
        " application/json ;charset=UTF-8",
    ];
    let refused = [
        "text/plain",
        "application/jsonx",
        "application/json+xml",
        "json",
        "",
    ];
    for (value, expected) in accepted
        .iter()
        .map(|v| (v, true))
        .chain(refused.iter().map(|v| (v, false)))
    {
        let mut headers = HeaderMap::new();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_str(value).unwrap());
        assert_eq!(is_json_content_type(&headers), expected, "{value}");
    }
    assert!(!is_json_content_type(&HeaderMap::new()));
}

#[derive(Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
struct Page {
    limit: u32,
    #[serde(default)]
    after: Option<String>,
}

#[test]
fn query_strings() {
    let page: Page = parse_query("limit=10&after=q%201").unwrap();
    assert_eq!(
        page,
        Page {
            limit: 10,
            after: Some("q 1".into())
        }
    );
    let cases = [
        ("limit=ten", "limit"),
        ("after=x", "limit"),
        ("limit=1&colour=red", "colour"),
        ("limit=-1", "limit"),
    ];
    for (query, field) in cases {
        let problem = parse_query::<Page>(query).unwrap_err();
        assert_eq!(problem.status(), StatusCode::BAD_REQUEST);
        assert_eq!(problem.errors()[0].field, field, "{query}: {problem}");
    }
}

proptest::proptest! {
    #[test]
    fn arbitrary_query_strings_are_ok_or_a_400_naming_a_field(query in ".{0,60}") {
        if let Err(problem) = parse_query::<Page>(&query) {
            proptest::prop_assert_eq!(problem.status(), StatusCode::BAD_REQUEST);
            proptest::prop_assert!(!problem.errors()[0].field.is_empty());
        }
    }

    #[test]
    fn arbitrary_bytes_are_ok_or_a_400(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..200)) {
        if let Err(problem) = parse_json::<Agent>(&bytes) {
            proptest::prop_assert_eq!(problem.status(), StatusCode::BAD_REQUEST);
            let slug = problem.slug();
            proptest::prop_assert!(slug == "malformed-json" || !problem.errors().is_empty());
        }
    }
}
