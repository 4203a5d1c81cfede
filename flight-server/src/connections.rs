//! Accepted connections, bounded: at most `limits.max_connections` are served at once (further
//! clients wait in the listen backlog), and a connection that sends nothing within
//! [`FIRST_BYTE_TIMEOUT`] of being accepted is closed, so a flood of idle sockets cannot hold
//! every slot.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use futures::{Stream, StreamExt};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tonic::transport::server::{Connected, TcpConnectInfo, TcpIncoming};

/// A client must send its first bytes (the HTTP/2 preface, or a TLS hello) this soon.
pub const FIRST_BYTE_TIMEOUT: Duration = Duration::from_secs(10);

/// Connections waiting for their first bytes at once.
const HANDSHAKING: usize = 256;

/// A connection holding one of the server's connection slots until it closes.
pub struct Limited {
    stream: TcpStream,
    _slot: OwnedSemaphorePermit,
}

/// `incoming`, bounded as the module says.
pub fn limit(
    incoming: TcpIncoming,
    max_connections: usize,
) -> impl Stream<Item = io::Result<Limited>> + Send + 'static {
    let slots = Arc::new(Semaphore::new(max_connections.max(1)));
    incoming
        .map(move |accepted| {
            let slots = Arc::clone(&slots);
            async move {
                let stream = accepted?;
                let mut first = [0u8; 1];
                match tokio::time::timeout(FIRST_BYTE_TIMEOUT, stream.peek(&mut first)).await {
                    Ok(Ok(n)) if n > 0 => {}
                    // Closed, failed, or silent: not worth a slot.
                    _ => return Ok(None),
                }
                let slot = slots
                    .acquire_owned()
                    .await
                    .map_err(|_| io::Error::other("the server is shutting down"))?;
                Ok(Some(Limited {
                    stream,
                    _slot: slot,
                }))
            }
        })
        .buffer_unordered(HANDSHAKING)
        .filter_map(|r: io::Result<Option<Limited>>| async move { r.transpose() })
}

impl Connected for Limited {
    type ConnectInfo = TcpConnectInfo;

    fn connect_info(&self) -> Self::ConnectInfo {
        self.stream.connect_info()
    }
}

impl AsyncRead for Limited {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_read(cx, buf)
    }
}

impl AsyncWrite for Limited {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }
}
