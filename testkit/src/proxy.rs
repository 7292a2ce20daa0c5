//! A TCP proxy on loopback that can stop forwarding without closing anything: the connections it
//! carries then look half-open (no data, no FIN, no RST), as after a silent network fault.

use std::net::SocketAddr;
use std::sync::Arc;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// Forwards every connection made to `address()` to the upstream, until dropped.
pub struct PausableProxy {
    address: SocketAddr,
    paused: Arc<watch::Sender<bool>>,
    accepting: JoinHandle<()>,
}

impl Drop for PausableProxy {
    fn drop(&mut self) {
        self.accepting.abort();
    }
}

impl PausableProxy {
    /// Listens on a free loopback port and forwards to `upstream`.
    pub async fn start(upstream: SocketAddr) -> std::io::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let address = listener.local_addr()?;
        let paused = Arc::new(watch::channel(false).0);
        let gate = paused.clone();
        let accepting = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let Ok(server) = TcpStream::connect(upstream).await else {
                    continue;
                };
                let (client_read, client_write) = client.into_split();
                let (server_read, server_write) = server.into_split();
                tokio::spawn(forward(client_read, server_write, gate.subscribe()));
                tokio::spawn(forward(server_read, client_write, gate.subscribe()));
            }
        });
        Ok(Self {
            address,
            paused,
            accepting,
        })
    }

    /// Where clients connect.
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// Stops moving bytes in both directions; what arrives meanwhile is held, not dropped.
    pub fn pause(&self) {
        self.paused.send_replace(true);
    }

    /// Moves bytes again, the held ones first.
    pub fn resume(&self) {
        self.paused.send_replace(false);
    }
}

/// Copies one direction, holding every chunk while the proxy is paused.
async fn forward(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    mut paused: watch::Receiver<bool>,
) {
    let mut buffer = vec![0_u8; 64 * 1024];
    loop {
        if paused.wait_for(|paused| !paused).await.is_err() {
            return;
        }
        let read = match from.read(&mut buffer).await {
            Ok(0) | Err(_) => return,
            Ok(read) => read,
        };
        if paused.wait_for(|paused| !paused).await.is_err() {
            return;
        }
        if to.write_all(&buffer[..read]).await.is_err() {
            return;
        }
    }
}
