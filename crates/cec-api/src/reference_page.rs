//! The human-readable API reference: one self-contained HTML page (inline CSS, no script,
//! nothing fetched) rendered from our own OpenAPI document, so the binary serves its docs
//! offline and nothing is downloaded at build time.

use std::fmt::Write as _;

use serde_json::{Map, Value};

/// How deep inline (un-named) schemas are expanded before the page shows just their type.
const MAX_SCHEMA_DEPTH: usize = 6;

/// The HTTP methods of an OpenAPI path item, in the order the page lists them.
const METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

const STYLE: &str = "body{font:15px/1.5 system-ui,sans-serif;margin:0 auto;max-width:980px;\
padding:1em 2em;color:#1d2330}h1{margin-bottom:0}code{font:13px ui-monospace,monospace;\
background:#f1f3f6;padding:0 .25em;border-radius:3px}article{border:1px solid #d7dbe2;\
border-radius:6px;padding:.5em 1em;margin:1em 0}table{border-collapse:collapse;width:100%;\
margin:.5em 0}th,td{text-align:left;vertical-align:top;border-bottom:1px solid #e4e7ec;\
padding:.3em .5em}th{background:#f7f8fa}.method{display:inline-block;min-width:4.5em;\
text-align:center;color:#fff;border-radius:4px;font-size:13px;padding:0 .4em;\
background:#5b6477}.get{background:#2f7d32}.post{background:#1f5fad}.put{background:#8a5a00}\
.patch{background:#6b4fa3}.delete{background:#b3261e}.desc{white-space:pre-wrap}\
.muted{color:#667085}nav ul{columns:2}";

/// The reference page for `openapi` (an OpenAPI 3.x document as JSON). Every string taken
/// from the document is HTML-escaped; `$ref`s to component schemas become in-page links.
pub fn render_reference(openapi: &Value) -> String {
    let info = openapi.get("info");
    let title = text(info, "title").unwrap_or("API reference");
    let version = text(info, "version").unwrap_or_default();
    let mut html = String::with_capacity(16 * 1024);
    let _ = write!(
        html,
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
         <title>{} {}</title><style>{STYLE}</style></head><body><header><h1>{}</h1>\
         <p class=\"muted\">Version {}</p>",
        escape(title),
        escape(version),
        escape(title),
        escape(version)
    );
    if let Some(description) = text(info, "description") {
        let _ = write!(html, "<div class=\"desc\">{}</div>", escape(description));
    }
    html.push_str("</header>");

    let operations = collect_operations(openapi);
    let schemas = openapi
        .pointer("/components/schemas")
        .and_then(Value::as_object);
    render_contents(&mut html, &operations, schemas);

    html.push_str("<main><section id=\"operations\"><h2>Operations</h2>");
    for operation in &operations {
        render_operation(&mut html, operation);
    }
    html.push_str("</section>");
    if let Some(schemas) = schemas {
        html.push_str("<section id=\"schemas\"><h2>Schemas</h2>");
        for (name, schema) in schemas {
            let _ = write!(
                html,
                "<article id=\"{}\"><h3><code>{}</code></h3>",
                anchor("schema-", name),
                escape(name)
            );
            render_description(&mut html, schema);
            let _ = write!(html, "<p>Type: {}</p>", type_summary(schema, 0));
            render_schema_details(&mut html, schema, 0);
            html.push_str("</article>");
        }
        html.push_str("</section>");
    }
    html.push_str("</main></body></html>\n");
    html
}

struct Operation<'a> {
    method: &'static str,
    path: &'a str,
    operation: &'a Value,
    /// Parameters declared on the path item, shared by its operations.
    shared_parameters: Option<&'a Vec<Value>>,
}

fn collect_operations(openapi: &Value) -> Vec<Operation<'_>> {
    let mut operations = Vec::new();
    let Some(paths) = openapi.get("paths").and_then(Value::as_object) else {
        return operations;
    };
    for (path, item) in paths {
        let shared_parameters = item.get("parameters").and_then(Value::as_array);
        for method in METHODS {
            if let Some(operation) = item.get(method).filter(|op| op.is_object()) {
                operations.push(Operation {
                    method,
                    path,
                    operation,
                    shared_parameters,
                });
            }
        }
    }
    operations
}

fn operation_anchor(operation: &Operation<'_>) -> String {
    anchor(&format!("op-{}-", operation.method), operation.path)
}

fn render_contents(
    html: &mut String,
    operations: &[Operation<'_>],
    schemas: Option<&Map<String, Value>>,
) {
    html.push_str("<nav><h2>Contents</h2><ul>");
    for operation in operations {
        let _ = write!(
            html,
            "<li><a href=\"#{}\">{} <code>{}</code></a></li>",
            operation_anchor(operation),
            operation.method.to_ascii_uppercase(),
            escape(operation.path)
        );
    }
    for name in schemas.into_iter().flat_map(Map::keys) {
        let _ = write!(
            html,
            "<li><a href=\"#{}\">{}</a></li>",
            anchor("schema-", name),
            escape(name)
        );
    }
    html.push_str("</ul></nav>");
}

fn render_operation(html: &mut String, operation: &Operation<'_>) {
    let op = operation.operation;
    let _ = write!(
        html,
        "<article id=\"{}\"><h3><span class=\"method {}\">{}</span> <code>{}</code></h3>",
        operation_anchor(operation),
        operation.method,
        operation.method.to_ascii_uppercase(),
        escape(operation.path)
    );
    if let Some(summary) = text(Some(op), "summary") {
        let _ = write!(html, "<p><strong>{}</strong></p>", escape(summary));
    }
    render_description(html, op);
    if op.get("deprecated").and_then(Value::as_bool) == Some(true) {
        html.push_str("<p class=\"muted\">Deprecated.</p>");
    }

    let parameters: Vec<&Value> = operation
        .shared_parameters
        .into_iter()
        .flatten()
        .chain(
            op.get("parameters")
                .and_then(Value::as_array)
                .into_iter()
                .flatten(),
        )
        .collect();
    if !parameters.is_empty() {
        html.push_str(
            "<h4>Parameters</h4><table><tr><th>Name</th><th>In</th><th>Type</th>\
             <th>Required</th><th>Description</th></tr>",
        );
        for parameter in parameters {
            let schema = parameter.get("schema").unwrap_or(parameter);
            let _ = write!(
                html,
                "<tr><td><code>{}</code></td><td>{}</td><td>{}</td><td>{}</td><td class=\"desc\">{}</td></tr>",
                escape(text(Some(parameter), "name").unwrap_or_default()),
                escape(text(Some(parameter), "in").unwrap_or_default()),
                type_summary(schema, 0),
                yes_no(parameter.get("required").and_then(Value::as_bool) == Some(true)),
                escape(text(Some(parameter), "description").unwrap_or_default())
            );
        }
        html.push_str("</table>");
    }

    if let Some(body) = op.get("requestBody") {
        let required = body.get("required").and_then(Value::as_bool) == Some(true);
        let _ = write!(
            html,
            "<h4>Request body{}</h4>",
            if required { " (required)" } else { "" }
        );
        render_description(html, body);
        render_content(html, body);
    }

    if let Some(responses) = op.get("responses").and_then(Value::as_object) {
        html.push_str("<h4>Responses</h4><table><tr><th>Status</th><th>Description</th></tr>");
        for (status, response) in responses {
            let _ = write!(
                html,
                "<tr><td><code>{}</code></td><td><div class=\"desc\">{}</div>",
                escape(status),
                escape(text(Some(response), "description").unwrap_or_default())
            );
            render_content(html, response);
            html.push_str("</td></tr>");
        }
        html.push_str("</table>");
    }
    html.push_str("</article>");
}

/// The media types of a request body or response with their schemas.
fn render_content(html: &mut String, holder: &Value) {
    let Some(content) = holder.get("content").and_then(Value::as_object) else {
        return;
    };
    for (media_type, media) in content {
        let Some(schema) = media.get("schema") else {
            let _ = write!(html, "<p><code>{}</code></p>", escape(media_type));
            continue;
        };
        let _ = write!(
            html,
            "<p><code>{}</code>: {}</p>",
            escape(media_type),
            type_summary(schema, 0)
        );
        if schema.get("$ref").is_none() {
            render_schema_details(html, schema, 0);
        }
    }
}

fn render_description(html: &mut String, value: &Value) {
    if let Some(description) = text(Some(value), "description") {
        let _ = write!(html, "<div class=\"desc\">{}</div>", escape(description));
    }
}

/// Properties, enum values and alternatives of an inline schema.
fn render_schema_details(html: &mut String, schema: &Value, depth: usize) {
    if depth >= MAX_SCHEMA_DEPTH {
        return;
    }
    if let Some(values) = schema.get("enum").and_then(Value::as_array) {
        html.push_str("<p>Values: ");
        let listed: Vec<String> = values
            .iter()
            .map(|v| format!("<code>{}</code>", escape(&v.to_string())))
            .collect();
        html.push_str(&listed.join(", "));
        html.push_str("</p>");
    }
    if let Some(properties) = schema.get("properties").and_then(Value::as_object) {
        let required: Vec<&str> = schema
            .get("required")
            .and_then(Value::as_array)
            .map(|names| names.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        html.push_str(
            "<table><tr><th>Field</th><th>Type</th><th>Required</th><th>Description</th></tr>",
        );
        for (name, property) in properties {
            let _ = write!(
                html,
                "<tr><td><code>{}</code></td><td>{}</td><td>{}</td><td><div class=\"desc\">{}</div>",
                escape(name),
                type_summary(property, 0),
                yes_no(required.contains(&name.as_str())),
                escape(text(Some(property), "description").unwrap_or_default())
            );
            if let Some(inline) = inline_object(property) {
                render_schema_details(html, inline, depth + 1);
            }
            html.push_str("</td></tr>");
        }
        html.push_str("</table>");
    }
    for combinator in ["oneOf", "anyOf", "allOf"] {
        let Some(alternatives) = schema.get(combinator).and_then(Value::as_array) else {
            continue;
        };
        let _ = write!(html, "<p>{}:</p><ul>", combinator_label(combinator));
        for alternative in alternatives {
            let _ = write!(html, "<li>{}", type_summary(alternative, 0));
            render_description(html, alternative);
            if alternative.get("$ref").is_none() {
                render_schema_details(html, alternative, depth + 1);
            }
            html.push_str("</li>");
        }
        html.push_str("</ul>");
    }
}

/// The inline object schema to expand under a property (directly or as array items).
fn inline_object(property: &Value) -> Option<&Value> {
    let candidate = property.get("items").unwrap_or(property);
    let expandable = candidate.get("properties").is_some()
        || candidate.get("oneOf").is_some()
        || candidate.get("anyOf").is_some()
        || candidate.get("allOf").is_some()
        || candidate.get("enum").is_some();
    (candidate.get("$ref").is_none() && expandable).then_some(candidate)
}

fn combinator_label(combinator: &str) -> &'static str {
    match combinator {
        "oneOf" => "One of",
        "anyOf" => "Any of",
        _ => "All of",
    }
}

/// A one-line HTML description of a schema's type: `string (date-time)`, `array of
/// <a href="#schema-Skill">Skill</a>`, `integer | null`.
fn type_summary(schema: &Value, depth: usize) -> String {
    if depth >= MAX_SCHEMA_DEPTH {
        return "…".to_owned();
    }
    if let Some(reference) = schema.get("$ref").and_then(Value::as_str) {
        return reference_link(reference);
    }
    for (combinator, separator) in [("oneOf", " | "), ("anyOf", " | "), ("allOf", " &amp; ")] {
        if let Some(alternatives) = schema.get(combinator).and_then(Value::as_array) {
            let parts: Vec<String> = alternatives
                .iter()
                .map(|a| type_summary(a, depth + 1))
                .collect();
            return parts.join(separator);
        }
    }
    let types: Vec<&str> = match schema.get("type") {
        Some(Value::String(one)) => vec![one.as_str()],
        Some(Value::Array(many)) => many.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    };
    if types.is_empty() {
        return if schema.get("properties").is_some() {
            "object"
        } else {
            "any"
        }
        .to_owned();
    }
    let parts: Vec<String> = types
        .iter()
        .map(|kind| match *kind {
            "array" => match schema.get("items") {
                Some(items) => format!("array of {}", type_summary(items, depth + 1)),
                None => "array".to_owned(),
            },
            "object" => match schema.get("additionalProperties").filter(|v| v.is_object()) {
                Some(values) => format!("map of string to {}", type_summary(values, depth + 1)),
                None => "object".to_owned(),
            },
            other => match text(Some(schema), "format") {
                Some(format) => format!("{} ({})", escape(other), escape(format)),
                None => escape(other),
            },
        })
        .collect();
    parts.join(" | ")
}

fn reference_link(reference: &str) -> String {
    match reference.strip_prefix("#/components/schemas/") {
        Some(name) => format!(
            "<a href=\"#{}\">{}</a>",
            anchor("schema-", name),
            escape(name)
        ),
        None => format!("<code>{}</code>", escape(reference)),
    }
}

fn text<'v>(value: Option<&'v Value>, key: &str) -> Option<&'v str> {
    value?.get(key)?.as_str()
}

fn yes_no(flag: bool) -> &'static str {
    if flag { "yes" } else { "no" }
}

/// An element id made of `[A-Za-z0-9_.-]` only (every other byte, and `.` itself, as `.xx`
/// hex), so it needs no escaping in an attribute or a fragment and distinct names never
/// collide.
fn anchor(prefix: &str, name: &str) -> String {
    let mut id = String::with_capacity(prefix.len() + name.len());
    id.push_str(prefix);
    for byte in name.bytes() {
        if byte.is_ascii_alphanumeric() || byte == b'_' || byte == b'-' {
            id.push(char::from(byte));
        } else {
            let _ = write!(id, ".{byte:02x}");
        }
    }
    id
}

/// HTML escaping for text and attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            other => out.push(other),
        }
    }
    out
}
