//! Serving connections with two bounds a plain `axum::serve` lacks: a deadline for a request's
//! headers, so that a client trickling them cannot hold a connection forever, and a cap on open
//! connections, past which new ones wait in the kernel's backlog.

use std::{future::Future, net::SocketAddr, pin::pin, sync::Arc, time::Duration};

use axum::{Router, body::Body, extract::Request};
use hyper_util::{
    rt::{TokioExecutor, TokioIo, TokioTimer},
    server::conn::auto::Builder,
    service::TowerToHyperService,
};
use tokio::{
    net::{TcpListener, TcpStream},
    sync::{Semaphore, watch},
};
use tower::ServiceExt;

/// The bounds of one listener.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub header_read_timeout: Duration,
    pub max_connections: u32,
}

/// Serves `router` on `listener` until `shutdown` resolves, then asks every connection to
/// finish its request in flight and waits until all have closed.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: Limits,
    shutdown: impl Future<Output = ()>,
) {
    let open = Arc::new(Semaphore::new(limits.max_connections as usize));
    let (stopping, stop) = watch::channel(false);
    let mut builder = Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout);
    let mut shutdown = pin!(shutdown);
    loop {
        let accepted = tokio::select! {
            () = &mut shutdown => break,
            accepted = accept(&listener, &open) => accepted,
        };
        let Some((stream, remote, permit)) = accepted else {
            continue;
        };
        let service = TowerToHyperService::new(
            router
                .clone()
                .map_request(|request: Request<hyper::body::Incoming>| request.map(Body::new)),
        );
        let builder = builder.clone();
        let mut stop = stop.clone();
        tokio::spawn(async move {
            let connection = builder.serve_connection_with_upgrades(TokioIo::new(stream), service);
            let mut connection = pin!(connection);
            tokio::select! {
                served = connection.as_mut() => log_end(remote, served),
                _ = stop.changed() => {
                    connection.as_mut().graceful_shutdown();
                    log_end(remote, connection.await);
                }
            }
            drop(permit);
        });
    }
    let _ = stopping.send(true);
    // Every permit back means every connection has closed.
    let _ = open.acquire_many(limits.max_connections).await;
}

/// The next connection once one may be opened, with Nagle's algorithm off: with it, an event
/// pushed down a stream whose last write the browser has not yet acknowledged waits for its
/// delayed ACK (40 ms on Linux). `None` after a failed accept.
async fn accept(
    listener: &TcpListener,
    open: &Arc<Semaphore>,
) -> Option<(TcpStream, SocketAddr, tokio::sync::OwnedSemaphorePermit)> {
    let permit = open.clone().acquire_owned().await.ok()?;
    match listener.accept().await {
        Ok((stream, remote)) => {
            if let Err(e) = stream.set_nodelay(true) {
                tracing::debug!(error = %e, "could not turn off Nagle's algorithm on a connection");
            }
            Some((stream, remote, permit))
        }
        Err(e) => {
            // Out of file descriptors, say: give closing connections a moment.
            tracing::warn!(error = %e, "could not accept a connection");
            tokio::time::sleep(Duration::from_millis(50)).await;
            None
        }
    }
}

fn log_end<E: std::fmt::Display>(remote: SocketAddr, served: Result<(), E>) {
    if let Err(e) = served {
        tracing::debug!(%remote, error = %e, "connection ended early");
    }
}
