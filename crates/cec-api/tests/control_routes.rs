//! The agent and call control routes over a real SQLite store with a fake call core: an
//! agent acts only for itself and supervisors for anyone (403), an agent unknown to the
//! store is 404 without reaching the core, bodies are checked against the contract and the
//! tenant's reason codes (400 naming the field), control errors become 404/422/503 problems,
//! and without call control the routes answer 503.

mod call_fixture;
mod store_fixture;

use call_fixture::{install, seed};
use serde_json::{Value, json};
use store_fixture::StoreFixture;

const AGENTS: &str = "/api/v1/tenants/acme/agents";

fn problem_type(answer: &Value) -> &str {
    answer["type"].as_str().unwrap_or_default()
}

fn field(answer: &Value) -> &str {
    answer["errors"][0]["field"].as_str().unwrap_or_default()
}

#[tokio::test]
async fn agents_act_for_themselves_and_supervisors_for_anyone() {
    let mut f = StoreFixture::new("control-roles", "acme").await;
    let callers = seed(&f, "acme").await;
    let control = install(&mut f);

    // An agent signs itself in with no body at all.
    let (status, answer) = f
        .call(
            &callers.agent_1001,
            "POST",
            &format!("{AGENTS}/1001/sign-in"),
            None,
        )
        .await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["work_no"], "1001");
    assert_eq!(answer["phase"], "idle");
    assert_eq!(answer["queues"], json!(["support"]));
    // ...but nobody else.
    let (status, answer) = f
        .call(
            &callers.agent_1001,
            "POST",
            &format!("{AGENTS}/1002/sign-in"),
            None,
        )
        .await;
    assert_eq!(status, 403, "{answer}");
    assert_eq!(
        control.commands(),
        ["acme/1001/SignIn(SignInRequest { phone: None, state: None, auto_answer: None })"]
    );

    // The agent's store id names it as well as the work number.
    let id = f
        .store()
        .get::<cec_store::model::AgentSpec>(&callers.tenant_id, "1001")
        .await
        .unwrap()
        .id;
    let (status, answer) = f
        .call(
            &callers.agent_1001,
            "GET",
            &format!("{AGENTS}/{id}/state"),
            None,
        )
        .await;
    assert_eq!((status, answer["work_no"].as_str()), (200, Some("1001")));

    // Supervisors and admins act for anyone; the core's refusals map to problems.
    for token in [&callers.supervisor, &callers.admin, &f.token.clone()] {
        let (status, answer) = f
            .call(token, "POST", &format!("{AGENTS}/1001/sign-out"), None)
            .await;
        assert_eq!(
            (status, answer["phase"].as_str()),
            (200, Some("signed_out"))
        );
    }
    let cases = [
        ("1002", 422, "invalid-state-transition"),
        ("1003", 503, "service-unavailable"),
        ("1004", 404, "not-found"),
    ];
    for (work_no, expected, slug) in cases {
        let (status, answer) = f
            .call(
                &callers.supervisor,
                "GET",
                &format!("{AGENTS}/{work_no}/state"),
                None,
            )
            .await;
        assert_eq!(status, expected, "{work_no}: {answer}");
        assert!(problem_type(&answer).ends_with(slug), "{answer}");
        assert_eq!(answer["status"], expected);
    }

    // An agent the store does not know never reaches the core.
    let before = control.commands().len();
    for (method, path) in [
        ("POST", "9999/sign-in"),
        ("POST", "9999/sign-out"),
        ("GET", "9999/state"),
    ] {
        let (status, answer) = f
            .call(
                &callers.supervisor,
                method,
                &format!("{AGENTS}/{path}"),
                None,
            )
            .await;
        assert_eq!(status, 404, "{path}: {answer}");
    }
    let (status, _) = f
        .call(
            &callers.supervisor,
            "PUT",
            &format!("{AGENTS}/9999/state"),
            Some(json!({"state": "idle"})),
        )
        .await;
    assert_eq!(status, 404);
    assert_eq!(control.commands().len(), before);
}

#[tokio::test]
async fn bodies_are_checked_before_the_core_sees_them() {
    let mut f = StoreFixture::new("control-bodies", "acme").await;
    let callers = seed(&f, "acme").await;
    let control = install(&mut f);
    let token = callers.agent_1001.as_str();
    let sign_in = format!("{AGENTS}/1001/sign-in");
    let state = format!("{AGENTS}/1001/state");

    let bad = [
        ("POST", &sign_in, json!({"state": "rest"}), "state"),
        ("POST", &sign_in, json!({"state": "sleeping"}), "state"),
        ("POST", &sign_in, json!({"colour": 1}), "colour"),
        ("POST", &sign_in, json!({"phone": ""}), "phone"),
        (
            "POST",
            &sign_in,
            json!({"auto_answer": "yes"}),
            "auto_answer",
        ),
        ("PUT", &state, json!({}), "state"),
        (
            "PUT",
            &state,
            json!({"state": "idle", "reason": 201}),
            "reason",
        ),
        (
            "PUT",
            &state,
            json!({"state": "busy", "reason": 999}),
            "reason",
        ),
        (
            "PUT",
            &state,
            json!({"state": "rest", "reason": 201}),
            "reason",
        ),
        (
            "PUT",
            &state,
            json!({"state": "rest", "duration_s": 0}),
            "duration_s",
        ),
        (
            "PUT",
            &state,
            json!({"state": "work", "duration_s": 60}),
            "duration_s",
        ),
    ];
    for (method, uri, body, expected) in bad {
        let (status, answer) = f.call(token, method, uri, Some(body.clone())).await;
        assert_eq!(status, 400, "{body}: {answer}");
        assert_eq!(field(&answer), expected, "{body}: {answer}");
    }
    // A body that is not JSON is refused by its content type.
    let (status, _, _) = f
        .send_as(
            token,
            "POST",
            &sign_in,
            Some("text/plain"),
            None,
            b"{}".to_vec(),
        )
        .await;
    assert_eq!(status, 415);
    assert!(control.commands().is_empty(), "{:?}", control.commands());

    let (status, answer) = f
        .call(
            token,
            "POST",
            &sign_in,
            Some(json!({"state": "busy", "phone": "2001", "auto_answer": true})),
        )
        .await;
    assert_eq!((status, answer["phase"].as_str()), (200, Some("busy")));
    let (status, answer) = f
        .call(
            token,
            "PUT",
            &state,
            Some(json!({"state": "busy", "reason": 201, "duration_s": 600})),
        )
        .await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["reason"], 201);
    assert_eq!(
        control.commands(),
        [
            "acme/1001/SignIn(SignInRequest { phone: Some(\"2001\"), state: Some(Busy), auto_answer: Some(true) })",
            "acme/1001/SetState(StateRequest { state: Busy, reason: Some(201), duration_s: Some(600) })",
        ]
    );
}

#[tokio::test]
async fn live_calls_and_release() {
    let mut f = StoreFixture::new("control-calls", "acme").await;
    let callers = seed(&f, "acme").await;
    let control = install(&mut f);
    let calls = "/api/v1/tenants/acme/calls";

    let (status, answer) = f.call(&callers.supervisor, "GET", calls, None).await;
    assert_eq!(status, 200);
    assert_eq!(answer["items"].as_array().unwrap().len(), 2);
    let (_, answer) = f.call(&callers.agent_1001, "GET", calls, None).await;
    let ids: Vec<&str> = answer["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["call_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["call-1"], "an agent sees its own calls");

    let release = |id: &str| format!("{calls}/{id}/release");
    let (status, _) = f
        .call(&callers.agent_1001, "POST", &release("call-2"), None)
        .await;
    assert_eq!(status, 403, "not its call");
    let (status, _) = f
        .call(&callers.agent_1001, "POST", &release("nope"), None)
        .await;
    assert_eq!(status, 404);
    let (status, answer) = f
        .call(&callers.agent_1001, "POST", &release("call-1"), None)
        .await;
    assert_eq!((status, answer), (204, Value::Null));
    let (status, answer) = f
        .call(&callers.supervisor, "POST", &release("call-2"), None)
        .await;
    assert_eq!(status, 204, "{answer}");
    let (status, answer) = f
        .call(&callers.supervisor, "POST", &release("gone"), None)
        .await;
    assert_eq!(status, 404, "{answer}");
    assert!(
        answer["detail"].as_str().unwrap().contains("gone"),
        "{answer}"
    );
    let released: Vec<String> = control
        .commands()
        .into_iter()
        .filter(|c| c.contains("/release/"))
        .collect();
    assert_eq!(
        released,
        [
            "acme/release/call-1",
            "acme/release/call-2",
            "acme/release/gone"
        ]
    );
}

#[tokio::test]
async fn without_call_control_the_routes_answer_503() {
    let f = StoreFixture::new("control-none", "acme").await;
    let callers = seed(&f, "acme").await;
    let token = callers.supervisor.as_str();
    for (method, uri) in [
        ("POST", format!("{AGENTS}/1001/sign-in")),
        ("POST", format!("{AGENTS}/1001/sign-out")),
        ("GET", format!("{AGENTS}/1001/state")),
        ("GET", "/api/v1/tenants/acme/calls".to_owned()),
        (
            "POST",
            "/api/v1/tenants/acme/calls/call-1/release".to_owned(),
        ),
    ] {
        let (status, answer) = f.call(token, method, &uri, None).await;
        assert_eq!(status, 503, "{method} {uri}: {answer}");
        assert!(problem_type(&answer).ends_with("service-unavailable"));
    }
    // The store is still asked first: an unknown agent is 404, not 503.
    let (status, _) = f
        .call(token, "POST", &format!("{AGENTS}/9999/sign-in"), None)
        .await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn other_tenants_are_invisible() {
    let mut f = StoreFixture::new("control-tenants", "acme").await;
    let callers = seed(&f, "acme").await;
    f.store()
        .create_tenant(
            &cec_store::Actor::system("test"),
            serde_json::from_value(json!({"name": "globex"})).unwrap(),
        )
        .await
        .unwrap();
    let control = install(&mut f);
    for (method, uri) in [
        ("POST", "/api/v1/tenants/globex/agents/1001/sign-in"),
        ("GET", "/api/v1/tenants/globex/calls"),
    ] {
        let (status, _) = f.call(&callers.agent_1001, method, uri, None).await;
        assert_eq!(status, 404, "{uri}");
        let (status, _) = f.call(&callers.supervisor, method, uri, None).await;
        assert_eq!(status, 404, "{uri}");
    }
    assert!(control.commands().is_empty());
}
