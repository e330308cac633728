//! A tenant's configuration round-trips through YAML: exported with `Accept:
//! application/yaml`, applied with `Content-Type: application/yaml` to another tenant, which
//! then exports the same document; YAML errors name the field.

mod store_fixture;

use cec_store::Actor;
use serde_json::json;
use store_fixture::StoreFixture;

#[tokio::test]
async fn yaml_export_apply_round_trip() {
    let f = StoreFixture::new("yaml", "source").await;
    let doc = json!({
        "trunks": [{"name": "carrier", "addresses": [{"host": "192.0.2.1"}]}],
        "access_codes": [{"number": "4001", "trunk": "carrier"}],
        "skill_queues": [{"name": "support", "wrap_up_time_s": 9}],
        "called_routes": [{"access_code": "4001", "target": {"type": "skill_queue", "id": "support"}}]
    });
    let (status, _, body) = f
        .send(
            "PUT",
            "/api/v1/tenants/source/config",
            Some("application/json"),
            None,
            serde_json::to_vec(&doc).unwrap(),
        )
        .await;
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    let (status, content_type, yaml) = f
        .send(
            "GET",
            "/api/v1/tenants/source/config",
            None,
            Some("application/yaml"),
            vec![],
        )
        .await;
    assert_eq!((status, content_type.as_str()), (200, "application/yaml"));
    let text = String::from_utf8(yaml.clone()).unwrap();
    assert!(
        text.contains("trunk: carrier") && text.contains("wrap_up_time_s: 9"),
        "{text}"
    );

    f.store()
        .create_tenant(
            &Actor::system("test"),
            serde_json::from_value(json!({"name": "copy"})).unwrap(),
        )
        .await
        .unwrap();
    let (status, _, body) = f
        .send(
            "PUT",
            "/api/v1/tenants/copy/config",
            Some("application/yaml"),
            None,
            yaml.clone(),
        )
        .await;
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    let summary: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(summary["created"], 4);
    let (_, _, again) = f
        .send(
            "GET",
            "/api/v1/tenants/copy/config",
            None,
            Some("application/yaml"),
            vec![],
        )
        .await;
    assert_eq!(String::from_utf8(again).unwrap(), text);
    let (_, _, json_export) = f
        .send("GET", "/api/v1/tenants/copy/config", None, None, vec![])
        .await;
    assert_eq!(
        serde_json::from_slice::<serde_json::Value>(&json_export).unwrap()["skill_queues"][0]["wrap_up_time_s"],
        9
    );
}

#[tokio::test]
async fn yaml_errors_name_the_field() {
    let f = StoreFixture::new("yaml-bad", "acme").await;
    let bad = b"skill_queues:\n  - name: q\n    wrap_up_time_s: soon\n".to_vec();
    let (status, content_type, body) = f
        .send(
            "PUT",
            "/api/v1/tenants/acme/config",
            Some("application/yaml"),
            None,
            bad,
        )
        .await;
    let problem: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(
        (status, content_type.as_str()),
        (400, "application/problem+json")
    );
    assert_eq!(
        problem["errors"][0]["field"], "skill_queues[0].wrap_up_time_s",
        "{problem}"
    );
    let (status, _, _) = f
        .send(
            "PUT",
            "/api/v1/tenants/acme/config",
            Some("application/yaml"),
            None,
            b"{[: not yaml".to_vec(),
        )
        .await;
    assert_eq!(status, 400);
    let (status, _, _) = f
        .send(
            "PUT",
            "/api/v1/tenants/acme/config",
            Some("text/plain"),
            None,
            b"x".to_vec(),
        )
        .await;
    assert_eq!(status, 415);
}
