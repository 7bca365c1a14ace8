//! The admin endpoint: the daemon's HTTP API for operators (status, halts, resumes, limit
//! changes), served on a cold tokio thread; auth lives in [`auth`].

pub mod auth;
