//! CDP API keys and Coinbase JWTs: key files as Coinbase issues them (generated here, never
//! checked in), tokens signed by p256 / ed25519-dalek and verified by ring, and every
//! refusal the venue would make.

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use traider_gateways::coinbase::auth::{ApiKey, AuthError, JWT_LIFETIME_S, verify_jwt};

const NOW: u64 = 1_764_000_000;
const ES_NAME: &str = "organizations/0f1e2d3c/apiKeys/4b5a6978";

fn random<const N: usize>() -> [u8; N] {
    let mut bytes = [0u8; N];
    getrandom::fill(&mut bytes).expect("OS RNG");
    bytes
}

/// A fresh P-256 key as a SEC1 PEM, the shape of an ECDSA CDP key.
fn es256_pem() -> String {
    let key = p256::SecretKey::from_slice(&random::<32>()).expect("random scalar is a key");
    key.to_sec1_pem(p256::pkcs8::LineEnding::LF)
        .expect("PEM")
        .to_string()
}

use traider_testkit::fixtures::write_key_file;

fn part(token: &str, index: usize) -> Vec<u8> {
    URL_SAFE_NO_PAD
        .decode(token.split('.').nth(index).expect("three parts"))
        .expect("base64url")
}

#[test]
fn es256_rest_tokens_follow_coinbases_rules_and_verify() {
    // Proves an ECDSA key file (SEC1 PEM) loads, and a REST token has the header and claims
    // Coinbase requires (alg ES256, kid, 64-hex nonce, typ; iss cdp, sub, nbf/exp 120 s,
    // uri "METHOD host/path" without the query), a fixed 64-byte R||S signature that ring
    // verifies, and a fresh nonce per token.
    let dir = tempfile::tempdir().unwrap();
    let pem = es256_pem();
    let path = write_key_file(
        dir.path(),
        &serde_json::json!({"name": ES_NAME, "privateKey": pem}),
        0o600,
    );
    let key = ApiKey::load(&path).expect("key loads");
    assert_eq!(key.name(), ES_NAME);
    let token = key
        .rest_jwt("get", "/api/v3/brokerage/accounts?limit=5", NOW)
        .expect("token");
    let header: serde_json::Value = serde_json::from_slice(&part(&token, 0)).unwrap();
    assert_eq!(header["alg"], "ES256");
    assert_eq!(header["kid"], ES_NAME);
    assert_eq!(header["typ"], "JWT");
    let nonce = header["nonce"].as_str().unwrap();
    assert!(
        nonce.len() == 64 && nonce.bytes().all(|b| b.is_ascii_hexdigit()),
        "{nonce}"
    );
    let claims: serde_json::Value = serde_json::from_slice(&part(&token, 1)).unwrap();
    assert_eq!(
        claims,
        serde_json::json!({
            "iss": "cdp", "sub": ES_NAME, "nbf": NOW, "exp": NOW + 120,
            "uri": "GET api.coinbase.com/api/v3/brokerage/accounts",
        })
    );
    assert_eq!(part(&token, 2).len(), 64, "JWS ES256 is R||S, not DER");

    let public = key.public_key();
    let verified = verify_jwt(
        &token,
        &public,
        NOW + 5,
        Some("GET api.coinbase.com/api/v3/brokerage/accounts"),
    )
    .expect("ring verifies the token");
    assert_eq!(verified.kid, ES_NAME);
    let again = key
        .rest_jwt("GET", "/api/v3/brokerage/accounts", NOW)
        .unwrap();
    assert_ne!(
        verify_jwt(
            &again,
            &public,
            NOW,
            Some("GET api.coinbase.com/api/v3/brokerage/accounts")
        )
        .unwrap()
        .nonce,
        verified.nonce,
        "every token gets its own nonce"
    );
}

#[test]
fn ed25519_websocket_tokens_carry_no_uri_and_verify() {
    // Proves an Ed25519 key file (newer downloads: "id", base64 seed||public) loads, that a
    // WebSocket token is EdDSA with no uri claim and verifies with ring, and that a 32-byte
    // seed alone loads to the same key.
    let dir = tempfile::tempdir().unwrap();
    let seed = random::<32>();
    let public = ed25519_dalek::SigningKey::from_bytes(&seed).verifying_key();
    let mut secret = seed.to_vec();
    secret.extend_from_slice(public.as_bytes());
    let path = write_key_file(
        dir.path(),
        &serde_json::json!({"id": "9a8b7c6d-1111-2222-3333-444455556666", "privateKey": STANDARD.encode(&secret)}),
        0o400,
    );
    let key = ApiKey::load(&path).expect("Ed25519 key loads");
    let token = key.ws_jwt(NOW).expect("token");
    let header: serde_json::Value = serde_json::from_slice(&part(&token, 0)).unwrap();
    assert_eq!(header["alg"], "EdDSA");
    let claims: serde_json::Value = serde_json::from_slice(&part(&token, 1)).unwrap();
    assert!(claims.get("uri").is_none(), "{claims}");
    let verified = verify_jwt(&token, &key.public_key(), NOW + 119, None).expect("verifies");
    assert_eq!(verified.claims.exp - verified.claims.nbf, JWT_LIFETIME_S);
    let seed_only = ApiKey::from_secret("k".into(), &STANDARD.encode(seed)).expect("seed loads");
    assert_eq!(seed_only.public_key(), key.public_key());
}

#[test]
fn bad_tokens_are_refused() {
    // Proves the verifier refuses what Coinbase refuses: another key's signature, an edited
    // claim, an expired or not-yet-valid token, a uri for another request, a REST token on
    // the WebSocket, and garbage.
    let key = ApiKey::from_secret(ES_NAME.into(), &es256_pem()).unwrap();
    let other = ApiKey::from_secret(ES_NAME.into(), &es256_pem()).unwrap();
    let uri = "POST api.coinbase.com/api/v3/brokerage/orders";
    let token = key
        .rest_jwt("POST", "/api/v3/brokerage/orders", NOW)
        .unwrap();
    let public = key.public_key();
    assert!(verify_jwt(&token, &public, NOW, Some(uri)).is_ok());
    let refused = |token: &str, now: u64, uri: Option<&str>, public: &_| {
        matches!(
            verify_jwt(token, public, now, uri),
            Err(AuthError::Token(_))
        )
    };
    let other_public = other.public_key();
    assert!(
        refused(&token, NOW, Some(uri), &other_public),
        "another key"
    );
    assert!(
        refused(&token, NOW + 120, Some(uri), &public),
        "expired at exp"
    );
    assert!(refused(&token, NOW - 1, Some(uri), &public), "before nbf");
    assert!(refused(
        &token,
        NOW,
        Some("GET api.coinbase.com/api/v3/brokerage/orders"),
        &public
    ));
    assert!(
        refused(&token, NOW, None, &public),
        "a REST token has a uri"
    );
    let mut claims: serde_json::Value = serde_json::from_slice(&part(&token, 1)).unwrap();
    claims["exp"] = serde_json::json!(NOW + 3600);
    let parts: Vec<&str> = token.split('.').collect();
    let edited = format!(
        "{}.{}.{}",
        parts[0],
        URL_SAFE_NO_PAD.encode(claims.to_string()),
        parts[2]
    );
    assert!(refused(&edited, NOW, Some(uri), &public), "an edited claim");
    assert!(refused("a.b", NOW, None, &public));
    assert!(refused("!!.??.**", NOW, None, &public));
}

#[test]
fn loose_key_files_and_bad_keys_are_refused_without_leaking_the_key() {
    // Proves a key file readable by group or others is refused with a message naming the
    // file, its mode and the fix; malformed files are refused naming the problem; and
    // neither the errors nor the key's Debug output contain the secret.
    let dir = tempfile::tempdir().unwrap();
    let pem = es256_pem();
    let json = serde_json::json!({"name": ES_NAME, "privateKey": pem});
    for mode in [0o644, 0o640, 0o604] {
        let path = write_key_file(dir.path(), &json, mode);
        let err = ApiKey::load(&path).expect_err("loose permissions");
        let text = err.to_string();
        assert!(matches!(err, AuthError::LoosePermissions { .. }), "{text}");
        assert!(
            text.contains(&format!("{mode:03o}")) && text.contains("chmod 600"),
            "{text}"
        );
        assert!(text.contains("cdp_api_key.json"), "{text}");
    }
    let key = ApiKey::load(&write_key_file(dir.path(), &json, 0o600)).unwrap();
    let body = pem.lines().nth(1).unwrap();
    assert!(
        !format!("{key:?}").contains(body),
        "Debug shows no key material"
    );

    let cases = [
        (serde_json::json!({"privateKey": pem}), "no key name"),
        (serde_json::json!({"name": ES_NAME}), "privateKey"),
        (
            serde_json::json!({"name": ES_NAME, "privateKey": "-----BEGIN EC PRIVATE KEY-----\nAAAA\n-----END EC PRIVATE KEY-----"}),
            "SEC1",
        ),
        (
            serde_json::json!({"name": ES_NAME, "privateKey": "-----BEGIN RSA PRIVATE KEY-----\n"}),
            "unsupported",
        ),
        (
            serde_json::json!({"name": ES_NAME, "privateKey": STANDARD.encode([7u8; 48])}),
            "48 bytes",
        ),
        (
            serde_json::json!({"name": ES_NAME, "privateKey": "not base64 at all!"}),
            "neither",
        ),
    ];
    for (json, expected) in cases {
        let path = write_key_file(dir.path(), &json, 0o600);
        let err = ApiKey::load(&path).expect_err("bad key file");
        let text = err.to_string();
        assert!(text.contains(expected), "{text} should say {expected:?}");
        assert!(
            !text.contains(body),
            "the error leaks no key material: {text}"
        );
    }
}
