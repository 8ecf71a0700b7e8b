//! Headless Chromium driven over WebDriver (Debian's `chromium` and `chromium-driver`), and the
//! whole system behind TCP proxies so a test can cut the page's link to either service.
//!
//! Without `chromedriver` on the machine each browser test says that it skipped and passes,
//! unless `REQUIRE_BROWSER=1` (set by `.ci/run`), where a missing browser fails the run.

use std::{
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::{Value, json};
use test_support::{
    api::{ApiClient, Kitchen},
    proxy::TcpProxy,
};
use tokio::sync::{Mutex, MutexGuard};

use crate::helpers::{Notifier, OrderService, System};

/// One browser at a time: two cores cannot run several Chromiums and the services without
/// every test's timing suffering.
static ONE_BROWSER: Mutex<()> = Mutex::const_new(());

pub struct Browser {
    driver: Child,
    port: u16,
    profiles: PathBuf,
    sessions: usize,
    _turn: MutexGuard<'static, ()>,
}

fn executable(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|candidate| candidate.is_file())
}

fn chromium() -> Option<PathBuf> {
    ["chromium", "chromium-browser", "google-chrome"]
        .into_iter()
        .find_map(executable)
}

impl Browser {
    /// A chromedriver of this test's own, or `None` (after saying so) where none is installed.
    pub async fn start(test: &str) -> Option<Browser> {
        let (Some(driver), Some(_)) = (executable("chromedriver"), chromium()) else {
            let message = format!(
                "SKIPPED browser test `{test}`: chromium and chromedriver are not installed \
                 (apt-get install chromium chromium-driver)"
            );
            assert!(
                std::env::var("REQUIRE_BROWSER").is_err(),
                "{message}, and REQUIRE_BROWSER is set"
            );
            eprintln!("{message}");
            return None;
        };
        let turn = ONE_BROWSER.lock().await;
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| listener.local_addr())
            .expect("a free port")
            .port();
        let child = {
            use std::os::unix::process::CommandExt;
            Command::new(driver)
                .arg(format!("--port={port}"))
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                // Its own process group, so a failed test still takes every Chromium with it.
                .process_group(0)
                .spawn()
                .expect("chromedriver starts")
        };
        let profiles = std::env::temp_dir().join(format!("kds-browser-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&profiles).expect("profile folder");
        let browser = Browser {
            driver: child,
            port,
            profiles,
            sessions: 0,
            _turn: turn,
        };
        let status = format!("http://127.0.0.1:{port}/status");
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let ready = reqwest::get(&status).await.ok();
            if let Some(reply) = ready
                && let Ok(body) = reply.json::<Value>().await
                && body["value"]["ready"] == json!(true)
            {
                break;
            }
            assert!(Instant::now() < deadline, "chromedriver did not start");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Some(browser)
    }

    /// A new browser window (its own profile: storage, IndexedDB) of `width` × `height`.
    pub async fn open(&mut self, width: u32, height: u32) -> Page {
        self.sessions += 1;
        let profile = self.profiles.join(self.sessions.to_string());
        let mut capabilities = serde_json::Map::new();
        let binary = chromium().expect("chromium");
        capabilities.insert(
            "goog:chromeOptions".into(),
            json!({
                "binary": binary,
                "args": [
                    "--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                    format!("--window-size={width},{height}"),
                    format!("--user-data-dir={}", profile.display()),
                    "--autoplay-policy=no-user-gesture-required",
                    "--hide-scrollbars",
                ],
            }),
        );
        let client = ClientBuilder::new(HttpConnector::new())
            .capabilities(capabilities)
            .connect(&format!("http://127.0.0.1:{}", self.port))
            .await
            .expect("a Chromium session");
        Page { client }
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let group = format!("-{}", self.driver.id());
        let _ = Command::new("kill").args(["-KILL", "--", &group]).status();
        let _ = self.driver.wait();
        let _ = std::fs::remove_dir_all(&self.profiles);
    }
}

/// A browser window, with the few things the tests do to pages.
pub struct Page {
    pub client: Client,
}

impl Page {
    pub async fn goto(&self, url: &str) {
        self.client.goto(url).await.expect("page loads");
    }

    /// The value of a JavaScript expression in the page.
    pub async fn eval(&self, expression: &str) -> Value {
        self.client
            .execute(&format!("return ({expression});"), vec![])
            .await
            .unwrap_or(Value::Null)
    }

    /// Waits until `expression` is true in the page, polling (a browser sends no events out).
    pub async fn until(&self, what: &str, limit: Duration, expression: &str) -> Duration {
        let start = Instant::now();
        loop {
            if self.eval(expression).await == json!(true) {
                return start.elapsed();
            }
            if start.elapsed() > limit {
                let banner = self.eval("document.body.innerText.slice(0, 2000)").await;
                panic!("timed out after {limit:?} waiting for {what}; the page shows:\n{banner}");
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    pub async fn click(&self, css: &str) {
        let element = self
            .client
            .wait()
            .at_most(Duration::from_secs(10))
            .for_element(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("no element {css}: {e}"));
        element
            .click()
            .await
            .unwrap_or_else(|e| panic!("cannot click {css}: {e}"));
    }

    pub async fn fill(&self, css: &str, text: &str) {
        let element = self
            .client
            .wait()
            .at_most(Duration::from_secs(10))
            .for_element(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("no element {css}: {e}"));
        element.clear().await.expect("clear");
        element.send_keys(text).await.expect("type");
    }

    /// Presses keys on the page (the keyboard or a bump bar).
    pub async fn keys(&self, keys: &str) {
        let body = self.client.find(Locator::Css("body")).await.expect("body");
        body.send_keys(keys).await.expect("keys");
    }

    pub async fn text(&self, css: &str) -> String {
        self.eval(&format!(
            "document.querySelector({})?.innerText ?? ''",
            json!(css)
        ))
        .await
        .as_str()
        .unwrap_or_default()
        .to_owned()
    }

    /// Saves a screenshot for the README under `docs/screens/`.
    pub async fn screenshot(&self, name: &str) {
        let png = self.client.screenshot().await.expect("screenshot");
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/screens");
        std::fs::create_dir_all(&dir).expect("docs/screens");
        std::fs::write(dir.join(format!("{name}.png")), png).expect("screenshot written");
    }

    pub async fn close(self) {
        let _ = self.client.close().await;
    }
}

/// Both services, each behind a proxy the page goes through, and a restaurant with a cook.
pub struct Stage {
    pub system: System,
    pub order_service: OrderService,
    _notifier: Notifier,
    /// The page's way to order-service (pages and API).
    pub site: TcpProxy,
    /// The page's way to the notifier (the WebSocket).
    pub live: TcpProxy,
    pub kitchen: Kitchen,
}

impl Stage {
    pub async fn new(slug: &str) -> Stage {
        let mut system = System::new();
        let parked = "127.0.0.1:9".parse().expect("an address");
        let live = TcpProxy::start(parked).await.expect("proxy");
        let live_url = format!("ws://127.0.0.1:{}", live.port());
        let order_service = system
            .order_service_with(|config| config.notifier_public_url = live_url)
            .await;
        let notifier = system.notifier(&order_service.api).await;
        live.redirect(
            format!("127.0.0.1:{}", notifier.port)
                .parse()
                .expect("addr"),
        );
        let upstream = order_service
            .api
            .base
            .trim_start_matches("http://")
            .parse()
            .expect("order-service address");
        let site = TcpProxy::start(upstream).await.expect("proxy");
        let kitchen = order_service.api.kitchen(slug).await;
        Stage {
            system,
            order_service,
            _notifier: notifier,
            site,
            live,
            kitchen,
        }
    }

    pub fn api(&self) -> &ApiClient {
        &self.order_service.api
    }

    /// An address as the browser reaches order-service.
    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.site.port())
    }

    /// Logs the cook in on a kitchen page, picks the view (`all`, `expo` or a station id) and
    /// waits until the screen is live.
    pub async fn kitchen_page(&self, page: &Page, view: &str) {
        page.goto(&self.url("/kitchen/")).await;
        page.fill("[data-test=login-email]", &self.kitchen.cook.email)
            .await;
        page.fill("[data-test=login-password]", "pizza4ever").await;
        page.click("[data-test=login-submit]").await;
        page.click(&format!("[data-test=view][data-view=\"{view}\"]"))
            .await;
        page.click("[data-test=start-muted]").await;
        page.until(
            "the screen to be live",
            Duration::from_secs(15),
            "document.querySelector('[data-test=freshness]').dataset.level === 'live'",
        )
        .await;
    }
}

/// JavaScript: the ticket element of `order_id`.
pub fn ticket(order_id: &str) -> String {
    format!("document.querySelector('[data-test=ticket][data-order-id=\"{order_id}\"]')")
}
