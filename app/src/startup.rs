//! One way to start Easel, used by `main` and by the tests alike.

use std::{future::Future, net::SocketAddr, time::Duration};

use axum::Router;
use axum_extra::extract::cookie::Key;
use tokio::net::TcpListener;

use crate::{
    bedrock::Bedrock,
    config::Config,
    gallery::{Gallery, GalleryError},
    guard::{ModelQueues, RateLimit},
    http::{self, AppState},
    models::{ControlPlane, ModelStatus},
};

pub struct Application {
    listener: TcpListener,
    router: Router,
    shutdown_grace: Duration,
}

#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error("cannot listen on {0}: {1}")]
    Listen(SocketAddr, std::io::Error),
    #[error("cannot open the image store: {0}")]
    Storage(#[from] GalleryError),
}

impl Application {
    /// Opens the store, binds the listener (port 0 picks a free one) and starts checking which
    /// models are live, in the background: health checks answer at once, pages wait briefly
    /// for the first check. `aws` carries credentials, retries and endpoint overrides; the
    /// Bedrock region is Easel's own setting.
    pub async fn build(config: Config, aws: &aws_config::SdkConfig) -> Result<Self, StartupError> {
        let gallery = Gallery::open(&config.storage)?;
        let cookie_key = match &config.cookie_key {
            Some(key) => Key::from(&key.0),
            None => Key::from(&gallery.secret("cookie-key", 64).await?),
        };
        let catalogue = config.catalogue.clone();
        let models = ModelStatus::new(catalogue.clone());
        let control_plane = ControlPlane::new(aws, &config.bedrock_region, &catalogue);
        tokio::spawn(keep_model_list_fresh(
            models.clone(),
            control_plane,
            config.model_check_interval,
        ));
        let state = AppState {
            bedrock: Bedrock::new(
                aws,
                &config.bedrock_region,
                &catalogue,
                config.bedrock_timeout,
            ),
            queues: ModelQueues::new(
                catalogue.models().iter().map(|m| m.id.as_str()),
                config.model_concurrency,
                config.queue_length,
                config.bedrock_timeout,
            ),
            rate_limit: RateLimit::new(config.rate_limit),
            models,
            catalogue,
            gallery,
            cookie_key,
            secure_cookie: config.secure_cookie,
            page_size: config.gallery_page_size,
            bedrock_region: config.bedrock_region.clone(),
        };
        // A generation may wait for a slot and then for the model: bound the whole request.
        let request_timeout = config.bedrock_timeout * 2 + Duration::from_secs(10);
        let router = http::router(state, request_timeout);
        let listener = TcpListener::bind(config.listen)
            .await
            .map_err(|e| StartupError::Listen(config.listen, e))?;
        Ok(Self {
            listener,
            router,
            shutdown_grace: config.shutdown_grace,
        })
    }

    pub fn address(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .expect("a bound listener has an address")
    }

    /// Serves until `shutdown` resolves, then lets in-flight requests finish for up to the grace
    /// period.
    pub async fn run_until(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let (stopping_tx, stopping_rx) = tokio::sync::oneshot::channel();
        let serve = axum::serve(self.listener, self.router).with_graceful_shutdown(async move {
            shutdown.await;
            tracing::info!("shutting down: finishing requests in flight");
            let _ = stopping_tx.send(());
        });
        let grace = self.shutdown_grace;
        tokio::select! {
            served = serve.into_future() => served,
            () = async move {
                if stopping_rx.await.is_ok() {
                    tokio::time::sleep(grace).await;
                } else {
                    std::future::pending::<()>().await;
                }
            } => {
                tracing::warn!(?grace, "the grace period ran out with requests still in flight");
                Ok(())
            }
        }
    }
}

/// Checks the live model list now, then every `interval` (a zero interval: only now).
async fn keep_model_list_fresh(
    models: ModelStatus,
    control_plane: ControlPlane,
    interval: Duration,
) {
    models.refresh(&control_plane).await;
    if interval.is_zero() {
        return;
    }
    let mut ticks = tokio::time::interval(interval);
    ticks.tick().await;
    loop {
        ticks.tick().await;
        models.refresh(&control_plane).await;
    }
}

/// Resolves on Ctrl+C or SIGTERM (how ECS stops a task).
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
}
