//! The venue's TCP listener: like axum's, plus a handle on every accepted socket so a
//! handler can close its own connection without answering (the `drop` REST fault).
//!
//! Runs on axum's accept loop.

use std::net::{Shutdown, SocketAddr};
use std::sync::Arc;

use axum::extract::connect_info::Connected;
use axum::serve::{IncomingStream, Listener};
use tokio::net::{TcpListener, TcpStream};

/// What a handler knows about its connection.
#[derive(Clone, Debug)]
pub(crate) struct Peer {
    pub addr: SocketAddr,
    /// A duplicate of the connection's socket (`None` if it could not be made).
    socket: Option<Arc<std::net::TcpStream>>,
}

impl Peer {
    /// Shuts the connection down both ways: the client sees it closed without an answer.
    pub fn close(&self) {
        if let Some(socket) = &self.socket {
            let _ = socket.shutdown(Shutdown::Both);
        }
    }
}

pub(crate) struct SimListener(pub TcpListener);

/// The accepted stream, and a duplicate of its socket (same connection, another fd).
fn split(stream: TcpStream) -> std::io::Result<(TcpStream, std::net::TcpStream)> {
    let std_stream = stream.into_std()?;
    let duplicate = std_stream.try_clone()?;
    Ok((TcpStream::from_std(std_stream)?, duplicate))
}

impl Listener for SimListener {
    type Io = TcpStream;
    type Addr = Peer;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            let (stream, addr) = match self.0.accept().await {
                Ok(accepted) => accepted,
                Err(error) => {
                    tracing::warn!(%error, "accept failed");
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                    continue;
                }
            };
            let _ = stream.set_nodelay(true);
            match split(stream) {
                Ok((stream, duplicate)) => {
                    let socket = Some(Arc::new(duplicate));
                    return (stream, Peer { addr, socket });
                }
                Err(error) => tracing::warn!(%error, "cannot duplicate an accepted socket"),
            }
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        Ok(Peer {
            addr: self.0.local_addr()?,
            socket: None,
        })
    }
}

impl Connected<IncomingStream<'_, SimListener>> for Peer {
    fn connect_info(stream: IncomingStream<'_, SimListener>) -> Self {
        stream.remote_addr().clone()
    }
}
