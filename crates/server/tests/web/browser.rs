//! A real headless Chromium (`/usr/bin/chromium`, or `GRANDMA_CHROMIUM`) driven over CDP with
//! chromiumoxide, against the app under test. A missing Chromium fails the test.
//!
//! [`ui_test`] runs a story with a fresh browser; when the story panics it saves a screenshot
//! and the page's HTML under `target/ui-failures/<name>.{png,html}` and then fails.

use std::future::Future;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use chromiumoxide::browser::{Browser, BrowserConfig};
use chromiumoxide::cdp::browser_protocol::emulation::SetDeviceMetricsOverrideParams;
use chromiumoxide::cdp::browser_protocol::input::{DispatchKeyEventParams, DispatchKeyEventType};
use chromiumoxide::cdp::browser_protocol::page::CaptureScreenshotFormat;
use chromiumoxide::layout::Point;
use chromiumoxide::page::{Page, ScreenshotParams};
use futures::{FutureExt, StreamExt};
use serde::de::DeserializeOwned;

/// How long a wait for something on the page lasts before the test fails.
pub const WAIT: Duration = Duration::from_secs(15);

/// The size of the window the story runs in.
#[derive(Debug, Clone, Copy)]
pub enum Viewport {
    Desktop,
    /// A phone held upright (390 × 844, touch, mobile layout).
    Phone,
}

/// A browser with one tab, pointed at the app.
pub struct Ui {
    browser: Browser,
    handler: tokio::task::JoinHandle<()>,
    pub page: Page,
    base: String,
    /// The tab's size and kind, set again after each full-page screenshot, which clears it.
    metrics: SetDeviceMetricsOverrideParams,
    _profile: tempfile::TempDir,
}

fn chromium() -> PathBuf {
    let path = std::env::var_os("GRANDMA_CHROMIUM")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/bin/chromium"));
    assert!(
        path.exists(),
        "Chromium is needed for the web app's tests and is not at {} (apt-get install chromium)",
        path.display()
    );
    path
}

impl Ui {
    pub async fn launch(base: &str, viewport: Viewport) -> Ui {
        let profile = tempfile::tempdir().unwrap();
        let config = BrowserConfig::builder()
            .chrome_executable(chromium())
            .new_headless_mode()
            .no_sandbox()
            .user_data_dir(profile.path())
            .window_size(1280, 900)
            .viewport(None)
            .args([
                "--disable-gpu",
                "--disable-dev-shm-usage",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-extensions",
            ])
            .build()
            .expect("browser configuration");
        let (browser, mut events) = Browser::launch(config).await.expect("start Chromium");
        let handler = tokio::spawn(async move { while events.next().await.is_some() {} });
        let page = browser.new_page("about:blank").await.expect("a tab");
        let (width, height, mobile) = match viewport {
            Viewport::Desktop => (1280, 900, false),
            Viewport::Phone => (390, 844, true),
        };
        let metrics = SetDeviceMetricsOverrideParams::new(width, height, 1.0, mobile);
        page.execute(metrics.clone())
            .await
            .expect("set the viewport");
        Ui {
            browser,
            handler,
            page,
            base: base.trim_end_matches('/').to_owned(),
            metrics,
            _profile: profile,
        }
    }

    /// Opens a path of the app and waits for the page to load.
    pub async fn goto(&self, path: &str) {
        let url = format!("{}{path}", self.base);
        self.page.goto(url.as_str()).await.expect("navigate");
        self.wait_until("document.readyState === 'complete'").await;
    }

    /// Evaluates a JavaScript expression (promises are awaited) and returns its value.
    pub async fn eval<T: DeserializeOwned>(&self, expression: &str) -> T {
        self.page
            .evaluate(expression)
            .await
            .unwrap_or_else(|e| panic!("evaluate {expression}: {e}"))
            .into_value()
            .unwrap_or_else(|e| panic!("value of {expression}: {e}"))
    }

    /// Waits until a JavaScript condition is true.
    pub async fn wait_until(&self, condition: &str) {
        let start = Instant::now();
        loop {
            let result = self.page.evaluate(format!("Boolean({condition})")).await;
            if let Ok(value) = result
                && value.into_value::<bool>().unwrap_or(false)
            {
                return;
            }
            assert!(start.elapsed() < WAIT, "waited {WAIT:?} for {condition}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Waits for an element matching `css`.
    pub async fn wait_for(&self, css: &str) {
        self.wait_until(&format!("document.querySelector({})", js(css)))
            .await;
    }

    /// Waits for the element matching `css` to contain `text`.
    pub async fn wait_text(&self, css: &str, text: &str) {
        self.wait_until(&format!(
            "(document.querySelector({})?.textContent ?? '').includes({})",
            js(css),
            js(text)
        ))
        .await;
    }

    /// Waits for the page at `path` (and its load).
    pub async fn wait_path(&self, path: &str) {
        self.wait_until(&format!(
            "location.pathname === {} && document.readyState === 'complete'",
            js(path)
        ))
        .await;
    }

    pub async fn exists(&self, css: &str) -> bool {
        self.eval(&format!("document.querySelector({}) !== null", js(css)))
            .await
    }

    pub async fn text(&self, css: &str) -> String {
        self.wait_for(css).await;
        self.eval(&format!("document.querySelector({}).textContent", js(css)))
            .await
    }

    /// Types `text` into the field matching `css` as a person would (focus, keys).
    pub async fn fill(&self, css: &str, text: &str) {
        self.wait_for(css).await;
        self.eval::<bool>(&format!(
            "(() => {{ const e = document.querySelector({}); e.value = ''; e.focus(); return true; }})()",
            js(css)
        ))
        .await;
        let element = self.page.find_element(css).await.expect("field");
        element.type_str(text).await.expect("type");
    }

    /// Picks `value` in the `<select>` matching `css`.
    pub async fn select(&self, css: &str, value: &str) {
        self.wait_for(css).await;
        self.eval::<bool>(&format!(
            "(() => {{ const e = document.querySelector({}); e.value = {}; \
             e.dispatchEvent(new Event('input', {{bubbles: true}})); \
             e.dispatchEvent(new Event('change', {{bubbles: true}})); return true; }})()",
            js(css),
            js(value)
        ))
        .await;
    }

    /// Clicks the element matching `css` with the mouse.
    pub async fn click(&self, css: &str) {
        self.wait_for(css).await;
        self.eval::<bool>(&format!(
            "(() => {{ document.querySelector({}).scrollIntoView({{block: 'center'}}); return true; }})()",
            js(css)
        ))
        .await;
        let element = self.page.find_element(css).await.expect("element");
        element.click().await.expect("click");
    }

    /// Presses a key on whatever has the focus, as a keyboard would: `Tab`, `Shift+Tab`,
    /// `Enter`, `Space`, `Escape` or an arrow (`ArrowDown`, ...).
    pub async fn press(&self, key: &str) {
        let (shift, key) = match key.strip_prefix("Shift+") {
            Some(rest) => (true, rest),
            None => (false, key),
        };
        let (name, code, key_code, text) = match key {
            "Tab" => ("Tab", "Tab", 9, None),
            "Enter" => ("Enter", "Enter", 13, Some("\r")),
            "Space" => (" ", "Space", 32, Some(" ")),
            "Escape" => ("Escape", "Escape", 27, None),
            "ArrowLeft" => ("ArrowLeft", "ArrowLeft", 37, None),
            "ArrowUp" => ("ArrowUp", "ArrowUp", 38, None),
            "ArrowRight" => ("ArrowRight", "ArrowRight", 39, None),
            "ArrowDown" => ("ArrowDown", "ArrowDown", 40, None),
            other => panic!("no key {other} in Ui::press"),
        };
        let modifiers = if shift { 8 } else { 0 };
        let event = |kind: DispatchKeyEventType, text: Option<&str>| {
            let mut builder = DispatchKeyEventParams::builder()
                .r#type(kind)
                .modifiers(modifiers)
                .key(name)
                .code(code)
                .windows_virtual_key_code(key_code)
                .native_virtual_key_code(key_code);
            if let Some(text) = text {
                builder = builder.text(text);
            }
            builder.build().expect("a key event")
        };
        let down = if text.is_some() {
            DispatchKeyEventType::KeyDown
        } else {
            DispatchKeyEventType::RawKeyDown
        };
        self.page
            .execute(event(down, text))
            .await
            .expect("key down");
        self.page
            .execute(event(DispatchKeyEventType::KeyUp, None))
            .await
            .expect("key up");
    }

    /// Clicks with the mouse, at its middle, the element `css` matches inside the frame
    /// `frame` (a CSS selector of the page), as a person's click would land.
    pub async fn click_in_frame(&self, frame: &str, css: &str) {
        let point: Option<(f64, f64)> = self
            .eval(&format!(
                "(() => {{ const f = document.querySelector({}); f.scrollIntoView({{block: 'start'}}); \
                 const el = f.contentDocument?.querySelector({}); if (!el) return null; \
                 el.scrollIntoView({{block: 'center'}}); const a = f.getBoundingClientRect(); \
                 const b = el.getBoundingClientRect(); \
                 return [a.left + f.clientLeft + b.left + b.width / 2, a.top + f.clientTop + b.top + b.height / 2]; }})()",
                js(frame),
                js(css)
            ))
            .await;
        let (x, y) = point.unwrap_or_else(|| panic!("no {css} in {frame}"));
        self.page.click(Point { x, y }).await.expect("click");
    }

    pub async fn path(&self) -> String {
        self.eval("location.pathname").await
    }

    pub async fn screenshot(&self, to: &std::path::Path) {
        let png = self
            .page
            .screenshot(
                ScreenshotParams::builder()
                    .format(CaptureScreenshotFormat::Png)
                    .full_page(true)
                    .build(),
            )
            .await
            .expect("screenshot");
        // A full-page capture resizes the tab to the page and then drops every size override,
        // so a phone would go on at the window's desktop width.
        self.page
            .execute(self.metrics.clone())
            .await
            .expect("set the viewport again");
        if let Some(dir) = to.parent() {
            std::fs::create_dir_all(dir).unwrap();
        }
        std::fs::write(to, png).unwrap();
    }

    pub async fn close(mut self) {
        let _ = self.browser.close().await;
        let _ = self.browser.wait().await;
        self.handler.abort();
    }
}

/// `text` as a JavaScript string literal.
pub fn js(text: &str) -> String {
    serde_json::to_string(text).unwrap()
}

/// Where failing stories leave their screenshot and HTML: `target/ui-failures/`.
pub fn failures_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .map(|target| target.join("ui-failures"))
        .unwrap_or_else(|| PathBuf::from("target/ui-failures"))
}

/// Runs `story` in a new browser at `base`; on a panic saves `<name>.png` and `<name>.html`
/// under [`failures_dir`], closes the browser, and fails with the panic.
pub async fn ui_test<F, Fut>(name: &str, base: &str, viewport: Viewport, story: F)
where
    F: FnOnce(std::sync::Arc<Ui>) -> Fut,
    Fut: Future<Output = ()>,
{
    let ui = std::sync::Arc::new(Ui::launch(base, viewport).await);
    let outcome = std::panic::AssertUnwindSafe(story(std::sync::Arc::clone(&ui)))
        .catch_unwind()
        .await;
    if outcome.is_err() {
        let dir = failures_dir();
        ui.screenshot(&dir.join(format!("{name}.png"))).await;
        if let Ok(html) = ui.page.content().await {
            let _ = std::fs::write(dir.join(format!("{name}.html")), html);
        }
        eprintln!("{name}: screenshot and HTML saved under {}", dir.display());
    }
    if let Ok(ui) = std::sync::Arc::try_unwrap(ui) {
        ui.close().await;
    }
    if let Err(panic) = outcome {
        std::panic::resume_unwind(panic);
    }
}
