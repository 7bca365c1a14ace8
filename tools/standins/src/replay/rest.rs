//! The replay server's REST endpoints, on the same port as the WebSocket:
//! `GET /api/v3/brokerage/market/products` (the recorded products body, optionally filtered
//! by repeated `product_ids`) and `GET /api/v3/brokerage/time` (wall-clock time in the
//! venue's camelCase shape). Runs on axum's tokio tasks.

use std::sync::Arc;

use axum::extract::{RawQuery, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::Shared;
use super::clock::{format_rfc3339_ms, now_unix_ns};

pub(super) const PRODUCTS_PATH: &str = "/api/v3/brokerage/market/products";
pub(super) const TIME_PATH: &str = "/api/v3/brokerage/time";

fn json_response(status: StatusCode, body: String) -> Response {
    (status, [(header::CONTENT_TYPE, "application/json")], body).into_response()
}

pub(super) async fn products(
    State(shared): State<Arc<Shared>>,
    RawQuery(query): RawQuery,
) -> Response {
    let product_ids = query_values(query.as_deref().unwrap_or(""), "product_ids");
    match shared.data.products_json(&product_ids) {
        Some(body) => json_response(StatusCode::OK, body),
        None => {
            let body =
                r#"{"error":"NOT_FOUND","message":"the capture holds no products response"}"#;
            json_response(StatusCode::NOT_FOUND, body.to_string())
        }
    }
}

pub async fn time() -> Response {
    let now_ns = now_unix_ns();
    let body = serde_json::json!({
        "iso": format_rfc3339_ms(now_ns),
        "epochSeconds": (now_ns / 1_000_000_000).to_string(),
        "epochMillis": (now_ns / 1_000_000).to_string(),
    });
    json_response(StatusCode::OK, body.to_string())
}

/// Every value of `key` (or `key[]`) in a URL query string, percent-decoded, in order.
pub fn query_values(query: &str, key: &str) -> Vec<String> {
    query
        .split('&')
        .filter_map(|pair| pair.split_once('=').or(Some((pair, ""))))
        .filter(|(name, _)| {
            let name = percent_decode(name);
            name == key || name.strip_suffix("[]") == Some(key)
        })
        .map(|(_, value)| percent_decode(value))
        .filter(|value| !value.is_empty())
        .collect()
}

/// `application/x-www-form-urlencoded` decoding: `+` is a space, `%XX` a byte; malformed
/// escapes are kept literally, invalid UTF-8 is replaced.
fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        let hex = |i: usize| bytes.get(i).and_then(|b| (*b as char).to_digit(16));
        match bytes[index] {
            b'+' => out.push(b' '),
            b'%' if hex(index + 1).is_some() && hex(index + 2).is_some() => {
                let high = hex(index + 1).unwrap_or(0);
                let low = hex(index + 2).unwrap_or(0);
                out.push((high * 16 + low) as u8);
                index += 2;
            }
            byte => out.push(byte),
        }
        index += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::query_values;

    #[test]
    fn repeated_product_ids_are_collected_in_order() {
        // Proves repeated and bracketed product_ids are decoded in order, empties dropped.
        let query = "product_ids=BTC-USD&limit=5&product_ids%5B%5D=ETH%2DUSD&product_ids=&x";
        assert_eq!(
            query_values(query, "product_ids"),
            vec!["BTC-USD", "ETH-USD"]
        );
        assert!(query_values("", "product_ids").is_empty());
        assert_eq!(
            query_values("product_ids=%zz+a%", "product_ids"),
            vec!["%zz a%"]
        );
    }
}
