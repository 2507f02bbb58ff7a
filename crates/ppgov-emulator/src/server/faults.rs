//! Injected latency and faults for API calls (never the token endpoint): with probability
//! `fault_rate` a call fails, half the time with a 500/503 in the family's envelope and half the
//! time by closing the connection without an answer.
//!
//! Dropping a connection needs help from the transport: [`FaultyListener`] wraps every accepted
//! stream with a kill switch, hands the switch to the request as its connect info
//! ([`ConnHandle`]), and once the switch is set the stream fails every write, so hyper closes the
//! socket before a byte of the response leaves.

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};

use axum::http::StatusCode;
use axum::serve::{IncomingStream, Listener};
use rand::RngExt;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};

use super::errors::ApiError;
use super::state::{State, lock};

/// What the dice decided for one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Answer normally.
    None,
    /// Answer with this error status.
    Status(StatusCode),
    /// Close the connection without answering.
    Drop,
}

/// Rolls the dice for one API call.
pub fn roll(state: &State) -> Fault {
    let rate = state.behaviour().fault_rate;
    if rate.is_nan() || rate <= 0.0 {
        return Fault::None;
    }
    let mut rng = lock(&state.fault_rng);
    let x: f64 = rng.random();
    if x >= rate.min(1.0) {
        return Fault::None;
    }
    match rng.random_range(0..4u8) {
        0 => Fault::Status(StatusCode::INTERNAL_SERVER_ERROR),
        1 => Fault::Status(StatusCode::SERVICE_UNAVAILABLE),
        _ => Fault::Drop,
    }
}

/// The error answer of a [`Fault::Status`].
pub fn fault_error(status: StatusCode) -> ApiError {
    ApiError::fault(status)
}

/// Per-connection information handed to requests: the peer and the kill switch.
#[derive(Debug, Clone)]
pub struct ConnHandle {
    /// Peer address.
    pub peer: SocketAddr,
    kill: Arc<AtomicBool>,
}

impl ConnHandle {
    /// Makes the connection fail every further write (the response is never sent).
    pub fn kill(&self) {
        self.kill.store(true, Ordering::SeqCst);
    }
}

impl axum::extract::connect_info::Connected<IncomingStream<'_, FaultyListener>> for ConnHandle {
    fn connect_info(stream: IncomingStream<'_, FaultyListener>) -> Self {
        stream.remote_addr().clone()
    }
}

/// A TCP listener whose streams can be killed from a request handler.
#[derive(Debug)]
pub struct FaultyListener(pub TcpListener);

impl Listener for FaultyListener {
    type Io = FaultyStream;
    type Addr = ConnHandle;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            match self.0.accept().await {
                Ok((stream, peer)) => {
                    let _ = stream.set_nodelay(true);
                    let kill = Arc::new(AtomicBool::new(false));
                    return (
                        FaultyStream {
                            inner: stream,
                            kill: kill.clone(),
                        },
                        ConnHandle { peer, kill },
                    );
                }
                // Out of file descriptors and the like: back off instead of spinning.
                Err(_) => tokio::time::sleep(std::time::Duration::from_millis(50)).await,
            }
        }
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        Ok(ConnHandle {
            peer: self.0.local_addr()?,
            kill: Arc::new(AtomicBool::new(false)),
        })
    }
}

/// A TCP stream with a kill switch.
#[derive(Debug)]
pub struct FaultyStream {
    inner: TcpStream,
    kill: Arc<AtomicBool>,
}

impl FaultyStream {
    fn killed(&self) -> bool {
        self.kill.load(Ordering::SeqCst)
    }
}

fn reset() -> io::Error {
    io::Error::new(
        io::ErrorKind::ConnectionReset,
        "connection dropped by fault injection",
    )
}

impl AsyncRead for FaultyStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        if self.killed() {
            return Poll::Ready(Err(reset()));
        }
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl AsyncWrite for FaultyStream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        if self.killed() {
            return Poll::Ready(Err(reset()));
        }
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        if self.killed() {
            return Poll::Ready(Err(reset()));
        }
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if self.killed() {
            return Poll::Ready(Err(reset()));
        }
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}
