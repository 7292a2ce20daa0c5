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

/// A TCP proxy on loopback that counts the bytes clients send through it and drops every
/// connection it carries (both ends closed at once, as when a phone changes cell) each time that
/// count passes one of its cut points.
pub struct CuttingProxy {
    address: SocketAddr,
    sent: Arc<std::sync::atomic::AtomicU64>,
    cuts: Arc<std::sync::atomic::AtomicUsize>,
    accepting: JoinHandle<()>,
}

impl Drop for CuttingProxy {
    fn drop(&mut self) {
        self.accepting.abort();
    }
}

impl CuttingProxy {
    /// Listens on a free loopback port and forwards to `upstream`, cutting every connection when
    /// the bytes sent by clients pass each of `cut_at` (ascending).
    pub async fn start(upstream: SocketAddr, cut_at: Vec<u64>) -> std::io::Result<Self> {
        use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let address = listener.local_addr()?;
        let sent = Arc::new(AtomicU64::new(0));
        let cuts = Arc::new(AtomicUsize::new(0));
        // Each cut bumps the generation; every connection of an older generation ends.
        let generation = Arc::new(watch::channel(0_usize).0);
        let (counted, cut_count) = (sent.clone(), cuts.clone());
        let accepting = tokio::spawn(async move {
            let cut_at = Arc::new(cut_at);
            while let Ok((client, _)) = listener.accept().await {
                let Ok(server) = TcpStream::connect(upstream).await else {
                    continue;
                };
                let (mut client_read, mut client_write) = client.into_split();
                let (mut server_read, mut server_write) = server.into_split();
                let (sent, cuts, cut_at) = (counted.clone(), cut_count.clone(), cut_at.clone());
                let generation_sender = generation.clone();
                let mut up_cut = generation.subscribe();
                let mut down_cut = generation.subscribe();
                up_cut.mark_unchanged();
                down_cut.mark_unchanged();
                tokio::spawn(async move {
                    let mut buffer = vec![0_u8; 16 * 1024];
                    loop {
                        let read = tokio::select! {
                            read = client_read.read(&mut buffer) => match read {
                                Ok(0) | Err(_) => return,
                                Ok(read) => read,
                            },
                            _ = up_cut.changed() => return,
                        };
                        let total = sent.fetch_add(read as u64, Ordering::Relaxed) + read as u64;
                        if server_write.write_all(&buffer[..read]).await.is_err() {
                            return;
                        }
                        let done = cuts.load(Ordering::Relaxed);
                        if cut_at.get(done).is_some_and(|at| total >= *at)
                            && cuts
                                .compare_exchange(
                                    done,
                                    done + 1,
                                    Ordering::Relaxed,
                                    Ordering::Relaxed,
                                )
                                .is_ok()
                        {
                            generation_sender.send_modify(|generation| *generation += 1);
                            return;
                        }
                    }
                });
                tokio::spawn(async move {
                    let mut buffer = vec![0_u8; 16 * 1024];
                    loop {
                        let read = tokio::select! {
                            read = server_read.read(&mut buffer) => match read {
                                Ok(0) | Err(_) => return,
                                Ok(read) => read,
                            },
                            _ = down_cut.changed() => return,
                        };
                        if client_write.write_all(&buffer[..read]).await.is_err() {
                            return;
                        }
                    }
                });
            }
        });
        Ok(Self {
            address,
            sent,
            cuts,
            accepting,
        })
    }

    /// Where clients connect.
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// Bytes clients sent through the proxy so far (request lines, headers and bodies).
    pub fn bytes_sent(&self) -> u64 {
        self.sent.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Cuts made so far.
    pub fn cuts(&self) -> usize {
        self.cuts.load(std::sync::atomic::Ordering::Relaxed)
    }
}
