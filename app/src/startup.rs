//! Builds the application from its settings: connections, migrations, routes; then serves.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use poem::listener::{Acceptor, Listener, TcpAcceptor, TcpListener};
use poem::middleware::{NormalizePath, TrailingSlash};
use poem::{EndpointExt, IntoEndpoint, Route, Server, get};
use poem_openapi::OpenApiService;

use crate::auth::password::PasswordHashing;
use crate::auth::throttle::LoginThrottle;
use crate::auth::token::TokenKeys;
use crate::config::Settings;
use crate::http::allow::{AllowedMethods, add_allow_header};
use crate::integrity::Integrity;
use crate::integrity::counters::RateCounters;
use crate::integrity::proof::ProofOfWork;
use crate::rankings::Rankings;
use crate::reads::ReadBudget;
use crate::routes::account::AccountApi;
use crate::routes::auth::AuthApi;
use crate::routes::files;
use crate::routes::health::HealthApi;
use crate::routes::public::PublicApi;
use crate::routes::reports::ReportsApi;
use crate::routes::rounds::RoundsApi;
use crate::routes::staff::StaffApi;
use crate::routes::videos::VideosApi;
use crate::showcase::Showcase;
use crate::state::AppState;
use crate::web::{WebApp, WebEndpoint};

/// How long in-flight requests get to finish after SIGTERM (the ALB drains for up to 30 s).
const SHUTDOWN_GRACE: Duration = Duration::from_secs(25);

pub struct Application {
    acceptor: TcpAcceptor,
    port: u16,
    state: AppState,
    web: Option<WebApp>,
}

type Apis = (
    AuthApi,
    AccountApi,
    VideosApi,
    PublicApi,
    ReportsApi,
    StaffApi,
    RoundsApi,
    HealthApi,
);

/// The OpenAPI service describing every endpoint; the document it serves is the committed one.
pub fn api_service() -> OpenApiService<Apis, ()> {
    OpenApiService::new(
        (
            AuthApi, AccountApi, VideosApi, PublicApi, ReportsApi, StaffApi, RoundsApi, HealthApi,
        ),
        "Rising Stars API",
        env!("CARGO_PKG_VERSION"),
    )
    .description(
        "Rising Stars Showcase of the ANB: players upload skill videos, the public votes, and a \
         live per-city ranking decides who goes on. Errors are RFC 9457 problem details \
         (`application/problem+json`) with a stable `code`.",
    )
    .server("/")
}

/// The OpenAPI document as committed in `docs/openapi.json` and served at `/openapi.json`: what
/// poem-openapi generates, plus the upload rules on the upload operation (`x-upload-rules`, from
/// `platform::videos::rules`), which the web app's checks and texts are built from.
pub fn openapi_json() -> String {
    with_upload_rules(api_service().spec())
}

/// `spec` (poem-openapi's document) with `x-upload-rules` on the upload operation.
fn with_upload_rules(spec: String) -> String {
    let Ok(mut document) = serde_json::from_str::<serde_json::Value>(&spec) else {
        return spec;
    };
    if let Some(upload) = document.pointer_mut("/paths/~1api~1videos~1upload/post")
        && let Some(operation) = upload.as_object_mut()
    {
        operation.insert(
            "x-upload-rules".to_owned(),
            platform::videos::rules::document(),
        );
    }
    serde_json::to_string_pretty(&document).unwrap_or(spec)
}

impl Application {
    /// Connects to the database (applying migrations), storage and queue, and binds the port.
    pub async fn build(settings: Settings) -> anyhow::Result<Self> {
        let platform::backends::Backends {
            pool,
            storage,
            queue,
        } = platform::backends::connect(&settings.database, &settings.storage, &settings.queue)
            .await?;
        tokio::fs::create_dir_all(&settings.upload_dir)
            .await
            .with_context(|| {
                format!(
                    "UPLOAD_DIR: cannot create {}",
                    settings.upload_dir.display()
                )
            })?;
        let acceptor = TcpListener::bind(settings.listen_addr)
            .into_acceptor()
            .await
            .with_context(|| format!("LISTEN_ADDR: cannot listen on {}", settings.listen_addr))?;
        let web = match WebApp::load(&settings.web.dir) {
            Ok(web) => {
                tracing::info!(dir = %settings.web.dir.display(), files = web.len(), "serving the web app");
                Some(web)
            }
            Err(error) if !settings.web.required => {
                tracing::warn!(%error, "no web app: the API runs alone and `/` answers 404");
                None
            }
            Err(error) => return Err(error.context("WEB_DIR")),
        };
        let verification = match &settings.verification {
            Some(verification) => Some(Arc::new(
                crate::verification::Verification::open(verification).await?,
            )),
            None => {
                tracing::info!("e-mail verification is off (EMAIL_VERIFICATION): no mail is sent");
                None
            }
        };
        let port = acceptor
            .local_addr()
            .first()
            .and_then(|addr| addr.as_socket_addr().map(|a| a.port()))
            .unwrap_or(settings.listen_addr.port());
        let proofs = ProofOfWork::new(pool.clone(), &settings.auth.jwt_secret)?;
        let reads = ReadBudget::for_pool(settings.database.max_connections);
        Ok(Self {
            acceptor,
            port,
            web,
            state: AppState {
                tokens: Arc::new(TokenKeys::new(
                    &settings.auth.jwt_secret,
                    settings.auth.token_lifetime,
                )),
                passwords: PasswordHashing::new(
                    settings.auth.hash_threads,
                    settings.auth.hash_queue,
                ),
                throttle: LoginThrottle::new(pool.clone(), &settings.auth, proofs.clone()),
                integrity: Integrity::new(
                    RateCounters::new(pool.clone()),
                    proofs,
                    &settings.auth,
                    &settings.votes,
                ),
                signed_url_ttl: settings.signed_url_ttl,
                upload_dir: settings.upload_dir.clone(),
                uploads: Arc::new(tokio::sync::Semaphore::new(settings.max_concurrent_uploads)),
                account_uploads: Arc::default(),
                max_uploads_per_account: settings.max_uploads_per_account,
                max_in_flight_per_account: settings.max_in_flight_per_account,
                upload_deadline: settings.upload_deadline,
                moov_budget: crate::upload::budget::MoovBudget::new(
                    settings.moov_budget_mib,
                    crate::upload::budget::MOOV_BUDGET_WAIT,
                ),
                trust_forwarded_for: settings.trust_forwarded_for,
                client_address_header: settings.client_address_header.clone(),
                rankings: Rankings::new(pool.clone(), reads.clone()),
                results: crate::results::Results::new(pool.clone(), reads.clone()),
                showcase: Showcase::new(
                    pool.clone(),
                    reads,
                    storage.clone(),
                    settings.signed_url_ttl,
                ),
                reports_to_hide: settings.reports_to_hide,
                email_verification: verification.is_some(),
                verification,
                readiness: Arc::default(),
                pool,
                storage,
                queue,
            },
        })
    }

    /// The bound port (useful with `LISTEN_ADDR=127.0.0.1:0`).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Serves until SIGTERM or Ctrl-C, then lets in-flight requests finish.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        // Background chores, each on its own timer: the outbox relay, the pruning of the login
        // throttle, the rate counters and old verification links, the sharing of the vote's
        // counters, and the freezing of closed rounds' standings.
        crate::outbox::spawn_relay(self.state.pool.clone(), self.state.queue.clone());
        crate::results::spawn_freezer(self.state.pool.clone());
        self.state.throttle.spawn_pruning();
        self.state.integrity.counters.spawn_pruning();
        crate::verification::spawn_pruning(self.state.pool.clone());
        let vote_counters = self.state.integrity.vote_counters.clone();
        vote_counters.spawn_syncing();
        let hsts = crate::http::middleware::Hsts {
            trust_forwarded_proto: self.state.trust_forwarded_for,
        };
        let api = api_service();
        let document = with_upload_rules(api.spec());
        let allowed = AllowedMethods::from_document(&document);
        let spec = poem::endpoint::make_sync(move |_| {
            poem::Response::builder()
                .content_type("application/json")
                .body(document.clone())
        });
        let docs = api.swagger_ui();
        // The API's paths are absolute (`/api/…`, `/health…`): nested without stripping, so
        // everything else falls through to the web app.
        let api = Arc::new(api.into_endpoint());
        let app = Route::new()
            .nest_no_strip("/api", api.clone())
            .nest_no_strip("/health", api)
            .at("/openapi.json", spec)
            .nest("/docs", docs)
            .at("/files/*key", get(files::serve))
            .nest("/", WebEndpoint(self.web))
            .with(NormalizePath::new(TrailingSlash::Trim))
            .data(self.state);
        let app = crate::http::errors::problems(app)
            .around(move |next, request| {
                let allowed = allowed.clone();
                async move { add_allow_header(next, request, &allowed).await }
            })
            .around(crate::http::middleware::drain_unread_body)
            .with(hsts)
            .around(crate::http::middleware::request_context);
        tracing::info!(port = self.port, "serving the API");
        let served = Server::new_with_acceptor(self.acceptor)
            // A connection with no traffic for this long is closed.
            .idle_timeout(IDLE_TIMEOUT)
            .run_with_graceful_shutdown(app, shutdown_signal(), Some(SHUTDOWN_GRACE))
            .await;
        // The last second's votes count for the other instances too.
        if let Err(error) = vote_counters.sync().await {
            tracing::warn!(%error, "sharing the rate counters at shutdown failed");
        }
        served
    }
}

/// How long a connection may sit without traffic: longer than the load balancer's idle timeout
/// (120 s in the template), so the balancer never sends a request on a connection we just closed.
const IDLE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(130);

async fn shutdown_signal() {
    platform::backends::shutdown_signal().await;
    tracing::info!("shutting down: finishing in-flight requests");
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    /// The committed document must be what the server serves. `cargo xtask openapi` rewrites it.
    #[test]
    fn the_committed_openapi_document_is_current() {
        let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../docs/openapi.json");
        let current = format!("{}\n", super::openapi_json());
        if std::env::var_os("UPDATE_OPENAPI").is_some() {
            std::fs::write(&path, &current).unwrap();
            return;
        }
        let committed = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            committed == current,
            "docs/openapi.json is stale: run `cargo xtask openapi` and commit the result"
        );
    }

    #[test]
    fn documented_paths_give_their_methods() {
        let allowed = super::AllowedMethods::from_document(&super::openapi_json());
        let get = |path| allowed.for_path(path).and_then(|v| v.to_str().ok());
        assert_eq!(get("/api/videos"), Some("GET"));
        assert_eq!(
            get("/api/videos/3f1c0a52-8a0e-4c1e-9d7a-1a2b3c4d5e6f/"),
            Some("DELETE, GET")
        );
        assert_eq!(get("/api/public/videos/x/vote"), Some("GET, POST"));
        assert_eq!(get("/api/nothing"), None);
    }
}
