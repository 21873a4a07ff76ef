//! One way to start Easel, used by `main` and by the tests alike.

mod connections;

use std::{future::Future, net::SocketAddr, time::Duration};

use axum::Router;
use axum_extra::extract::cookie::Key;
use tokio::net::TcpListener;

use connections::Limits;

use crate::{
    availability::ModelStatus,
    bedrock::{Bedrock, ControlPlane},
    catalogue::Operations,
    config::{Auth, Config},
    gallery::{Gallery, GalleryError},
    guard::{BodySlots, Budget, RateLimit, UploadQuota},
    http::{self, AppState, SignIn},
    identity::{Oidc, Sessions, Tokens},
    metrics::Metrics,
    storage::{Reachability, Storage, StorageError},
    studio::{Parts, Studio},
};

pub struct Application {
    listener: TcpListener,
    router: Router,
    metrics: Option<(TcpListener, Router)>,
    studio: Studio,
    storage: Storage,
    shutdown_grace: Duration,
    limits: Limits,
}

#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error("cannot listen on {0}: {1}")]
    Listen(SocketAddr, std::io::Error),
    #[error("cannot open the image store: {0}")]
    Storage(#[from] GalleryError),
    #[error("cannot open the store: {0}")]
    Store(#[from] StorageError),
}

impl Application {
    /// Opens the store, binds the listeners (port 0 picks a free one) and starts the studio's
    /// background work and the check of which models are live: health checks answer at once,
    /// pages wait briefly for the first check. `aws` carries credentials, retries and endpoint
    /// overrides; the Bedrock region is Easel's own setting.
    pub async fn build(config: Config, aws: &aws_config::SdkConfig) -> Result<Self, StartupError> {
        let storage = Storage::open(&config.storage)?;
        Self::build_on(storage, config, aws).await
    }

    /// As [`Application::build`], on a store the caller opened instead of `config.storage`.
    pub async fn build_on(
        storage: Storage,
        config: Config,
        aws: &aws_config::SdkConfig,
    ) -> Result<Self, StartupError> {
        let gallery = Gallery::new(&storage);
        if storage.open_session().await? {
            tracing::warn!("the machine stopped before the last writes were durable: reindexing");
            gallery.reindex_after_crash().await?;
        }
        tokio::spawn({
            let storage = storage.clone();
            async move { storage.keep_durable().await }
        });
        let cookie_key = match &config.cookie_key {
            Some(key) => Key::from(&key.0),
            None => Key::from(&gallery.secret("cookie-key", 64).await?),
        };
        let previous_cookie_key = config
            .cookie_key_previous
            .as_ref()
            .map(|key| Key::from(&key.0));
        let catalogue = config.catalogue.clone();
        let operations = Operations::built_in();
        let models = ModelStatus::new(catalogue.clone());
        let studio = Studio::new(Parts {
            bedrock: Bedrock::new(
                aws,
                &config.bedrock_region,
                &catalogue,
                config.bedrock_timeout,
            ),
            budget: Budget::new(storage.clone(), config.budget),
            rate_limit: RateLimit::new(config.rate_limit),
            upload_quota: UploadQuota::new(config.upload_quota),
            body_slots: BodySlots::new(config.pictures_at_once),
            metrics: Metrics::with_store(storage.requests()),
            settings: config.jobs.clone(),
            catalogue: catalogue.clone(),
            operations,
            models,
            control_plane: ControlPlane::new(aws, &config.bedrock_region, &catalogue),
            model_check_interval: config.model_check_interval,
            bedrock_region: config.bedrock_region.clone(),
            gallery,
            storage: storage.clone(),
            reachability: Reachability::watch(storage.clone(), config.store_check_interval),
        });
        studio.start();
        let (sign_in, form_targets) = match &config.auth {
            Auth::None => (None, Vec::new()),
            Auth::Oidc(settings) => (
                Some(SignIn {
                    oidc: Oidc::new(settings.clone()),
                    sessions: Sessions::new(storage.clone(), settings.session_lifetime),
                }),
                settings.sign_out_origins(),
            ),
        };
        let state = AppState {
            studio: studio.clone(),
            cookie_key,
            previous_cookie_key,
            secure_cookie: config.secure_cookie,
            page_size: config.gallery_page_size,
            stream_keep_alive: config.stream_keep_alive,
            allowed_viewers: config.allowed_viewers.clone(),
            admins: config.admins.clone(),
            sign_in,
            public_url: config.public_url.clone(),
            form_targets,
            tokens: Tokens::new(storage.clone()),
        };
        let router = http::router(state, REQUEST_TIMEOUT);
        let listener = bind(config.listen).await?;
        let metrics = match config.metrics_listen {
            Some(address) => Some((bind(address).await?, http::metrics_router(studio.clone()))),
            None => None,
        };
        Ok(Self {
            listener,
            router,
            metrics,
            studio,
            storage,
            shutdown_grace: config.shutdown_grace,
            limits: Limits {
                header_read_timeout: config.header_timeout,
                max_connections: MAX_CONNECTIONS,
            },
        })
    }

    /// The use cases the routes call, for callers in the same process.
    pub fn studio(&self) -> &Studio {
        &self.studio
    }

    pub fn address(&self) -> SocketAddr {
        local_address(&self.listener)
    }

    /// Where `/metrics` is served, when it is.
    pub fn metrics_address(&self) -> Option<SocketAddr> {
        self.metrics
            .as_ref()
            .map(|(listener, _)| local_address(listener))
    }

    /// Serves until `shutdown` resolves. Then it takes no new jobs and starts none, lets running
    /// jobs finish for up to the grace period, and leaves queued ones stored for the next
    /// process.
    pub async fn run_until(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        if let Some((listener, router)) = self.metrics {
            let serve = connections::serve(listener, router, self.limits, std::future::pending());
            tokio::spawn(serve);
        }
        let (stopping_tx, stopping_rx) = tokio::sync::oneshot::channel();
        let studio = self.studio.clone();
        let serve = connections::serve(self.listener, self.router, self.limits, async move {
            shutdown.await;
            tracing::info!("shutting down: finishing running jobs");
            studio.stop_streams();
            let _ = stopping_tx.send(());
        });
        let serving = tokio::spawn(serve);
        if stopping_rx.await.is_err() {
            // The server stopped by itself.
            let _ = serving.await;
            return Ok(());
        }
        self.studio.drain(self.shutdown_grace).await;
        // Page requests are short: give the last ones a moment.
        let _ = tokio::time::timeout(Duration::from_secs(1), serving).await;
        if let Err(e) = self.storage.close_session().await {
            tracing::error!(error = %e, "could not make the last writes durable");
        }
        Ok(())
    }
}

/// No request waits on Bedrock any more: every one answers quickly or streams.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// Open connections one listener serves at once (each page's job streams hold one); more wait
/// to be accepted. Below the usual limit of 1024 open files, with room for the store's.
const MAX_CONNECTIONS: u32 = 768;

async fn bind(address: SocketAddr) -> Result<TcpListener, StartupError> {
    TcpListener::bind(address)
        .await
        .map_err(|e| StartupError::Listen(address, e))
}

fn local_address(listener: &TcpListener) -> SocketAddr {
    listener
        .local_addr()
        .expect("a bound listener has an address")
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
