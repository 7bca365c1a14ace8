//! Coinbase Advanced Trade REST, cold path. This first version reads the public products
//! endpoint (instrument rules); the authenticated order endpoints come with live trading.

use std::time::Duration;

/// Path of the public products endpoint.
pub const PRODUCTS_PATH: &str = "/api/v3/brokerage/market/products";

#[derive(Debug, thiserror::Error)]
pub enum RestError {
    #[error("request to {url} failed: {cause}")]
    Transport { url: String, cause: reqwest::Error },
    #[error("{url} answered HTTP {status}: {body}")]
    Status {
        url: String,
        status: u16,
        body: String,
    },
}

impl RestError {
    /// Transport failures, throttling (429, and 401 which Coinbase also uses for it) and
    /// server errors are worth retrying; other statuses are not.
    pub fn is_retryable(&self) -> bool {
        match self {
            RestError::Transport { .. } => true,
            RestError::Status { status, .. } => *status == 429 || *status == 401 || *status >= 500,
        }
    }
}

/// Fetches the products response body for `product_ids` from `base_url`, retrying
/// retryable failures `attempts` times with a doubling pause.
pub async fn fetch_products(
    base_url: &str,
    product_ids: &[&str],
    attempts: u32,
) -> Result<String, RestError> {
    let url = format!("{}{PRODUCTS_PATH}", base_url.trim_end_matches('/'));
    let query: Vec<(&str, &str)> = product_ids.iter().map(|id| ("product_ids", *id)).collect();
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .map_err(|cause| RestError::Transport {
            url: url.clone(),
            cause,
        })?;
    let mut pause = Duration::from_millis(500);
    let mut attempt = 1;
    loop {
        let result = get_text(&client, &url, &query).await;
        match result {
            Err(error) if error.is_retryable() && attempt < attempts => {
                tracing::warn!(%error, attempt, "products request failed; retrying");
                tokio::time::sleep(pause).await;
                pause *= 2;
                attempt += 1;
            }
            other => return other,
        }
    }
}

async fn get_text(
    client: &reqwest::Client,
    url: &str,
    query: &[(&str, &str)],
) -> Result<String, RestError> {
    let transport = |cause| RestError::Transport {
        url: url.to_owned(),
        cause,
    };
    let response = client
        .get(url)
        .query(query)
        .send()
        .await
        .map_err(transport)?;
    let status = response.status();
    let body = response.text().await.map_err(transport)?;
    if !status.is_success() {
        let body = body.chars().take(200).collect();
        return Err(RestError::Status {
            url: url.to_owned(),
            status: status.as_u16(),
            body,
        });
    }
    Ok(body)
}
