//! The OpenAPI 3.1 document: component schemas derived by utoipa from the Rust types the
//! handlers use, operations from the route table.

use serde_json::{Map, Value, json};
use utoipa::openapi::{RefOr, schema::Schema};

/// A request or response body in the documentation.
#[derive(Debug, Clone)]
pub enum Body {
    /// JSON described by a component schema.
    Schema(String),
    /// JSON described inline.
    Inline(Value),
    /// Non-JSON content (`audio/wav`, `text/html`, …).
    Raw(&'static str),
}

/// One operation of the API, documented.
#[derive(Debug, Clone)]
pub struct RouteDoc {
    /// HTTP method, lower case.
    pub method: &'static str,
    /// Path template (`/api/v1/tenants/{tenant}/trunks`).
    pub path: String,
    /// One-line summary.
    pub summary: String,
    /// Group.
    pub tag: &'static str,
    /// Request body.
    pub request: Option<Body>,
    /// Success response body.
    pub response: Option<Body>,
    /// Success status.
    pub status: u16,
    /// Whether a bearer token is needed.
    pub auth: bool,
    /// Query parameters: name, JSON type, description.
    pub query: Vec<(&'static str, &'static str, &'static str)>,
    /// Whether the request body may be left out.
    pub request_optional: bool,
    /// Error answers beyond the usual ones (status, when).
    pub problems: Vec<(u16, &'static str)>,
}

impl RouteDoc {
    /// An authenticated operation answering 200.
    pub fn new(method: &'static str, tag: &'static str, summary: impl Into<String>) -> RouteDoc {
        RouteDoc {
            method,
            path: String::new(),
            summary: summary.into(),
            tag,
            request: None,
            response: None,
            status: 200,
            auth: true,
            query: Vec::new(),
            request_optional: false,
            problems: Vec::new(),
        }
    }

    pub(crate) fn at(mut self, path: &str) -> RouteDoc {
        self.path = path.to_owned();
        self
    }

    /// Sets the request body.
    pub fn request(mut self, body: Body) -> RouteDoc {
        self.request = Some(body);
        self
    }

    /// Sets a request body the client may leave out.
    pub fn optional_request(mut self, body: Body) -> RouteDoc {
        self.request = Some(body);
        self.request_optional = true;
        self
    }

    /// Documents one more error answer.
    pub fn problem(mut self, status: u16, description: &'static str) -> RouteDoc {
        self.problems.push((status, description));
        self
    }

    /// Sets the response body.
    pub fn response(mut self, body: Body) -> RouteDoc {
        self.response = Some(body);
        self
    }

    /// Sets the success status.
    pub fn status(mut self, status: u16) -> RouteDoc {
        self.status = status;
        self
    }

    /// Marks the operation as open (no token).
    pub fn public(mut self) -> RouteDoc {
        self.auth = false;
        self
    }

    /// Adds a query parameter.
    pub fn query(
        mut self,
        name: &'static str,
        kind: &'static str,
        description: &'static str,
    ) -> RouteDoc {
        self.query.push((name, kind, description));
        self
    }
}

/// A component schema reference.
pub fn schema_ref(name: &str) -> Value {
    json!({"$ref": format!("#/components/schemas/{name}")})
}

/// A stored object of `spec`: the managed fields plus the spec's.
pub fn stored(spec: &str) -> Value {
    json!({"allOf": [schema_ref("StoredMeta"), schema_ref(spec)]})
}

/// A page of stored objects of `spec`.
pub fn listing(item: &Value) -> Value {
    json!({
        "type": "object",
        "required": ["items"],
        "properties": {
            "items": {"type": "array", "items": item},
            "next_cursor": {"type": "string", "description": "Pass as `cursor` for the next page; absent on the last page."}
        }
    })
}

fn add<T: utoipa::ToSchema>(schemas: &mut Map<String, Value>) {
    let mut nested: Vec<(String, RefOr<Schema>)> = Vec::new();
    T::schemas(&mut nested);
    nested.push((T::name().into_owned(), T::schema()));
    for (name, schema) in nested {
        schemas.insert(name, serde_json::to_value(schema).unwrap_or(Value::Null));
    }
}

fn components() -> Map<String, Value> {
    use cec_store::model::*;
    let mut s = Map::new();
    add::<TenantSpec>(&mut s);
    add::<TrunkSpec>(&mut s);
    add::<AccessCodeSpec>(&mut s);
    add::<CalledRouteSpec>(&mut s);
    add::<SkillQueueSpec>(&mut s);
    add::<AgentSpec>(&mut s);
    add::<FlowSpec>(&mut s);
    add::<PromptSpec>(&mut s);
    add::<CalendarSpec>(&mut s);
    add::<ReasonCodeSpec>(&mut s);
    add::<cec_store::TenantConfig>(&mut s);
    add::<cec_store::ApplySummary>(&mut s);
    add::<cec_store::AuditEntry>(&mut s);
    add::<cec_store::ApiKey>(&mut s);
    add::<cec_store::NewApiKey>(&mut s);
    add::<crate::ProblemDocument>(&mut s);
    add::<super::auth::TokenRequest>(&mut s);
    add::<super::auth::AgentTokenRequest>(&mut s);
    add::<super::auth::TokenResponse>(&mut s);
    add::<super::tenants::NewKeyRequest>(&mut s);
    add::<cec_store::CdrRecord>(&mut s);
    add::<cec_store::EventRecord>(&mut s);
    add::<super::records::EventPage>(&mut s);
    add::<crate::SignInRequest>(&mut s);
    add::<crate::StateRequest>(&mut s);
    add::<crate::AgentStatus>(&mut s);
    add::<crate::LiveCall>(&mut s);
    s.insert(
        "StoredMeta".into(),
        json!({
            "type": "object",
            "required": ["id", "version", "created_ms", "updated_ms"],
            "properties": {
                "id": {"type": "string", "description": "UUIDv7"},
                "version": {"type": "integer", "format": "int64", "description": "Send it back on PUT/PATCH/DELETE; 409 when it changed."},
                "created_ms": {"type": "integer", "format": "int64"},
                "updated_ms": {"type": "integer", "format": "int64"}
            }
        }),
    );
    s
}

fn body_content(body: &Body) -> Value {
    match body {
        Body::Schema(name) => json!({"application/json": {"schema": schema_ref(name)}}),
        Body::Inline(schema) => json!({"application/json": {"schema": schema}}),
        Body::Raw(content_type) => {
            let mut m = Map::new();
            m.insert(
                (*content_type).to_owned(),
                json!({"schema": {"type": "string", "contentMediaType": content_type}}),
            );
            Value::Object(m)
        }
    }
}

fn operation_id(doc: &RouteDoc) -> String {
    let mut id = doc.method.to_owned();
    for part in doc
        .path
        .split('/')
        .filter(|p| !p.is_empty() && *p != "api" && *p != "v1")
    {
        let part = part.trim_start_matches('{').trim_end_matches('}');
        id.push('_');
        id.push_str(&part.replace('-', "_"));
    }
    id
}

fn problem_response(description: &str) -> Value {
    json!({"description": description, "content": {"application/problem+json": {"schema": schema_ref("ProblemDocument")}}})
}

/// Builds the document for `docs`.
pub fn openapi_document(docs: &[RouteDoc]) -> Value {
    let mut paths = Map::new();
    for doc in docs {
        let mut parameters: Vec<Value> = doc
            .path
            .split('/')
            .filter_map(|p| p.strip_prefix('{').and_then(|p| p.strip_suffix('}')))
            .map(|name| json!({"name": name, "in": "path", "required": true, "schema": {"type": "string"},
                "description": if name == "tenant" { "Tenant name or id" } else { "Id or natural key (name, number, work number)" }}))
            .collect();
        for (name, kind, description) in &doc.query {
            parameters.push(json!({"name": name, "in": "query", "required": false, "schema": {"type": kind}, "description": description}));
        }
        let mut responses = Map::new();
        let mut ok = json!({"description": "Success"});
        if let Some(body) = &doc.response {
            ok["content"] = body_content(body);
        }
        responses.insert(doc.status.to_string(), ok);
        if doc.request.is_some() || !doc.query.is_empty() {
            responses.insert(
                "400".into(),
                problem_response("Invalid input; `errors` names each field"),
            );
        }
        if doc.auth {
            responses.insert(
                "401".into(),
                problem_response("Missing, invalid or expired token"),
            );
            responses.insert("403".into(), problem_response("Role not allowed"));
        }
        if doc.path.contains('{') {
            responses.insert("404".into(), problem_response("No such tenant or object"));
        }
        if matches!(doc.method, "post" | "put" | "patch" | "delete") && doc.auth {
            responses.insert(
                "409".into(),
                problem_response("Duplicate, version conflict or still in use"),
            );
        }
        for (status, description) in &doc.problems {
            responses.insert(status.to_string(), problem_response(description));
        }
        let mut op = json!({
            "operationId": operation_id(doc),
            "summary": doc.summary,
            "tags": [doc.tag],
            "responses": responses,
        });
        if !parameters.is_empty() {
            op["parameters"] = Value::Array(parameters);
        }
        if let Some(body) = &doc.request {
            op["requestBody"] =
                json!({"required": !doc.request_optional, "content": body_content(body)});
        }
        if doc.auth {
            op["security"] = json!([{"bearer": []}]);
        }
        let entry = paths.entry(doc.path.clone()).or_insert_with(|| json!({}));
        entry[doc.method] = op;
    }
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "OpenCEC API",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Configuration and control of an OpenCEC contact center. Errors are application/problem+json. Get a token from POST /api/v1/auth/token and send it as `Authorization: Bearer <token>`.",
            "license": {"name": "Apache-2.0", "identifier": "Apache-2.0"}
        },
        "paths": paths,
        "components": {
            "schemas": components(),
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}
        }
    })
}
