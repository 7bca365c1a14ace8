//! Input layouts: what the first byte of a target's input selects. A crash file keeps the
//! selector; to replay it as a unit test, strip it and call the decoder it names (README.md).

/// `md_frame`: `[kind][frame bytes]`.
pub mod md_frame {
    /// A market-data WebSocket frame, decoded on both the `l2_data` fast path and the
    /// general path (they must agree).
    pub const MARKET_DATA: u8 = 0;
    /// A products (instrument rules) REST body.
    pub const PRODUCTS: u8 = 1;

    /// `(kind, frame)`; the kind is the selector's lowest bit, so every byte means something.
    pub fn split(data: &[u8]) -> Option<(u8, &[u8])> {
        let (&selector, frame) = data.split_first()?;
        Some((selector & 1, frame))
    }
}

/// `rest_answer`: `[endpoint][status][body]`.
pub mod rest_answer {
    /// The trading client's answers, each read by its own parser.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub enum Endpoint {
        /// `POST /orders`: `parse_create_response`.
        Create,
        /// `POST /orders/batch_cancel`: `parse_cancel_response`.
        BatchCancel,
        /// `POST /orders/edit`: `parse_edit_response`.
        Edit,
        /// `GET /orders/historical/batch`: `parse_orders_page`.
        ListOrders,
        /// `GET /orders/historical/fills`: `parse_fills_page`.
        ListFills,
        /// `GET /accounts`: `parse_accounts_page`.
        Accounts,
        /// `GET /best_bid_ask`: `parse_best_bid_ask`.
        BestBidAsk,
        /// `GET /time`: `parse_server_time`.
        Time,
    }

    impl Endpoint {
        pub const ALL: [Endpoint; 8] = [
            Endpoint::Create,
            Endpoint::BatchCancel,
            Endpoint::Edit,
            Endpoint::ListOrders,
            Endpoint::ListFills,
            Endpoint::Accounts,
            Endpoint::BestBidAsk,
            Endpoint::Time,
        ];

        pub fn code(self) -> u8 {
            Self::ALL.iter().position(|e| *e == self).unwrap_or(0) as u8
        }
    }

    /// HTTP statuses the second byte picks from: mostly 200, and each class of failure.
    pub const STATUSES: [u16; 8] = [200, 200, 200, 400, 401, 404, 429, 503];

    /// `(endpoint, status, body)`.
    pub fn split(data: &[u8]) -> Option<(Endpoint, u16, &[u8])> {
        let (&endpoint, rest) = data.split_first()?;
        let (&status, body) = rest.split_first()?;
        let endpoint = Endpoint::ALL[usize::from(endpoint) % Endpoint::ALL.len()];
        let status = STATUSES[usize::from(status) % STATUSES.len()];
        Some((endpoint, status, body))
    }

    /// The status byte for `status` (the first match in [`STATUSES`]).
    pub fn status_code(status: u16) -> u8 {
        STATUSES.iter().position(|s| *s == status).unwrap_or(0) as u8
    }
}

/// `journal_segment`: `[mode][segment file bytes]`.
pub mod journal_segment {
    /// Rewrite magic, version, header length, segment index and size (= the file's length)
    /// and the header checksum, so the fuzzer gets past the header checks.
    pub const FIX_HEADER: u8 = 1 << 0;
    /// Recompute every record's chained checksum while walking the records the way the
    /// reader does, so the fuzzer reaches sequence, padding, length and torn-tail checks.
    pub const FIX_RECORDS: u8 = 1 << 1;
    /// Also open the directory with `JournalWriter` (recovery: cut a torn tail) and append.
    pub const WRITER: u8 = 1 << 2;

    pub fn split(data: &[u8]) -> Option<(u8, &[u8])> {
        let (&mode, file) = data.split_first()?;
        Some((mode, file))
    }
}

/// `journal_record`: `[decoder][kind u16 LE, Decision only][payload]`.
pub mod journal_record {
    /// `Decision::decode(kind, payload)`; the kind follows as two little-endian bytes.
    pub const DECISION: u8 = 0;
    /// `VenueEvent::decode(payload)`.
    pub const VENUE: u8 = 1;
    /// `AdminInput::decode(payload)`.
    pub const ADMIN: u8 = 2;
    pub const DECODERS: u8 = 3;
}

/// `admin_body`: `[what][bytes]`.
pub mod admin_body {
    /// `POST /api/v1/kill` body: `{"flatten": bool}`.
    pub const KILL: u8 = 0;
    /// `POST /api/v1/strategy` body: `{"enabled": bool}`.
    pub const STRATEGY: u8 = 1;
    /// `PUT /api/v1/limits` body: `{"limit", "instrument"?, "value"}`.
    pub const LIMITS: u8 = 2;
    /// Headers: the `Authorization` value, then one `X-TOTP` value per further line.
    pub const HEADERS: u8 = 3;
    pub const KINDS: u8 = 4;
}

/// `config`: `[what][TOML text]`.
pub mod config {
    /// The daemon's whole config (`DaemonConfig::parse` + `validate`).
    pub const DAEMON: u8 = 0;
    /// An `[admin]` section alone (`AdminConfig` + `validate`: tokens and TOTP secrets).
    pub const ADMIN: u8 = 1;
}
