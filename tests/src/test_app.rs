//! The real Easel app, started in-process on a free port against a Bedrock double, and browsers
//! that talk to it the way a person's browser would (cookies, htmx headers, plain form posts).

use std::{path::PathBuf, sync::Arc, time::Duration};

use aws_config::{BehaviorVersion, Region, retry::RetryConfig};
use aws_credential_types::{Credentials, provider::SharedCredentialsProvider};
use easel::{Application, Config, storage::Storage, studio::Studio};
use reqwest::{StatusCode, header::HeaderMap};
use scraper::{Html, Selector};
use tempfile::TempDir;
use tokio::{sync::oneshot, task::JoinHandle};

use crate::{bedrock_double::BedrockDouble, oidc_provider::OidcProvider};

/// AWS settings that point every Bedrock client at the double, with test credentials and quick
/// retries (the SDK would otherwise back off for seconds).
pub async fn aws_for(bedrock: &BedrockDouble) -> aws_config::SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .region(Region::new("us-west-2"))
        .credentials_provider(SharedCredentialsProvider::new(Credentials::new(
            "test",
            "test",
            None,
            None,
            "easel-tests",
        )))
        .endpoint_url(bedrock.uri())
        .retry_config(
            RetryConfig::standard()
                .with_max_attempts(3)
                .with_initial_backoff(Duration::from_millis(5))
                .with_max_backoff(Duration::from_millis(20)),
        )
        .load()
        .await
}

/// A running Easel. Dropping it stops the server.
pub struct TestApp {
    pub address: String,
    /// Where `/metrics` is served, when the test asked for it.
    pub metrics_address: Option<std::net::SocketAddr>,
    pub storage: Arc<TempDir>,
    /// The store the app keeps its state in, when the test gave it one instead of the folder.
    store: Option<Storage>,
    studio: Studio,
    browser: Browser,
    stop: Option<oneshot::Sender<()>>,
    server: Option<JoinHandle<()>>,
}

/// Starts Easel with a fresh, empty image folder.
pub async fn spawn_app(bedrock: &BedrockDouble) -> TestApp {
    spawn_app_with(bedrock, |_| {}).await
}

/// Starts Easel with a fresh folder, after `adjust` has changed the test settings.
pub async fn spawn_app_with(bedrock: &BedrockDouble, adjust: impl FnOnce(&mut Config)) -> TestApp {
    let storage = Arc::new(TempDir::new().expect("a temporary folder"));
    start(bedrock, storage, None, adjust).await
}

/// Starts Easel keeping its state in `store` (one that fails when told to, say).
pub async fn spawn_app_on(
    bedrock: &BedrockDouble,
    store: Arc<dyn object_store::ObjectStore>,
) -> TestApp {
    let storage = Arc::new(TempDir::new().expect("a temporary folder"));
    start(bedrock, storage, Some(Storage::over(store)), |_| {}).await
}

/// Starts Easel with sign-in on (`EASEL_AUTH=oidc`) through `provider`.
pub async fn spawn_app_with_sign_in(bedrock: &BedrockDouble, provider: &OidcProvider) -> TestApp {
    spawn_app_with(bedrock, |config| sign_in_through(config, provider)).await
}

/// Changes `config` to sign people in through `provider`.
pub fn sign_in_through(config: &mut Config, provider: &OidcProvider) {
    use easel::identity::{ClientSecret, Issuer, OidcSettings};
    config.auth = easel::config::Auth::Oidc(OidcSettings {
        issuer: Issuer::parse(provider.issuer()).expect("the provider's issuer"),
        client_id: provider.client_id().to_owned(),
        client_secret: ClientSecret::parse(provider.client_secret()).expect("a secret"),
        logout_url: None,
        session_lifetime: Duration::from_secs(3600),
    });
}

fn test_config(folder: PathBuf) -> Config {
    let mut config = Config::for_folder(folder);
    config.listen = "127.0.0.1:0".parse().expect("an address");
    config.model_check_interval = Duration::ZERO;
    config.bedrock_timeout = Duration::from_secs(10);
    config.shutdown_grace = Duration::from_secs(5);
    config
}

async fn start(
    bedrock: &BedrockDouble,
    storage: Arc<TempDir>,
    store: Option<Storage>,
    adjust: impl FnOnce(&mut Config),
) -> TestApp {
    let mut config = test_config(storage.path().to_path_buf());
    adjust(&mut config);
    let aws = aws_for(bedrock).await;
    let app = match store.clone() {
        Some(store) => Application::build_on(store, config, &aws).await,
        None => Application::build(config, &aws).await,
    }
    .expect("Easel starts");
    let studio = app.studio().clone();
    let address = format!("http://{}", app.address());
    let metrics_address = app.metrics_address();
    let (stop, stopped) = oneshot::channel::<()>();
    let server = tokio::spawn(async move {
        app.run_until(async {
            let _ = stopped.await;
        })
        .await
        .expect("Easel serves");
    });
    // As a load balancer would, wait until Easel says whether it is ready: by then the live
    // model list has been checked, so a test's later change to the double is news to Easel.
    reqwest::get(format!("{address}/readyz"))
        .await
        .expect("Easel answers /readyz");
    TestApp {
        browser: Browser::new(&address),
        address,
        metrics_address,
        storage,
        store,
        studio,
        stop: Some(stop),
        server: Some(server),
    }
}

impl TestApp {
    /// Stops the server (letting requests finish) and starts a new one on the same images,
    /// as a redeploy would. The browser keeps its cookie.
    pub async fn restart(self, bedrock: &BedrockDouble) -> TestApp {
        self.restart_with(bedrock, |_| {}).await
    }

    /// Like [`restart`](Self::restart), as a redeploy with changed settings would.
    pub async fn restart_with(
        mut self,
        bedrock: &BedrockDouble,
        adjust: impl FnOnce(&mut Config),
    ) -> TestApp {
        self.stop_and_wait().await;
        let store = self.store.clone();
        let mut restarted = start(bedrock, self.storage.clone(), store, adjust).await;
        restarted.browser = self.browser.clone_for(&restarted.address);
        restarted
    }

    async fn stop_and_wait(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(server) = self.server.take() {
            let _ = server.await;
        }
    }

    /// The use cases behind the routes, as code in the same process calls them.
    pub fn studio(&self) -> &Studio {
        &self.studio
    }

    /// What `/metrics` says now.
    async fn metrics(&self) -> String {
        let address = self.metrics_address.expect("started with metrics_listen");
        reqwest::get(format!("http://{address}/metrics"))
            .await
            .expect("GET /metrics")
            .text()
            .await
            .expect("the metrics")
    }

    /// How many jobs have ended in `state` ("done", "failed", …) so far, from the metrics.
    pub async fn jobs_ended(&self, state: &str) -> u64 {
        let line = format!("easel_jobs_ended_total{{state=\"{state}\"}} ");
        self.metrics()
            .await
            .lines()
            .find_map(|l| l.strip_prefix(&line)?.parse().ok())
            .unwrap_or(0)
    }

    /// Requests the app has made to its store so far, by operation, from its metrics.
    pub async fn store_requests(&self) -> std::collections::BTreeMap<String, u64> {
        self.metrics()
            .await
            .lines()
            .filter_map(|line| {
                let rest = line.strip_prefix("easel_store_requests_total{operation=\"")?;
                let (operation, count) = rest.split_once("\"} ")?;
                Some((operation.to_owned(), count.parse().ok()?))
            })
            .collect()
    }

    /// Another person's browser: no cookie yet.
    pub fn another_browser(&self) -> Browser {
        Browser::new(&self.address)
    }

    /// Asks the server to stop, as SIGTERM would; requests in flight may finish.
    pub fn begin_shutdown(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }

    /// Waits until the server has stopped.
    pub async fn stopped(mut self) {
        self.stop_and_wait().await;
    }
}

impl std::ops::Deref for TestApp {
    type Target = Browser;
    fn deref(&self) -> &Browser {
        &self.browser
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(server) = self.server.take() {
            server.abort();
        }
    }
}

/// One browser: its own cookie jar, and verbs for what a person does in the page.
pub struct Browser {
    address: String,
    client: reqwest::Client,
    jar: Arc<reqwest::cookie::Jar>,
}

impl Browser {
    /// A fresh browser (no cookie yet) for the Easel at `address`.
    pub fn new(address: &str) -> Self {
        let jar = Arc::new(reqwest::cookie::Jar::default());
        Self::with_jar(address, jar)
    }

    fn with_jar(address: &str, jar: Arc<reqwest::cookie::Jar>) -> Self {
        let client = reqwest::Client::builder()
            .cookie_provider(jar.clone())
            .redirect(reqwest::redirect::Policy::limited(3))
            // A server that stops answering fails the test instead of hanging it.
            .timeout(crate::PATIENCE * 2)
            .build()
            .expect("an HTTP client");
        Self {
            address: address.to_owned(),
            client,
            jar,
        }
    }

    /// The same browser (cookies and all) pointed at another address: after a restart on a
    /// new port, or another task behind the same load balancer.
    pub fn clone_for(&self, address: &str) -> Self {
        use reqwest::cookie::CookieStore;
        let old: reqwest::Url = self.address.parse().expect("a URL");
        let new: reqwest::Url = address.parse().expect("a URL");
        let jar = Arc::new(reqwest::cookie::Jar::default());
        if let Some(cookies) = self.jar.cookies(&old) {
            for cookie in cookies.to_str().expect("ASCII cookies").split("; ") {
                jar.add_cookie_str(cookie, &new);
            }
        }
        Self::with_jar(address, jar)
    }

    /// The browser keeps `cookie` (`name=value`) for Easel's address, as if a server had set
    /// it: a cookie made up by hand, say.
    pub fn plant_cookie(&self, cookie: &str) {
        let url: reqwest::Url = self.address.parse().expect("a URL");
        self.jar.add_cookie_str(cookie, &url);
    }

    /// The `Cookie` header this browser sends.
    pub fn cookie_header(&self) -> String {
        use reqwest::cookie::CookieStore;
        let url: reqwest::Url = self.address.parse().expect("a URL");
        self.jar
            .cookies(&url)
            .map(|c| c.to_str().expect("ASCII cookies").to_owned())
            .unwrap_or_default()
    }

    /// The browser's owner id, from the signed cookie (the signature comes first).
    pub async fn owner_id(&self) -> easel::identity::OwnerId {
        self.home().await;
        let cookie = self.cookie_header();
        let value = cookie
            .split("; ")
            .find_map(|c| c.strip_prefix("easel_id="))
            .expect("an identity cookie");
        easel::identity::OwnerId::parse(&value[value.len() - 32..]).expect("an owner id")
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }

    /// Signs in as `username` through `provider`'s form, and lands on the studio page.
    pub async fn sign_in(&self, provider: &OidcProvider, username: &str) -> Page {
        Page::from(
            provider
                .sign_in(&self.client, &self.address, username)
                .await,
        )
        .await
    }

    /// Starts signing in and presses Cancel on the provider's form: the answer is where the
    /// provider's refusal leads.
    pub async fn cancel_sign_in(&self, provider: &OidcProvider) -> Page {
        Page::from(provider.refuse_sign_in(&self.client, &self.address).await).await
    }

    /// Opens `path`, which leads to the provider's form, and signs in as `username` there:
    /// the answer is where the browser lands, and what it shows.
    pub async fn sign_in_from(
        &self,
        provider: &OidcProvider,
        path: &str,
        username: &str,
    ) -> (reqwest::Url, Page) {
        let landed = provider
            .sign_in_from(&self.client, &self.url(path), username)
            .await;
        (landed.url().clone(), Page::from(landed).await)
    }

    /// Presses Sign out: the answer is Easel's, before the browser follows it (to the
    /// provider's logout, say).
    pub async fn sign_out(&self) -> Page {
        let not_following = self.not_following();
        let answer = not_following
            .post(self.url("/auth/sign-out"))
            .header("Origin", &self.address)
            .header("Sec-Fetch-Site", "same-origin")
            .send()
            .await
            .expect("POST /auth/sign-out");
        Page::from(answer).await
    }

    /// A GET as a link makes it, without following a redirect.
    pub async fn get_without_following(&self, path: &str) -> Page {
        let not_following = self.not_following();
        Page::from(not_following.get(self.url(path)).send().await.expect("GET")).await
    }

    /// This browser's cookies in a client that stops at the first redirect.
    fn not_following(&self) -> reqwest::Client {
        reqwest::Client::builder()
            .cookie_provider(self.jar.clone())
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("an HTTP client")
    }

    /// Follows a redirect `page` answered, as the browser would.
    pub async fn follow(&self, page: &Page) -> Page {
        let location = page.location().expect("a redirect");
        let url = reqwest::Url::parse(&self.address)
            .and_then(|base| base.join(&location))
            .expect("a URL");
        Page::from(self.client.get(url).send().await.expect("GET")).await
    }

    pub async fn get(&self, path: &str) -> Page {
        Page::from(self.client.get(self.url(path)).send().await.expect("GET")).await
    }

    pub async fn get_bytes(&self, path: &str) -> (StatusCode, HeaderMap, Vec<u8>) {
        let response = self.client.get(self.url(path)).send().await.expect("GET");
        let status = response.status();
        let headers = response.headers().clone();
        (
            status,
            headers,
            response.bytes().await.expect("a body").to_vec(),
        )
    }

    pub async fn home(&self) -> Page {
        self.get("/").await
    }

    /// A person opens the page before posting anything: that is when Easel gives the browser
    /// its identity.
    async fn visit_once(&self) {
        use reqwest::cookie::CookieStore;
        let url: reqwest::Url = self.address.parse().expect("a URL");
        if self.jar.cookies(&url).is_none() {
            self.home().await;
        }
    }

    /// Generate with htmx and wait until every job it started has ended: the answer is the
    /// ended job cards, as the page shows them once the pushed updates have arrived. A request
    /// that was not accepted comes back as it was answered.
    pub async fn generate(&self, prompt: &str) -> Page {
        self.generate_with(&[("prompt", prompt)]).await
    }

    pub async fn generate_with(&self, fields: &[(&str, &str)]) -> Page {
        let accepted = self.submit(fields).await;
        if accepted.status != StatusCode::ACCEPTED {
            return accepted;
        }
        let mut cards = accepted.refusals_html();
        for id in accepted.job_ids() {
            cards.push_str(&self.wait_for_job(&id).await.result_html());
        }
        Page {
            status: StatusCode::OK,
            headers: accepted.headers,
            html: format!("<div id=\"result\">{cards}</div>"),
        }
    }

    /// Press Generate with htmx: the answer is the new job cards, at once.
    pub async fn submit(&self, fields: &[(&str, &str)]) -> Page {
        self.visit_once().await;
        self.post("/generate", fields, true).await
    }

    /// Generate by a plain form post, as a browser without JavaScript does: it lands on the
    /// job's own page.
    pub async fn generate_without_js(&self, fields: &[(&str, &str)]) -> Page {
        self.visit_once().await;
        self.post("/generate", fields, false).await
    }

    /// A POST as the page makes it (same origin), with or without htmx.
    pub async fn post(&self, path: &str, fields: &[(&str, &str)], htmx: bool) -> Page {
        let mut request = self
            .client
            .post(self.url(path))
            .header("Origin", &self.address)
            .header("Sec-Fetch-Site", "same-origin")
            .form(fields);
        if htmx {
            request = request.header("HX-Request", "true");
        }
        Page::from(request.send().await.expect("POST")).await
    }

    /// Upload a picture of one's own, as the page's upload form sends it without htmx: the
    /// answer is the picture's edit page, or the form again with what was wrong.
    pub async fn upload(&self, file_name: &str, bytes: Vec<u8>) -> Page {
        self.post_file("/uploads", "picture", file_name, bytes, false)
            .await
    }

    /// Drop a picture on the studio page (htmx posts it): the answer is the generate form
    /// filled from its recipe, or the recipe field saying why not.
    pub async fn drop_picture(&self, bytes: Vec<u8>) -> Page {
        self.post_file("/recipe", "recipe_file", "dropped.png", bytes, true)
            .await
    }

    async fn post_file(
        &self,
        path: &str,
        field: &str,
        file_name: &str,
        bytes: Vec<u8>,
        htmx: bool,
    ) -> Page {
        self.visit_once().await;
        let part = reqwest::multipart::Part::bytes(bytes).file_name(file_name.to_owned());
        let form = reqwest::multipart::Form::new().part(field.to_owned(), part);
        self.post_multipart(path, form, htmx).await
    }

    /// Press the edit button of picture `image` with htmx: `fields` as typed, `files` as
    /// chosen (`mask`, `style_image`). The answer is the new job's card, at once.
    pub async fn edit(
        &self,
        image: &str,
        fields: &[(&str, &str)],
        files: &[(&str, Vec<u8>)],
    ) -> Page {
        self.post_edit(image, fields, files, true).await
    }

    /// The same edit by a plain form post, as a browser without JavaScript sends it.
    pub async fn edit_without_js(
        &self,
        image: &str,
        fields: &[(&str, &str)],
        files: &[(&str, Vec<u8>)],
    ) -> Page {
        self.post_edit(image, fields, files, false).await
    }

    async fn post_edit(
        &self,
        image: &str,
        fields: &[(&str, &str)],
        files: &[(&str, Vec<u8>)],
        htmx: bool,
    ) -> Page {
        self.visit_once().await;
        let form = edit_form(fields, files);
        self.post_multipart(&format!("/images/{image}/edit"), form, htmx)
            .await
    }

    /// Edit and wait until the job has ended: the answer is the job's page.
    pub async fn edit_and_wait(
        &self,
        image: &str,
        fields: &[(&str, &str)],
        files: &[(&str, Vec<u8>)],
    ) -> Page {
        let card = self.edit(image, fields, files).await;
        assert_eq!(card.status, StatusCode::ACCEPTED, "{}", card.text());
        self.wait_for_job(&card.job_ids()[0]).await
    }

    async fn post_multipart(&self, path: &str, form: reqwest::multipart::Form, htmx: bool) -> Page {
        let mut request = self
            .client
            .post(self.url(path))
            .header("Origin", &self.address)
            .header("Sec-Fetch-Site", "same-origin")
            .multipart(form);
        if htmx {
            request = request.header("HX-Request", "true");
        }
        Page::from(request.send().await.expect("POST")).await
    }

    /// The job's own page, once the job has ended (60 s at most).
    pub async fn wait_for_job(&self, id: &str) -> Page {
        self.wait_for_job_state(id, |state| matches!(state, "done" | "failed" | "cancelled"))
            .await
    }

    /// The job's own page, once its state passes `wanted` (60 s at most: a loaded machine).
    pub async fn wait_for_job_state(&self, id: &str, wanted: impl Fn(&str) -> bool) -> Page {
        let what = format!("job {id} to reach the state wanted");
        crate::wait_until(what, Duration::from_secs(60), || async {
            let page = self.get(&format!("/jobs/{id}")).await;
            let state = page.job_states().into_iter().next().unwrap_or_default();
            match wanted(&state) {
                true => Ok(page),
                false => Err(format!("{state:?}: {}", page.text())),
            }
        })
        .await
    }

    /// The server-sent events of a job, as the page's EventSource gets them, until the server
    /// ends the stream (30 s at most): (event name, data).
    pub async fn events(&self, job_id: &str) -> Vec<(String, String)> {
        self.events_for(job_id, Duration::from_secs(30)).await
    }

    /// The job's events for at most `listen`, then the connection is dropped, as a closed tab
    /// drops it.
    pub async fn events_for(&self, job_id: &str, listen: Duration) -> Vec<(String, String)> {
        let mut response = self
            .client
            .get(self.url(&format!("/jobs/{job_id}/events")))
            .send()
            .await
            .expect("GET events");
        assert_eq!(response.status(), StatusCode::OK);
        let mut text = String::new();
        let deadline = tokio::time::Instant::now() + listen;
        while let Ok(Ok(Some(chunk))) = tokio::time::timeout_at(deadline, response.chunk()).await {
            text.push_str(&String::from_utf8_lossy(&chunk));
        }
        parse_events(&text)
    }

    /// Press a job's Cancel button (htmx): the answer is its card.
    pub async fn cancel(&self, job_id: &str) -> Page {
        self.post(&format!("/jobs/{job_id}/cancel"), &[("cancel", "1")], true)
            .await
    }

    /// Makes a personal access token on `/tokens` (`expiry`: `never`, `30` or `90` days); the
    /// answer shows it once in `#new-token`.
    pub async fn make_token(&self, name: &str, expiry: &str) -> Page {
        self.get("/tokens").await;
        self.post("/tokens", &[("name", name), ("expiry", expiry)], false)
            .await
    }

    /// The token `make_token` showed.
    pub async fn new_token(&self, name: &str) -> String {
        let made = self.make_token(name, "never").await;
        assert_eq!(made.status, StatusCode::CREATED, "{}", made.text());
        made.texts("#new-token").pop().expect("a new token shown")
    }

    /// Presses Revoke beside the token named `name` on `/tokens`, as listed there.
    pub async fn revoke_token(&self, name: &str) -> Page {
        let listed = self.get("/tokens").await;
        let css = format!(".token[data-name=\"{name}\"] form");
        let action = listed.attrs(&css, "action").pop().expect("a revoke form");
        self.post(&action, &[], false).await
    }

    /// Calls the API as this browser would by itself: its cookies, no token.
    pub async fn api_get(&self, path: &str) -> ApiAnswer {
        ApiAnswer::from(self.client.get(self.url(path)).send().await.expect("GET")).await
    }

    /// Posts JSON to the API as this browser would by itself: its cookies, no token.
    pub async fn api_post(&self, path: &str, body: &serde_json::Value) -> ApiAnswer {
        let request = self.client.post(self.url(path)).json(body);
        ApiAnswer::from(request.send().await.expect("POST")).await
    }

    pub async fn gallery(&self) -> Page {
        self.get("/").await
    }

    pub async fn delete(&self, image_id: &str) -> Page {
        self.post(&format!("/images/{image_id}/delete"), &[], false)
            .await
    }

    /// Press a gallery card's Delete button (htmx): the answer is what replaces the card.
    pub async fn delete_card(&self, image_id: &str) -> Page {
        self.post(&format!("/images/{image_id}/delete"), &[], true)
            .await
    }
}

/// An edit form as a browser sends it: each file input as a file part.
fn edit_form(fields: &[(&str, &str)], files: &[(&str, Vec<u8>)]) -> reqwest::multipart::Form {
    let mut form = reqwest::multipart::Form::new();
    for (name, value) in fields {
        form = form.text(name.to_string(), value.to_string());
    }
    for (name, bytes) in files {
        let part = reqwest::multipart::Part::bytes(bytes.clone()).file_name(format!("{name}.png"));
        form = form.part(name.to_string(), part);
    }
    form
}

/// A script calling Easel's API at `address` with `token` (as `Authorization: Bearer`,
/// taken as given), without cookies.
pub async fn api_get(address: &str, path: &str, token: Option<&str>) -> ApiAnswer {
    ApiAnswer::from(api_call(address, reqwest::Method::GET, path, token).await).await
}

/// The same script's raw answer to any method: for bytes, or an answer with no body.
pub async fn api_call(
    address: &str,
    method: reqwest::Method,
    path: &str,
    token: Option<&str>,
) -> reqwest::Response {
    let mut request = reqwest::Client::new().request(method, format!("{address}{path}"));
    if let Some(token) = token {
        request = request.header("Authorization", format!("Bearer {token}"));
    }
    request.send().await.expect("an answer from the API")
}

/// A script posting `body` as JSON to Easel's API at `address` with `token`, without cookies.
pub async fn api_post(
    address: &str,
    path: &str,
    token: &str,
    body: &serde_json::Value,
) -> ApiAnswer {
    let request = reqwest::Client::new()
        .post(format!("{address}{path}"))
        .header("Authorization", format!("Bearer {token}"))
        .json(body);
    ApiAnswer::from(request.send().await.expect("POST")).await
}

/// An answer from Easel's API: its status, headers and JSON.
pub struct ApiAnswer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub json: serde_json::Value,
}

impl ApiAnswer {
    async fn from(response: reqwest::Response) -> Self {
        let status = response.status();
        let headers = response.headers().clone();
        let text = response.text().await.expect("a body");
        let json = serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON: {text}"));
        Self {
            status,
            headers,
            json,
        }
    }
}

/// An answer from Easel, with ways to read what a person would see in it.
pub struct Page {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub html: String,
}

impl Page {
    async fn from(response: reqwest::Response) -> Self {
        Self {
            status: response.status(),
            headers: response.headers().clone(),
            html: response.text().await.expect("a text body"),
        }
    }

    /// Where a redirect leads.
    pub fn location(&self) -> Option<String> {
        self.headers
            .get(reqwest::header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    }

    /// Runs `read` over every element matching `css`.
    fn each<T>(&self, css: &str, read: impl Fn(scraper::ElementRef<'_>) -> Option<T>) -> Vec<T> {
        // Fragments and whole pages parse alike as documents.
        let document = Html::parse_document(&self.html);
        let selector = Selector::parse(css).expect("a valid selector");
        document.select(&selector).filter_map(read).collect()
    }

    /// The trimmed text of every element that `css` selects, in order.
    pub fn texts(&self, css: &str) -> Vec<String> {
        self.each(css, |e| {
            Some(e.text().collect::<String>().trim().to_owned())
        })
    }

    /// The `attr` of every element that `css` selects, in order.
    pub fn attrs(&self, css: &str, attr: &str) -> Vec<String> {
        self.each(css, |e| e.value().attr(attr).map(str::to_owned))
    }

    /// The `src` of every picture in the result. In a fragment the result is the whole answer.
    pub fn images_in_result(&self) -> Vec<String> {
        let in_page = self.attrs("#result img", "src");
        if in_page.is_empty() && !self.html.contains("id=\"result\"") {
            return self.attrs("figure.image img", "src");
        }
        in_page
    }

    /// Ids of the pictures in the result, in order.
    pub fn image_ids(&self) -> Vec<String> {
        ids_of(self.images_in_result())
    }

    /// The seeds shown under the pictures in the result.
    pub fn seeds(&self) -> Vec<u64> {
        self.texts("figure.image .seed")
            .iter()
            .filter_map(|t| t.strip_prefix("Seed ")?.parse().ok())
            .collect()
    }

    /// Ids of the jobs whose cards this answer shows, in order.
    pub fn job_ids(&self) -> Vec<String> {
        self.attrs("article.job", "id")
            .into_iter()
            .filter_map(|id| id.strip_prefix("job-").map(str::to_owned))
            .collect()
    }

    /// The `data-state` of each job card, in order.
    pub fn job_states(&self) -> Vec<String> {
        self.attrs("article.job", "data-state")
    }

    /// The status line of each job card ("Queued: 2 ahead of you", "Done", …).
    pub fn job_statuses(&self) -> Vec<String> {
        self.texts("article.job .state")
    }

    /// The notes on the job cards ("Finished while you were away.", a Compare's shape, …).
    pub fn job_notes(&self) -> Vec<String> {
        self.texts("article.job .note")
    }

    /// What each job card says it costs ("Cost $0.04", "Up to $0.12").
    pub fn job_costs(&self) -> Vec<String> {
        self.texts("article.job .cost")
    }

    /// "Spent today: $0.04 of $2.00", as the page shows it.
    pub fn spent_today(&self) -> String {
        self.texts("#spend").join(" ")
    }

    /// The inside of `#result`.
    fn result_html(&self) -> String {
        self.each("#result", |e| Some(e.inner_html()))
            .into_iter()
            .next()
            .unwrap_or_default()
    }

    /// Sentences for requests that were not accepted, as markup.
    fn refusals_html(&self) -> String {
        self.each("body > p.message", |e| Some(e.html())).concat()
    }

    /// The plain sentences shown in the result (what went wrong).
    pub fn messages(&self) -> Vec<String> {
        self.texts(".message")
    }

    /// The message next to a form field, if any.
    pub fn error_for(&self, field: &str) -> Option<String> {
        self.texts(&format!("#{field}-error")).into_iter().next()
    }

    /// Ids of the pictures in the gallery, newest first.
    pub fn gallery_ids(&self) -> Vec<String> {
        ids_of(self.attrs("#gallery li.card img", "src"))
    }

    /// Ids of the pictures an answer puts on top of the gallery's first page, as shown.
    pub fn gallery_added_ids(&self) -> Vec<String> {
        ids_of(self.attrs("ul[hx-swap-oob^='afterbegin:#gallery'] li.card img", "src"))
    }

    /// Ids of the pictures an answer takes off the gallery's first page (now on the second).
    pub fn gallery_dropped_ids(&self) -> Vec<String> {
        self.attrs("li[hx-swap-oob=delete]", "id")
            .into_iter()
            .filter_map(|id| id.strip_prefix("card-").map(str::to_owned))
            .collect()
    }

    /// How many pictures the gallery says it holds.
    pub fn gallery_total(&self) -> String {
        self.texts("#gallery-total").concat()
    }

    /// The model options: (id, label, disabled, selected).
    pub fn model_options(&self) -> Vec<(String, String, bool, bool)> {
        self.each("select#model option", |o| {
            let v = o.value();
            Some((
                v.attr("value").unwrap_or_default().to_owned(),
                o.text().collect::<String>(),
                v.attr("disabled").is_some(),
                v.attr("selected").is_some(),
            ))
        })
    }

    /// The size (or aspect ratio) choices offered, grouped: (group label, values).
    pub fn size_groups(&self) -> Vec<(String, Vec<String>)> {
        self.each("select#size optgroup", |g| {
            let values = g
                .child_elements()
                .filter_map(|o| o.value().attr("value").map(str::to_owned))
                .collect();
            Some((
                g.value().attr("label").unwrap_or_default().to_owned(),
                values,
            ))
        })
    }

    /// The value shown in a text field or textarea of the form (generate or edit).
    pub fn field_value(&self, name: &str) -> Option<String> {
        ["#generate-form", "#edit-form"].iter().find_map(|form| {
            let input = self.attrs(
                &format!("{form} input[name={name}]:not([type=radio])"),
                "value",
            );
            input.into_iter().next().or_else(|| {
                self.texts(&format!("{form} textarea[name={name}]"))
                    .into_iter()
                    .next()
            })
        })
    }

    /// On an edit page: the id of the picture it edits.
    pub fn picture_being_edited(&self) -> Option<String> {
        self.attrs("#edit-form", "action")
            .first()?
            .strip_prefix("/images/")?
            .strip_suffix("/edit")
            .map(str::to_owned)
    }

    /// The operation chosen in the edit form.
    pub fn chosen_operation(&self) -> Option<String> {
        self.attrs("select#operation option[selected]", "value")
            .into_iter()
            .next()
    }

    /// The names of the edit form's fields, in order.
    pub fn edit_fields(&self) -> Vec<String> {
        self.attrs("#edit-form [name]", "name")
    }

    /// On a permalink: the picture it was made from, as its "Made from" sentence links it,
    /// and the sentence.
    pub fn made_from(&self) -> (Option<String>, String) {
        let link = self.attrs(".made-from a", "href").into_iter().next();
        let id = link.and_then(|href| href.strip_prefix("/images/").map(str::to_owned));
        (id, self.texts(".made-from").join(" "))
    }

    /// On a permalink: the pictures listed under "Edits of this picture".
    pub fn edits_listed(&self) -> Vec<String> {
        ids_of(self.attrs(".lineage.edits img", "src"))
    }

    /// Where the links with this text lead.
    pub fn links(&self, text: &str) -> Vec<String> {
        self.each("a", |a| {
            let shown = a.text().collect::<String>();
            (shown.trim() == text)
                .then(|| a.value().attr("href").map(str::to_owned))
                .flatten()
        })
    }

    /// The captions of the gallery's cards, newest first.
    pub fn gallery_captions(&self) -> Vec<String> {
        self.texts("#gallery li.card .caption")
    }

    pub fn text(&self) -> String {
        self.texts("body").join(" ")
    }

    pub fn contains(&self, text: &str) -> bool {
        self.html.contains(text)
    }
}

/// `event:` and `data:` lines into (event, data) pairs; comments (keep-alives) are skipped.
fn parse_events(text: &str) -> Vec<(String, String)> {
    text.split("\n\n")
        .filter_map(|block| {
            let mut event = String::from("message");
            let mut data: Vec<&str> = Vec::new();
            for line in block.lines() {
                if let Some(name) = line.strip_prefix("event:") {
                    event = name.trim().to_owned();
                } else if let Some(value) = line.strip_prefix("data:") {
                    data.push(value.strip_prefix(' ').unwrap_or(value));
                }
            }
            (!data.is_empty()).then(|| (event, data.join("\n")))
        })
        .collect()
}

/// Image ids from picture addresses (`/images/{id}/preview.jpg`, `/images/{id}/image.png`).
fn ids_of(sources: Vec<String>) -> Vec<String> {
    sources
        .iter()
        .filter_map(|src| {
            let (id, _file) = src.strip_prefix("/images/")?.split_once('/')?;
            Some(id.to_owned())
        })
        .collect()
}
