//! Headless Chromium driven over WebDriver (Debian's `chromium` and `chromium-driver`), for
//! the dashboard's tests: open pages, wait for what they show, take screenshots and read the
//! browser console.

use fantoccini::elements::Element;
use fantoccini::wd::{Capabilities, WebDriverCompatibleCommand};
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How long a wait lasts before the test fails.
pub const WAIT: Duration = Duration::from_secs(20);

/// Where Chromium is, unless `CHROMIUM` says otherwise.
const CHROMIUM: &str = "/usr/bin/chromium";
/// Where ChromeDriver is, unless `CHROMEDRIVER` says otherwise.
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// A headless Chromium session with its ChromeDriver; both stop when dropped.
pub struct Browser {
    client: Client,
    driver: Child,
    _profile: tempfile::TempDir,
    screenshots: PathBuf,
}

/// chromedriver's log endpoint (`goog:loggingPrefs`): the console messages since the last call.
#[derive(Debug)]
struct BrowserLog;

impl WebDriverCompatibleCommand for BrowserLog {
    fn endpoint(&self, base: &url::Url, session: Option<&str>) -> Result<url::Url, url::ParseError> {
        base.join(&format!("session/{}/se/log", session.unwrap_or_default()))
    }

    fn method_and_body(&self, _: &url::Url) -> (http::Method, Option<String>) {
        (http::Method::POST, Some(json!({ "type": "browser" }).to_string()))
    }
}

fn executable(variable: &str, default: &str) -> PathBuf {
    let path = std::env::var_os(variable).map_or_else(|| PathBuf::from(default), PathBuf::from);
    assert!(
        path.exists(),
        "{} is missing: install Debian's chromium and chromium-driver (.ci/run does), or set {variable}",
        path.display()
    );
    path
}

impl Browser {
    /// Starts ChromeDriver and a headless Chromium window of 1280 × 900.
    pub async fn start() -> Browser {
        let chromium = executable("CHROMIUM", CHROMIUM);
        let chromedriver = executable("CHROMEDRIVER", CHROMEDRIVER);
        let port = crate::free_port();
        let driver = Command::new(chromedriver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start chromedriver");
        let profile = tempfile::tempdir().expect("profile folder");
        let mut capabilities = Capabilities::new();
        capabilities.insert(
            "goog:chromeOptions".into(),
            json!({
                "binary": chromium,
                "args": [
                    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                    "--no-first-run", "--disable-quic", "--disable-component-update", "--disable-sync",
                    "--disable-dev-shm-usage", "--hide-scrollbars", "--window-size=1280,900",
                    format!("--user-data-dir={}", profile.path().display()),
                ],
            }),
        );
        capabilities.insert("goog:loggingPrefs".into(), json!({ "browser": "ALL" }));
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        let address = format!("http://127.0.0.1:{port}");
        let started = Instant::now();
        let client = loop {
            match ClientBuilder::new(connector.clone())
                .capabilities(capabilities.clone())
                .connect(&address)
                .await
            {
                Ok(client) => break client,
                Err(error) if started.elapsed() < WAIT => {
                    let _ = error;
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
                Err(error) => panic!("cannot start a Chromium session through chromedriver: {error}"),
            }
        };
        let screenshots = crate::build_folder().parent().expect("target folder").join("screenshots");
        std::fs::create_dir_all(&screenshots).expect("create target/screenshots");
        Browser { client, driver, _profile: profile, screenshots }
    }

    /// The WebDriver client, for what this wrapper does not cover.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// Opens `url` and waits for the page to load.
    pub async fn open(&self, url: &str) {
        self.client.goto(url).await.unwrap_or_else(|error| panic!("open {url}: {error}"));
    }

    /// Resizes the window (the page's viewport follows).
    pub async fn resize(&self, width: u32, height: u32) {
        self.client.set_window_size(width, height).await.expect("resize the window");
    }

    /// Waits until `css` matches an element, and returns the first.
    pub async fn find(&self, css: &str) -> Element {
        let started = Instant::now();
        loop {
            if let Ok(element) = self.client.find(Locator::Css(css)).await {
                return element;
            }
            if started.elapsed() > WAIT {
                self.screenshot("failed-wait").await;
                panic!("nothing matched {css} within {WAIT:?}; page: {}", self.text("body").await);
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Every element `css` matches now.
    pub async fn find_all(&self, css: &str) -> Vec<Element> {
        self.client.find_all(Locator::Css(css)).await.expect("find elements")
    }

    /// Waits until the element `css` matches holds `text`.
    pub async fn wait_for_text(&self, css: &str, text: &str) -> Element {
        let started = Instant::now();
        loop {
            if let Ok(element) = self.client.find(Locator::Css(css)).await
                && element.text().await.is_ok_and(|shown| shown.contains(text))
            {
                return element;
            }
            if started.elapsed() > WAIT {
                self.screenshot("failed-wait").await;
                panic!("{css} did not show {text:?} within {WAIT:?}; it shows {:?}", self.text(css).await);
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Waits until `script` (a function body) returns true in the page.
    pub async fn wait_until(&self, what: &str, script: &str) {
        let started = Instant::now();
        loop {
            let value = self.client.execute(script, Vec::new()).await.unwrap_or(Value::Null);
            if value == Value::Bool(true) {
                return;
            }
            if started.elapsed() > WAIT {
                self.screenshot("failed-wait").await;
                panic!("{what}: not true within {WAIT:?} ({script})");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Runs `script` (a function body) in the page and returns its value.
    pub async fn run(&self, script: &str) -> Value {
        self.client.execute(script, Vec::new()).await.unwrap_or_else(|error| panic!("{script}: {error}"))
    }

    /// The text of the first element `css` matches, or "" if none.
    pub async fn text(&self, css: &str) -> String {
        match self.client.find(Locator::Css(css)).await {
            Ok(element) => element.text().await.unwrap_or_default(),
            Err(_) => String::new(),
        }
    }

    /// Saves a PNG of the window as `target/screenshots/{name}.png`; returns its path.
    pub async fn screenshot(&self, name: &str) -> PathBuf {
        let png = self.client.screenshot().await.expect("take a screenshot");
        let path = self.screenshots.join(format!("{name}.png"));
        std::fs::write(&path, png).expect("write the screenshot");
        path
    }

    /// Console messages at level SEVERE (errors, failed loads) since the last call.
    pub async fn console_errors(&self) -> Vec<String> {
        let entries = self.client.issue_cmd(BrowserLog).await.expect("read the browser console");
        entries
            .as_array()
            .into_iter()
            .flatten()
            .filter(|entry| entry["level"] == "SEVERE")
            .map(|entry| entry["message"].as_str().unwrap_or_default().to_owned())
            .collect()
    }

    /// Fails the test if the console has errors, naming the page.
    pub async fn assert_no_console_errors(&self, page: &str) {
        let errors = self.console_errors().await;
        assert!(errors.is_empty(), "the browser console has errors on {page}: {errors:#?}");
    }

    /// Ends the browser session (Chromium exits), then ChromeDriver.
    pub async fn close(self) {
        let _ = self.client.clone().close().await;
    }

    /// The screenshots folder.
    pub fn screenshots(&self) -> &Path {
        &self.screenshots
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}
