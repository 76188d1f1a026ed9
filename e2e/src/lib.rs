//! Harness for the browser tests: the real onestop router served in process
//! over a fresh SQLite or PostgreSQL database, and a headless Chromium driven
//! through its own `chromedriver`.
//!
//! Every test starts its own server and its own browser; both are torn down
//! when their handles drop, also when a test panics (the WebDriver session is
//! closed, `chromedriver` is killed, the browser profile is removed, the
//! test database is dropped).
//!
//! Environment: `CHROMEDRIVER` (default `chromedriver` on `PATH`) and
//! `CHROMIUM` (default `/usr/bin/chromium` when it exists, otherwise
//! chromedriver's own choice) name the programs; `ONESTOP_E2E_HEADFUL=1`
//! leaves out `--headless` for watching a run on a desktop.
#![forbid(unsafe_code)]

use fantoccini::wd::Capabilities;
use fantoccini::{Client, ClientBuilder, Locator, elements::Element};
use hyper_util::client::legacy::connect::HttpConnector;
use onestop_domain::config::CityConfig;
use onestop_server::AppState;
use onestop_store::testing::{Backend, TestDb};
use serde_json::{Value, json};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub use fantoccini;
pub use onestop_store::testing::Backend as DbBackend;

/// How long to wait for an element, a navigation or a process to be ready.
pub const WAIT: Duration = Duration::from_secs(15);
/// How often to look again while waiting.
const POLL: Duration = Duration::from_millis(25);

/// Runs an async test body once per database: `mod name { sqlite, postgres }`.
pub use onestop_store::on_both_databases;

// ───────────────────────────── the server ─────────────────────────────

pub use onestop_store::testing::test_clock;

/// onestop listening on a loopback port of this process.
pub struct RunningServer {
    /// `http://127.0.0.1:PORT`, without a trailing slash.
    pub base_url: String,
    pub state: AppState,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
    /// Declared last: the database goes after the server that uses it.
    pub db: TestDb,
}

impl RunningServer {
    /// The absolute URL of a path (`/apply` → `http://127.0.0.1:PORT/apply`).
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }

    /// An application as the API would return it, read from the store.
    pub async fn application_json(&self, id: &str) -> Value {
        let config = self.state.config.clone();
        let offset = self.state.offset;
        let id = id.to_owned();
        let app = self
            .state
            .store
            .read(move |c| onestop_store::applications::get(c, &id, &config, offset))
            .await
            .expect("read the application")
            .expect("the application exists");
        serde_json::to_value(app).expect("application JSON")
    }

    /// Stops accepting, lets open connections finish (a few seconds at
    /// most), then drops the database.
    pub async fn stop(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(mut task) = self.task.take()
            && tokio::time::timeout(Duration::from_secs(5), &mut task)
                .await
                .is_err()
        {
            task.abort();
        }
    }
}

impl Drop for RunningServer {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

/// Builds the router exactly as the server crate's tests do (default city,
/// test calendar, a fresh database of the given kind) and serves it on
/// `127.0.0.1:0`.
pub async fn start_server(backend: Backend) -> RunningServer {
    start_server_with_time(backend, onestop_server::TimeSource::system()).await
}

/// [`start_server`] with the server's clock standing at `at` (RFC 3339)
/// until the test moves it (`server.state.time`): deadlines can pass
/// without waiting for them.
pub async fn start_server_at(backend: Backend, at: &str) -> RunningServer {
    let t = onestop_domain::timefmt::parse(at).expect("an RFC 3339 instant");
    let ms = onestop_domain::timefmt::to_ms(t);
    start_server_with_time(backend, onestop_server::TimeSource::manual(ms)).await
}

async fn start_server_with_time(
    backend: Backend,
    time: onestop_server::TimeSource,
) -> RunningServer {
    let db = TestDb::new(backend);
    let config = Arc::new(CityConfig::default_city());
    let clock = Arc::new(test_clock(&config));
    let store = db.open_store().await;
    // Argon2 at the labelled test-only cost keeps sign-ins fast.
    let cost = onestop_server::auth::PasswordCost::TEST_ONLY;
    let mut state = AppState::with_password_cost(config, clock, store, cost);
    state.time = time;
    let router = onestop_server::router(state.clone())
        .into_make_service_with_connect_info::<std::net::SocketAddr>();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind a loopback port");
    let addr = listener.local_addr().expect("local address");
    let (tx, rx) = oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        let served = axum::serve(listener, router)
            .with_graceful_shutdown(async move {
                let _ = rx.await;
            })
            .await;
        if let Err(e) = served {
            eprintln!("onestop test server stopped with an error: {e}");
        }
    });
    RunningServer {
        base_url: format!("http://{addr}"),
        state,
        shutdown: Some(tx),
        task: Some(task),
        db,
    }
}

// ───────────────────────────── the browser ─────────────────────────────

/// A `chromedriver` process and the browser profile folder it uses; on drop
/// the WebDriver session (if still open) is deleted, so that Chromium quits,
/// then `chromedriver` is killed and the folder removed.
struct Driver {
    child: Child,
    port: u16,
    dir: PathBuf,
    /// The WebDriver session to delete on drop, unless closed already.
    session: Option<String>,
}

impl Driver {
    fn spawn() -> Driver {
        static SEQ: AtomicU32 = AtomicU32::new(0);
        let program = std::env::var("CHROMEDRIVER").unwrap_or_else(|_| "chromedriver".into());
        let mut last_error = String::new();
        // A port found free may be taken before chromedriver binds it: retry.
        for _ in 0..3 {
            let dir = std::env::temp_dir().join(format!(
                "onestop-e2e-{}-{}-{}",
                std::process::id(),
                SEQ.fetch_add(1, Ordering::Relaxed),
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |d| d.subsec_nanos())
            ));
            std::fs::create_dir_all(&dir).expect("browser temp dir");
            let port = free_port();
            let log = dir.join("chromedriver.log");
            let child = Command::new(&program)
                .arg(format!("--port={port}"))
                .arg("--allowed-ips=127.0.0.1")
                .arg(format!("--log-path={}", log.display()))
                // Chromium on Linux takes its UI locale from here.
                .env("LANGUAGE", "en_US")
                // Scratch files of chromedriver and Chromium go with the folder.
                .env("TMPDIR", &dir)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap_or_else(|e| {
                    panic!(
                        "cannot start {program} ({e}); install Debian's chromium and \
                         chromium-driver (apt-get install -y chromium chromium-driver) or set \
                         CHROMEDRIVER"
                    )
                });
            let mut driver = Driver {
                child,
                port,
                dir,
                session: None,
            };
            match driver.wait_until_listening() {
                Ok(()) => return driver,
                Err(e) => last_error = e,
            }
            // `driver` drops here: killed, folder removed.
        }
        panic!("chromedriver did not start: {last_error}");
    }

    fn wait_until_listening(&mut self) -> Result<(), String> {
        let addr = SocketAddr::from(([127, 0, 0, 1], self.port));
        let start = Instant::now();
        while start.elapsed() < WAIT {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(format!("exited with {status}; log:\n{}", self.log()));
            }
            if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
                return Ok(());
            }
            std::thread::sleep(POLL);
        }
        Err(format!(
            "not listening on port {} after {WAIT:?}; log:\n{}",
            self.port,
            self.log()
        ))
    }

    fn log(&self) -> String {
        let text = std::fs::read_to_string(self.dir.join("chromedriver.log")).unwrap_or_default();
        tail(&text, 4000).to_owned()
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// `DELETE /session/ID`, blocking, for use from `drop`.
    fn delete_session(&self, id: &str) {
        let addr = SocketAddr::from(([127, 0, 0, 1], self.port));
        let Ok(mut stream) = TcpStream::connect_timeout(&addr, Duration::from_secs(2)) else {
            return;
        };
        let _ = stream.set_write_timeout(Some(Duration::from_secs(2)));
        let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
        let request = format!(
            "DELETE /session/{id} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nContent-Length: 0\r\n\
             Connection: close\r\n\r\n",
            self.port
        );
        if stream.write_all(request.as_bytes()).is_ok() {
            // chromedriver answers once the browser has quit; the first bytes
            // of the answer are enough (it may keep the connection open).
            let mut answer = [0u8; 512];
            let _ = stream.read(&mut answer);
        }
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        if let Some(id) = self.session.take() {
            self.delete_session(&id);
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

fn tail(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut start = s.len() - max;
    while !s.is_char_boundary(start) {
        start += 1;
    }
    &s[start..]
}

fn head(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// The capabilities of a headless Chromium with a fresh profile, with or
/// without JavaScript.
fn capabilities(js: bool, profile: &std::path::Path) -> Capabilities {
    let mut args = vec![
        "--no-sandbox".to_owned(),
        "--disable-gpu".into(),
        "--disable-dev-shm-usage".into(),
        "--disable-quic".into(),
        "--no-first-run".into(),
        "--no-default-browser-check".into(),
        "--disable-background-networking".into(),
        "--disable-component-update".into(),
        "--disable-sync".into(),
        "--disable-extensions".into(),
        "--window-size=1280,900".into(),
        // Date inputs are typed segment by segment in the UI locale's order.
        "--lang=en-US".into(),
        format!("--user-data-dir={}", profile.display()),
    ];
    if std::env::var_os("ONESTOP_E2E_HEADFUL").is_none() {
        args.insert(0, "--headless".into());
    }
    let mut prefs = serde_json::Map::new();
    if !js {
        // 2 = block: the page's own scripts do not run (WebDriver still works).
        prefs.insert(
            "profile.managed_default_content_settings.javascript".into(),
            json!(2),
        );
    }
    let mut options = json!({ "args": args, "prefs": prefs });
    let binary = std::env::var("CHROMIUM").ok().or_else(|| {
        let debian = "/usr/bin/chromium";
        std::path::Path::new(debian)
            .exists()
            .then(|| debian.to_owned())
    });
    if let Some(binary) = binary {
        options["binary"] = json!(binary);
    }
    let mut caps = Capabilities::new();
    caps.insert("browserName".into(), json!("chrome"));
    caps.insert("goog:chromeOptions".into(), options);
    caps.insert("pageLoadStrategy".into(), json!("normal"));
    caps
}

/// One headless Chromium session. Every helper panics with the page's URL
/// and source when something is not as expected, so that a failing test
/// shows what the browser saw.
pub struct Browser {
    client: Option<Client>,
    driver: Driver,
    js: bool,
}

/// Starts `chromedriver` on a free port and opens a Chromium session, with
/// the page's JavaScript on or off.
pub async fn browser(js: bool) -> Browser {
    let mut driver = tokio::task::spawn_blocking(Driver::spawn)
        .await
        .expect("chromedriver start panicked");
    let caps = capabilities(js, &driver.dir.join("profile"));
    let client = match ClientBuilder::new(HttpConnector::new())
        .capabilities(caps)
        .connect(&driver.url())
        .await
    {
        Ok(c) => c,
        Err(e) => panic!(
            "no Chromium session ({e}); chromedriver log:\n{}",
            driver.log()
        ),
    };
    driver.session = client.session_id().await.ok().flatten();
    Browser {
        client: Some(client),
        driver,
        js,
    }
}

impl Browser {
    /// The WebDriver client, for anything the helpers below do not cover.
    pub fn client(&self) -> &Client {
        self.client.as_ref().expect("browser open")
    }

    /// Whether the page's JavaScript runs in this browser.
    pub fn js(&self) -> bool {
        self.js
    }

    /// Ends the session (Chromium quits); `chromedriver` goes on drop.
    pub async fn close(mut self) {
        if let Some(client) = self.client.take()
            && client.close().await.is_ok()
        {
            self.driver.session = None;
        }
    }

    /// The current URL and (the start of) the page source, for failures.
    pub async fn context(&self) -> String {
        let c = self.client();
        let url = c
            .current_url()
            .await
            .map_or_else(|e| format!("(no URL: {e})"), |u| u.to_string());
        let source = c
            .source()
            .await
            .unwrap_or_else(|e| format!("(no source: {e})"));
        format!(
            "URL: {url}\n---- page source ----\n{}\n---- end of page source ----",
            head(&source, 24_000)
        )
    }

    /// Panics with `message` and what the browser shows.
    pub async fn fail(&self, message: impl std::fmt::Display) -> ! {
        let context = self.context().await;
        panic!("{message}\n{context}");
    }

    /// Asserts `cond`, failing with the page context otherwise.
    pub async fn check(&self, cond: bool, message: impl std::fmt::Display) {
        if !cond {
            self.fail(message).await;
        }
    }

    pub async fn goto(&self, url: &str) {
        if let Err(e) = self.client().goto(url).await {
            self.fail(format_args!("cannot open {url}: {e}")).await;
        }
    }

    pub async fn current_path(&self) -> String {
        match self.client().current_url().await {
            Ok(u) => u.path().to_owned(),
            Err(e) => self.fail(format_args!("no current URL: {e}")).await,
        }
    }

    /// Waits until the path of the current URL starts with `prefix`.
    pub async fn wait_for_path(&self, prefix: &str) -> String {
        let start = Instant::now();
        loop {
            if let Ok(u) = self.client().current_url().await
                && u.path().starts_with(prefix)
            {
                return u.path().to_owned();
            }
            if start.elapsed() > WAIT {
                self.fail(format_args!("no page at {prefix}… after {WAIT:?}"))
                    .await;
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// The element matching a CSS selector, waiting for it to exist.
    pub async fn find(&self, css: &str) -> Element {
        match self
            .client()
            .wait()
            .at_most(WAIT)
            .every(POLL)
            .for_element(Locator::Css(css))
            .await
        {
            Ok(e) => e,
            Err(e) => self.fail(format_args!("no element {css}: {e}")).await,
        }
    }

    /// All elements matching a CSS selector now (possibly none).
    pub async fn find_all(&self, css: &str) -> Vec<Element> {
        match self.client().find_all(Locator::Css(css)).await {
            Ok(v) => v,
            Err(e) => self.fail(format_args!("cannot look for {css}: {e}")).await,
        }
    }

    /// Whether an element matching `css` exists now.
    pub async fn exists(&self, css: &str) -> bool {
        !self.find_all(css).await.is_empty()
    }

    /// The text of the element matching `css`. An element replaced while
    /// being read (the page changed under it) is found again.
    pub async fn text(&self, css: &str) -> String {
        let start = Instant::now();
        loop {
            let e = self.find(css).await;
            match e.text().await {
                Ok(t) => return t,
                Err(err) if start.elapsed() > WAIT => {
                    self.fail(format_args!("no text for {css}: {err}")).await
                }
                Err(_) => tokio::time::sleep(POLL).await,
            }
        }
    }

    /// The `value` property of a form control.
    pub async fn value(&self, css: &str) -> String {
        let e = self.find(css).await;
        self.value_of(&e, css).await
    }

    async fn value_of(&self, e: &Element, css: &str) -> String {
        match e.prop("value").await {
            Ok(v) => v.unwrap_or_default(),
            Err(err) => self.fail(format_args!("no value for {css}: {err}")).await,
        }
    }

    /// An attribute of an element (None when absent).
    pub async fn attr(&self, css: &str, name: &str) -> Option<String> {
        let e = self.find(css).await;
        match e.attr(name).await {
            Ok(v) => v,
            Err(err) => {
                self.fail(format_args!("no attribute {name} on {css}: {err}"))
                    .await
            }
        }
    }

    pub async fn is_displayed(&self, css: &str) -> bool {
        let e = self.find(css).await;
        match e.is_displayed().await {
            Ok(v) => v,
            Err(err) => self.fail(format_args!("cannot see {css}: {err}")).await,
        }
    }

    pub async fn is_selected(&self, css: &str) -> bool {
        let e = self.find(css).await;
        self.selected_of(&e, css).await
    }

    async fn selected_of(&self, e: &Element, css: &str) -> bool {
        match e.is_selected().await {
            Ok(v) => v,
            Err(err) => self.fail(format_args!("cannot read {css}: {err}")).await,
        }
    }

    /// Waits until the element matching `css` is shown (`true`) or not
    /// (hidden or absent). Errors while a page is being replaced count as
    /// "not yet".
    pub async fn wait_displayed(&self, css: &str, shown: bool) {
        let start = Instant::now();
        loop {
            let now = match self.client().find_all(Locator::Css(css)).await {
                Ok(found) => match found.first() {
                    Some(e) => e.is_displayed().await.ok(),
                    None => Some(false),
                },
                Err(_) => None,
            };
            if now == Some(shown) {
                return;
            }
            if start.elapsed() > WAIT {
                let what = if shown { "shown" } else { "hidden" };
                self.fail(format_args!("{css} not {what} after {WAIT:?}"))
                    .await;
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// Clicks `css` (a submit button or link) and waits until the browser
    /// shows the next page: the current one is marked first, so a page at
    /// the same address still counts as new only once it is really loaded.
    pub async fn click_to_next_page(&self, css: &str) {
        self.execute("document.documentElement.dataset.e2eOld = '1';", vec![])
            .await;
        self.click(css).await;
        let start = Instant::now();
        loop {
            let old = self
                .client()
                .find_all(Locator::Css("html[data-e2e-old]"))
                .await
                .map(|f| !f.is_empty())
                .ok();
            let ready = self
                .client()
                .execute("return document.readyState;", vec![])
                .await
                .ok()
                .and_then(|v| v.as_str().map(|s| s == "complete"));
            if old == Some(false) && ready == Some(true) {
                return;
            }
            if start.elapsed() > WAIT {
                self.fail(format_args!("no new page after clicking {css} in {WAIT:?}"))
                    .await;
            }
            tokio::time::sleep(POLL).await;
        }
    }

    pub async fn click(&self, css: &str) {
        let e = self.find(css).await;
        if let Err(err) = e.click().await {
            self.fail(format_args!("cannot click {css}: {err}")).await;
        }
    }

    /// Clears a text field and types `text` into it, then checks it took.
    pub async fn fill(&self, css: &str, text: &str) {
        let e = self.find(css).await;
        // Clearing is a slow command: only when there is something to clear.
        if !self.value_of(&e, css).await.is_empty() {
            self.clear(&e, css).await;
        }
        self.send_keys(&e, css, text).await;
        self.holds(&e, css, text, &format!("typed {text:?}")).await;
    }

    async fn clear(&self, e: &Element, css: &str) {
        if let Err(err) = e.clear().await {
            self.fail(format_args!("cannot clear {css}: {err}")).await;
        }
    }

    async fn send_keys(&self, e: &Element, css: &str, keys: &str) {
        if let Err(err) = e.send_keys(keys).await {
            self.fail(format_args!("cannot type into {css}: {err}"))
                .await;
        }
    }

    /// Checks that a field found earlier now holds `want`; `done` says how
    /// it was given (for the message).
    async fn holds(&self, e: &Element, css: &str, want: &str, done: &str) {
        let got = self.value_of(e, css).await;
        let message = format!("{css} holds {got:?}, {done}");
        self.check(got == want, message).await;
    }

    /// Types a date into an `<input type="date">` (`2027-06-30`) the way a
    /// person does, segment by segment in the browser's (en-US) order, then
    /// checks the value.
    pub async fn type_date(&self, css: &str, date: &str) {
        let keys = match date.split('-').collect::<Vec<_>>()[..] {
            [y, m, d] => format!("{m}{d}{y}"),
            _ => panic!("not a date: {date}"),
        };
        self.type_keys(css, &keys, date).await;
    }

    /// Types a local date and time into an `<input type="datetime-local">`
    /// (`2026-12-01T09:00`), then checks the value.
    pub async fn type_datetime(&self, css: &str, datetime: &str) {
        let (date, clock) = datetime
            .split_once('T')
            .unwrap_or_else(|| panic!("not a local date-time: {datetime}"));
        let (y, rest) = date.split_once('-').expect("year");
        let (m, d) = rest.split_once('-').expect("month and day");
        let (h, min) = clock.split_once(':').expect("hour and minute");
        let h: u32 = h.parse().expect("hour");
        let (h12, half) = match h {
            0 => (12, "AM"),
            1..=11 => (h, "AM"),
            12 => (12, "PM"),
            _ => (h - 12, "PM"),
        };
        let keys = format!("{m}{d}{y}{}{h12:02}{min}{half}", fantoccini::key::Key::Tab);
        self.type_keys(css, &keys, datetime).await;
    }

    async fn type_keys(&self, css: &str, keys: &str, expected: &str) {
        let e = self.find(css).await;
        self.clear(&e, css).await;
        self.send_keys(&e, css, keys).await;
        let done = format!("meant {expected:?} (browser locale not en-US?)");
        self.holds(&e, css, expected, &done).await;
    }

    /// The text of an element found earlier.
    pub async fn text_of(&self, e: &Element) -> String {
        match e.text().await {
            Ok(t) => t,
            Err(err) => self.fail(format_args!("no text: {err}")).await,
        }
    }

    /// The first element matching `css` inside `e` (no waiting).
    pub async fn find_in(&self, e: &Element, css: &str) -> Element {
        match e.find(Locator::Css(css)).await {
            Ok(found) => found,
            Err(err) => self.fail(format_args!("no {css} inside: {err}")).await,
        }
    }

    /// An attribute of an element found earlier.
    pub async fn attr_of(&self, e: &Element, name: &str) -> Option<String> {
        match e.attr(name).await {
            Ok(v) => v,
            Err(err) => self.fail(format_args!("no attribute {name}: {err}")).await,
        }
    }

    /// Chooses an `<option>` of a `<select>` by its value.
    pub async fn select(&self, css: &str, value: &str) {
        let e = self.find(css).await;
        if let Err(err) = e.select_by_value(value).await {
            self.fail(format_args!("cannot choose {value} in {css}: {err}"))
                .await;
        }
        self.holds(&e, css, value, &format!("chose {value:?}"))
            .await;
    }

    /// Clicks a radio button or ticks a checkbox (if not ticked already).
    pub async fn tick(&self, css: &str) {
        let e = self.find(css).await;
        if !self.selected_of(&e, css).await
            && let Err(err) = e.click().await
        {
            self.fail(format_args!("cannot click {css}: {err}")).await;
        }
        self.check(
            self.selected_of(&e, css).await,
            format_args!("{css} not ticked after a click"),
        )
        .await;
    }

    /// Runs a script in the page (only where the page's JavaScript runs).
    pub async fn execute(&self, script: &str, args: Vec<Value>) -> Value {
        match self.client().execute(script, args).await {
            Ok(v) => v,
            Err(err) => self.fail(format_args!("script failed: {err}")).await,
        }
    }

    /// The page's `<body>` text read as JSON (Chromium shows a JSON answer
    /// as plain text).
    pub async fn json_at(&self, url: &str) -> Value {
        self.goto(url).await;
        let text = self.text("body").await;
        match serde_json::from_str(&text) {
            Ok(v) => v,
            Err(e) => self.fail(format_args!("{url} is not JSON: {e}")).await,
        }
    }

    pub async fn set_window_size(&self, width: u32, height: u32) {
        if let Err(e) = self.client().set_window_size(width, height).await {
            self.fail(format_args!("cannot resize to {width}x{height}: {e}"))
                .await;
        }
    }
}

// ───────────────────────────── accessibility ─────────────────────────────

/// Where `test.sh` installs axe-core (`npm ci` in `e2e/axe`, pinned by its
/// lockfile); `ONESTOP_AXE` names another copy of `axe.min.js`.
pub fn axe_path() -> PathBuf {
    std::env::var_os("ONESTOP_AXE").map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("axe/node_modules/axe-core/axe.min.js"),
        PathBuf::from,
    )
}

/// One rule the page breaks, as axe-core reports it.
#[derive(Debug, Clone)]
pub struct AxeViolation {
    pub rule: String,
    /// `minor`, `moderate`, `serious` or `critical`.
    pub impact: String,
    pub help: String,
    /// The first few elements concerned, with axe's summary of each.
    pub nodes: Vec<String>,
}

impl Browser {
    /// Runs axe-core (WCAG 2.x A and AA rules, best practices included) on
    /// the page shown and returns what it found. The script is handed to
    /// the browser with the check, so the page's own policies do not matter.
    pub async fn axe(&self) -> Vec<AxeViolation> {
        let path = axe_path();
        let source = std::fs::read_to_string(&path).unwrap_or_else(|e| {
            panic!(
                "axe-core is not at {} ({e}); run `npm ci` in e2e/axe (test.sh does)",
                path.display()
            )
        });
        let script = format!(
            "{source}\n;var done = arguments[arguments.length - 1];\n\
             axe.run(document, {{ resultTypes: ['violations'] }}).then(function (r) {{\n\
               done(JSON.stringify(r.violations.map(function (v) {{\n\
                 return {{ id: v.id, impact: v.impact || '', help: v.help,\n\
                   nodes: v.nodes.slice(0, 5).map(function (n) {{\n\
                     return n.target.join(' ') + ' — ' + (n.failureSummary || ''); }}) }};\n\
               }})));\n\
             }}).catch(function (e) {{ done('axe failed: ' + e); }});"
        );
        let answer = match self.client().execute_async(&script, vec![]).await {
            Ok(v) => v,
            Err(e) => self.fail(format_args!("axe did not run: {e}")).await,
        };
        let text = answer.as_str().unwrap_or_default().to_owned();
        let found: Vec<Value> = match serde_json::from_str(&text) {
            Ok(v) => v,
            Err(_) => self.fail(format_args!("axe: {text}")).await,
        };
        found
            .iter()
            .map(|v| AxeViolation {
                rule: v["id"].as_str().unwrap_or_default().to_owned(),
                impact: v["impact"].as_str().unwrap_or_default().to_owned(),
                help: v["help"].as_str().unwrap_or_default().to_owned(),
                nodes: v["nodes"]
                    .as_array()
                    .map(|n| {
                        n.iter()
                            .filter_map(|x| x.as_str().map(str::to_owned))
                            .collect()
                    })
                    .unwrap_or_default(),
            })
            .collect()
    }
}

/// A Chromium DevTools command sent through chromedriver's passthrough
/// (`POST /session/{id}/goog/cdp/execute`).
#[derive(Debug)]
struct Cdp {
    cmd: &'static str,
    params: Value,
}

impl fantoccini::wd::WebDriverCompatibleCommand for Cdp {
    fn endpoint(
        &self,
        base: &url::Url,
        session: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        base.join(&format!(
            "session/{}/goog/cdp/execute",
            session.unwrap_or("")
        ))
    }

    fn method_and_body(&self, _: &url::Url) -> (http::Method, Option<String>) {
        (
            http::Method::POST,
            Some(serde_json::json!({"cmd": self.cmd, "params": self.params}).to_string()),
        )
    }
}

impl Browser {
    /// The browser reports this place to pages that ask for the position
    /// (the permission granted, as a person allowing it would).
    pub async fn set_location(&self, origin: &str, lat: f64, lng: f64) {
        let grant = Cdp {
            cmd: "Browser.grantPermissions",
            params: serde_json::json!({"origin": origin, "permissions": ["geolocation"]}),
        };
        if let Err(e) = self.client().issue_cmd(grant).await {
            self.fail(format!("geolocation permission: {e}")).await;
        }
        let place = Cdp {
            cmd: "Emulation.setGeolocationOverride",
            params: serde_json::json!({"latitude": lat, "longitude": lng, "accuracy": 10}),
        };
        if let Err(e) = self.client().issue_cmd(place).await {
            self.fail(format!("geolocation override: {e}")).await;
        }
    }
}

/// A person with one role: login name, display name, grant and password.
pub type Staff<'a> = (&'a str, &'a str, &'a str, &'a str);

/// An account with one role, its first-login password change already done.
pub async fn account(server: &RunningServer, (username, name, grant, password): Staff<'_>) {
    use onestop_server::app::accounts::{NewAccountInput, create_account, system_caller};
    let input = NewAccountInput {
        username: username.into(),
        display_name: name.into(),
        phone: None,
        grants: vec![grant.into()],
        password: Some(password.into()),
    };
    let created = create_account(&server.state, &system_caller("e2e"), input)
        .await
        .expect("account");
    let (id, hash) = (created.account.id, created.account.password_hash);
    let now = server.state.now_ms();
    server
        .state
        .store
        .write(move |c| onestop_store::accounts::set_password(c, &id, &hash, false, now))
        .await
        .expect("first-login change");
}

/// Signs in through the login page.
pub async fn sign_in_as(
    b: &Browser,
    server: &RunningServer,
    (username, _, _, password): Staff<'_>,
) {
    b.goto(&server.url("/login")).await;
    b.fill("#f-username", username).await;
    b.fill("#f-password", password).await;
    b.click_to_next_page("form[action='/login'] button[type=submit]")
        .await;
}

/// Signs out with the header's button.
pub async fn sign_out_from(b: &Browser) {
    b.click_to_next_page("form[action='/logout'] button[type=submit]")
        .await;
    b.wait_for_path("/login").await;
}
