use super::*;

async fn body_of(response: Response) -> ProblemDocument {
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

fn block_on<F: std::future::Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
        .block_on(future)
}

#[test]
fn response_carries_type_status_and_content_type() {
    let response = Problem::not_found("queue sales").into_response();
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    assert_eq!(
        response.headers()[header::CONTENT_TYPE],
        PROBLEM_CONTENT_TYPE
    );
    assert!(response.headers().get(header::WWW_AUTHENTICATE).is_none());
    let doc = block_on(body_of(response));
    assert_eq!(doc.type_uri, "https://opencec.org/problems/not-found");
    assert_eq!(doc.status, 404);
    assert_eq!(doc.detail.as_deref(), Some("queue sales not found"));
    assert!(doc.errors.is_empty());
}

#[test]
fn unauthorized_challenges_for_bearer() {
    let missing = Problem::unauthorized("missing Authorization header").into_response();
    assert_eq!(
        missing.headers()[header::WWW_AUTHENTICATE],
        BEARER_CHALLENGE
    );
    let refused = Problem::invalid_token("token expired").into_response();
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        refused.headers()[header::WWW_AUTHENTICATE],
        BEARER_INVALID_TOKEN
    );
}

#[test]
fn invalid_fields_lists_every_field() {
    let problem = Problem::invalid_fields(vec![
        FieldError::new("name", "missing field"),
        FieldError::new("skills[0].weight", "invalid value"),
    ]);
    assert_eq!(problem.status(), StatusCode::BAD_REQUEST);
    assert_eq!(problem.slug(), "invalid-input");
    assert_eq!(problem.detail(), Some("2 invalid fields"));
    let doc = block_on(body_of(problem.into_response()));
    assert_eq!(doc.errors.len(), 2);
    assert_eq!(doc.errors[1].field, "skills[0].weight");
}

#[test]
fn internal_does_not_leak_the_error() {
    let problem = Problem::internal(&"connection to 10.0.0.5:5432 refused");
    assert_eq!(problem.status(), StatusCode::INTERNAL_SERVER_ERROR);
    assert!(!problem.detail().unwrap_or_default().contains("10.0.0.5"));
}

#[test]
fn statuses_and_slugs_per_kind() {
    let cases = [
        (Problem::forbidden("x"), 403, "forbidden"),
        (Problem::conflict("x"), 409, "conflict"),
        (Problem::version_conflict("x"), 409, "version-conflict"),
        (Problem::unprocessable("x"), 422, "invalid-state-transition"),
        (Problem::payload_too_large(10), 413, "payload-too-large"),
        (
            Problem::unsupported_media_type("application/json"),
            415,
            "unsupported-media-type",
        ),
        (Problem::method_not_allowed(None), 405, "method-not-allowed"),
        (
            Problem::service_unavailable("x"),
            503,
            "service-unavailable",
        ),
        (Problem::malformed_json("x"), 400, "malformed-json"),
    ];
    for (problem, status, slug) in cases {
        assert_eq!(problem.status().as_u16(), status, "{slug}");
        assert_eq!(problem.slug(), slug);
    }
}

#[test]
fn plain_405_becomes_a_problem_keeping_allow() {
    let mut plain = Response::new(Body::empty());
    *plain.status_mut() = StatusCode::METHOD_NOT_ALLOWED;
    plain
        .headers_mut()
        .insert(header::ALLOW, HeaderValue::from_static("GET,HEAD"));
    let mapped = block_on(plain_errors_to_problems(plain));
    assert_eq!(mapped.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(mapped.headers()[header::ALLOW], "GET,HEAD");
    assert_eq!(mapped.headers()[header::CONTENT_TYPE], PROBLEM_CONTENT_TYPE);
    let doc = block_on(body_of(mapped));
    assert_eq!(
        doc.type_uri,
        "https://opencec.org/problems/method-not-allowed"
    );
}

#[test]
fn plain_text_rejection_keeps_its_text_as_detail() {
    let plain = (StatusCode::BAD_REQUEST, "Invalid URL: bad id").into_response();
    let mapped = block_on(plain_errors_to_problems(plain));
    let doc = block_on(body_of(mapped));
    assert_eq!(doc.status, 400);
    assert_eq!(doc.detail.as_deref(), Some("Invalid URL: bad id"));
}

#[test]
fn problems_and_successes_pass_untouched() {
    let ok = block_on(plain_errors_to_problems("fine".into_response()));
    assert_eq!(ok.status(), StatusCode::OK);
    let conflict = Problem::conflict("name taken").into_response();
    let doc = block_on(body_of(block_on(plain_errors_to_problems(conflict))));
    assert_eq!(doc.detail.as_deref(), Some("name taken"));
}

#[test]
fn truncate_respects_char_boundaries() {
    assert_eq!(truncate("héllo", 2), "h");
    assert_eq!(truncate("héllo", 3), "hé");
    assert_eq!(truncate("abc", 10), "abc");
}
