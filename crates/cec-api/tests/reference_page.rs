//! The reference page: every string from the OpenAPI document is HTML-escaped (a
//! `<script>` anywhere stays text), operations and schemas are listed with their details,
//! `$ref`s are in-page links to anchors that exist, and the page works for the document
//! utoipa generates from this crate's own types.

use cec_api::{Claims, FieldError, ProblemDocument, render_reference};
use serde_json::json;
use utoipa::OpenApi;

fn hostile_document() -> serde_json::Value {
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "OpenCEC <script>alert(1)</script>",
            "version": "1.0\"><img src=x onerror=alert(2)>",
            "description": "Contact center API.\n\nSecond <b>paragraph</b>."
        },
        "paths": {
            "/api/v1/tenants/{tenant}/queues": {
                "parameters": [
                    {"name": "tenant", "in": "path", "required": true,
                     "schema": {"type": "string"}, "description": "Tenant id"}
                ],
                "post": {
                    "summary": "Create a queue <script>bad()</script>",
                    "description": "Creates it & returns it.",
                    "parameters": [
                        {"name": "dry_run", "in": "query", "schema": {"type": ["boolean", "null"]}}
                    ],
                    "requestBody": {
                        "required": true,
                        "content": {"application/json": {
                            "schema": {"$ref": "#/components/schemas/Queue"}
                        }}
                    },
                    "responses": {
                        "201": {"description": "Created", "content": {"application/json": {
                            "schema": {"$ref": "#/components/schemas/Queue"}}}},
                        "400": {"description": "Bad input", "content": {"application/problem+json": {
                            "schema": {"$ref": "#/components/schemas/Problem<x>"}}}}
                    }
                },
                "get": {"summary": "List queues", "responses": {"200": {
                    "description": "The queues",
                    "content": {"application/json": {"schema": {
                        "type": "array", "items": {"$ref": "#/components/schemas/Queue"}}}}
                }}}
            }
        },
        "components": {"schemas": {
            "Queue": {
                "type": "object",
                "description": "A queue </div><script>x()</script>",
                "required": ["name"],
                "properties": {
                    "name": {"type": "string", "description": "Unique <i>name</i>"},
                    "strategy": {"type": "string", "enum": ["longest_idle", "<script>"]},
                    "skills": {"type": "array", "items": {
                        "type": "object",
                        "properties": {"weight": {"type": "integer", "format": "int32"}}
                    }},
                    "labels": {"type": "object", "additionalProperties": {"type": "string"}},
                    "owner": {"oneOf": [{"type": "null"}, {"$ref": "#/components/schemas/Problem<x>"}]}
                }
            },
            "Problem<x>": {"type": "object", "properties": {"<script>": {"type": "string"}}}
        }}
    })
}

#[test]
fn every_document_string_is_escaped() {
    let page = render_reference(&hostile_document());
    assert!(!page.to_ascii_lowercase().contains("<script"), "{page}");
    assert!(!page.contains("<img"), "{page}");
    assert!(!page.contains("<b>") && !page.contains("<i>"));
    assert!(page.contains("OpenCEC &lt;script&gt;alert(1)&lt;/script&gt;"));
    assert!(page.contains("1.0&quot;&gt;&lt;img"));
    assert!(page.contains("Creates it &amp; returns it."));
    assert!(
        page.contains("<code>&quot;&lt;script&gt;&quot;</code>"),
        "enum value escaped"
    );
}

#[test]
fn operations_parameters_bodies_and_responses_are_listed() {
    let page = render_reference(&hostile_document());
    assert!(page.starts_with("<!DOCTYPE html>"));
    assert!(page.contains("<span class=\"method post\">POST</span>"));
    assert!(page.contains("<span class=\"method get\">GET</span>"));
    assert!(page.contains("<code>tenant</code></td><td>path</td><td>string</td><td>yes</td>"));
    assert!(
        page.contains("<code>dry_run</code></td><td>query</td><td>boolean | null</td><td>no</td>")
    );
    assert!(page.contains("Request body (required)"));
    assert!(page.contains("array of <a href=\"#schema-Queue\">Queue</a>"));
    assert!(
        page.contains("<td><code>weight</code></td><td>integer (int32)</td>"),
        "nested inline object expanded"
    );
    assert!(page.contains("map of string to string"));
    assert!(page.contains("<code>name</code></td><td>string</td><td>yes</td>"));
    assert!(page.contains("<code>strategy</code></td><td>string</td><td>no</td>"));
}

#[test]
fn every_in_page_link_has_its_anchor() {
    let page = render_reference(&hostile_document());
    let mut links = 0;
    for piece in page.split("href=\"#").skip(1) {
        let target = piece.split('"').next().unwrap();
        assert!(
            page.contains(&format!("id=\"{target}\"")),
            "link to missing anchor {target}"
        );
        links += 1;
    }
    assert!(links >= 6, "{links}");
    // The schema name with `<` and `>` has a safe anchor of its own.
    assert!(page.contains("id=\"schema-Problem.3cx.3e\""));
}

#[derive(OpenApi)]
#[openapi(components(schemas(ProblemDocument, FieldError, Claims)))]
struct Doc;

#[test]
fn renders_the_document_utoipa_derives_from_our_types() {
    let doc = serde_json::to_value(Doc::openapi()).unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));
    let page = render_reference(&doc);
    assert!(page.contains("id=\"schema-ProblemDocument\""));
    assert!(
        page.contains("<code>type</code></td><td>string</td><td>yes</td>"),
        "{page}"
    );
    assert!(
        page.contains("array of <a href=\"#schema-FieldError\">FieldError</a>"),
        "{page}"
    );
    assert!(
        page.contains("<a href=\"#schema-Role\">Role</a>") || page.contains("&quot;admin&quot;")
    );
}

fn arbitrary_json() -> impl proptest::strategy::Strategy<Value = serde_json::Value> {
    use proptest::prelude::*;
    let leaf = prop_oneof![
        Just(serde_json::Value::Null),
        any::<bool>().prop_map(serde_json::Value::Bool),
        any::<i32>().prop_map(serde_json::Value::from),
        "(<script>|[a-z<>&\"' ]{0,8}|#/components/schemas/<x>)".prop_map(serde_json::Value::from),
    ];
    let key = "(paths|components|schemas|get|post|\\$ref|type|items|properties|enum|oneOf|description|content|responses|parameters|<b>|[a-z/{}]{1,6})";
    leaf.prop_recursive(5, 48, 5, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(serde_json::Value::Array),
            prop::collection::vec((key, inner), 0..5)
                .prop_map(|pairs| serde_json::Value::Object(pairs.into_iter().collect())),
        ]
    })
}

proptest::proptest! {
    #[test]
    fn arbitrary_documents_never_panic_or_inject_markup(doc in arbitrary_json()) {
        let page = render_reference(&doc);
        proptest::prop_assert!(!page.contains("<script"));
        proptest::prop_assert!(!page.contains("<b>"));
        proptest::prop_assert!(page.ends_with("</html>\n"));
    }
}
