//! API input parsers. Bearer tokens: arbitrary bytes must never panic and never verify; in
//! mutation mode (first byte 0) the rest of the input is XOR-ed onto a genuine token, which
//! must verify exactly when unchanged. The same bytes as a JSON body and as a query string
//! (parsed as `Claims`: strict struct, enums, option, integers) must never panic, and
//! every refusal must be a 4xx problem naming a field or a position.
#![no_main]

use cec_api::{Claims, PrincipalKind, Problem, Role, TokenSigner, parse_json, parse_query};
use libfuzzer_sys::fuzz_target;

const NOW_MS: i64 = 1_700_000_000_000;

fn check_refusal<T>(result: Result<T, Problem>) {
    if let Err(problem) = result {
        assert!(problem.status().is_client_error(), "{problem}");
        assert!(
            problem.detail().is_some_and(|d| !d.is_empty()),
            "refusal without detail: {problem}"
        );
        if problem.slug() == "invalid-input" {
            assert!(!problem.errors().is_empty(), "invalid input names no field");
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let signer = TokenSigner::new([9; 32]);
    let claims = Claims {
        subject: "key-1".into(),
        tenant: Some("acme".into()),
        role: Role::Admin,
        principal: PrincipalKind::ApiKey,
        issued_ms: NOW_MS,
        expires_ms: NOW_MS + 60_000,
    };
    if let Some((0, mask)) = data.split_first() {
        let genuine = signer.issue(&claims);
        let mut bytes = genuine.clone().into_bytes();
        for (byte, flip) in bytes.iter_mut().zip(mask) {
            *byte ^= flip;
        }
        let mutated = String::from_utf8_lossy(&bytes);
        let verified = signer.verify(&mutated, NOW_MS);
        if mutated == genuine {
            assert_eq!(verified.as_ref(), Ok(&claims));
        } else {
            assert!(verified.is_err(), "mutated token verified: {mutated}");
        }
        return;
    }

    let text = String::from_utf8_lossy(data);
    assert!(
        signer.verify(&text, NOW_MS).is_err(),
        "forged token verified"
    );
    check_refusal(parse_json::<Claims>(data));
    check_refusal(parse_query::<Claims>(&text));
});
