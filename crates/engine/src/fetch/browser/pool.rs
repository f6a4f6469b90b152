//! [`BrowserPool`]: one Chromium process for the whole program, started on first use, started
//! again when it dies or stops answering, and a budget of tabs shared by every run.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use std::process::Stdio;

use chromiumoxide::browser::Browser;
use chromiumoxide::handler::HandlerConfig;
use futures::StreamExt;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};
use tokio::sync::{Mutex, OwnedSemaphorePermit, Semaphore};
use tokio_util::sync::CancellationToken;

use super::BrowserError;
use super::flags;
use super::locate::{ChromiumMissing, locate_chromium};
use super::proxy::{GuardedProxy, Policy};

/// How the browser is run. Every field has a default; settings override them.
#[derive(Debug, Clone)]
pub struct BrowserOptions {
    /// The Chromium binary; `None` means [`GRANDMA_CHROMIUM`](super::CHROMIUM_ENV), then the
    /// system's.
    pub chromium: Option<PathBuf>,
    /// Tabs open at once across every run of the process.
    pub tabs: usize,
    /// Elements a rendered page may have; a page past it fails as too large.
    pub max_dom_nodes: u64,
    /// Bytes a page may load over the network, itself and everything it pulls in.
    pub max_page_bytes: u64,
    /// How long a page without a match of the item selector must be quiet (no DOM changes, no
    /// new requests) after `load` to count as ready.
    pub quiet_period: Duration,
    /// How long the browser may take to start.
    pub launch_timeout: Duration,
}

impl Default for BrowserOptions {
    fn default() -> Self {
        Self {
            chromium: None,
            tabs: default_tabs(),
            max_dom_nodes: 500_000,
            max_page_bytes: 50 * 1024 * 1024,
            quiet_period: Duration::from_millis(500),
            launch_timeout: Duration::from_secs(30),
        }
    }
}

/// Memory a tab is budgeted (a renderer with a large page), and memory kept for everything else.
const TAB_MEMORY: u64 = 256 * 1024 * 1024;
const RESERVED_MEMORY: u64 = 1024 * 1024 * 1024;
const MAX_DEFAULT_TABS: usize = 16;

/// Tabs by default: two per core (a tab spends much of its time waiting on the network), at
/// most what the machine's memory holds at [`TAB_MEMORY`] each beyond [`RESERVED_MEMORY`],
/// between 1 and 16.
pub fn default_tabs() -> usize {
    let cores = std::thread::available_parallelism().map_or(2, std::num::NonZero::get);
    let by_cores = cores * 2;
    let by_memory = total_memory().map_or(by_cores, |total| {
        (total.saturating_sub(RESERVED_MEMORY) / TAB_MEMORY) as usize
    });
    by_cores.min(by_memory).clamp(1, MAX_DEFAULT_TABS)
}

/// Total memory from /proc/meminfo (Linux); `None` elsewhere.
fn total_memory() -> Option<u64> {
    let meminfo = std::fs::read_to_string("/proc/meminfo").ok()?;
    let kib: u64 = meminfo
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()?;
    Some(kib * 1024)
}

/// The browser process of a program, shared by every run (cheap to clone).
///
/// Creating a pool only finds the binary; the process starts when the first page needs it.
/// Each run gets its own incognito browser context behind its own guarded proxy (see
/// `context.rs`), so runs share the process and nothing else.
#[derive(Debug, Clone)]
pub struct BrowserPool {
    inner: Arc<PoolInner>,
}

#[derive(Debug)]
struct PoolInner {
    options: BrowserOptions,
    executable: PathBuf,
    tabs: Arc<Semaphore>,
    /// Tasks waiting for a tab; a run gives its idle tabs back when someone waits.
    waiting: AtomicUsize,
    current: Mutex<Option<Arc<Process>>>,
    launches: AtomicU64,
}

/// What the pool is doing, for health reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PoolStatus {
    pub executable: PathBuf,
    pub running: bool,
    /// Browser processes started so far (more than one means restarts).
    pub launches: u64,
    pub tabs: usize,
    pub tabs_in_use: usize,
}

impl BrowserPool {
    /// Finds Chromium; fails in words when there is none. Starts nothing.
    pub fn new(options: BrowserOptions) -> Result<Self, ChromiumMissing> {
        let executable = locate_chromium(options.chromium.as_deref())?;
        let tabs = options.tabs.max(1);
        Ok(Self {
            inner: Arc::new(PoolInner {
                tabs: Arc::new(Semaphore::new(tabs)),
                options: BrowserOptions { tabs, ..options },
                executable,
                waiting: AtomicUsize::new(0),
                current: Mutex::new(None),
                launches: AtomicU64::new(0),
            }),
        })
    }

    pub fn options(&self) -> &BrowserOptions {
        &self.inner.options
    }

    pub fn executable(&self) -> &Path {
        &self.inner.executable
    }

    pub async fn status(&self) -> PoolStatus {
        let running = self
            .inner
            .current
            .lock()
            .await
            .as_ref()
            .is_some_and(|p| p.is_alive());
        PoolStatus {
            executable: self.inner.executable.clone(),
            running,
            launches: self.inner.launches.load(Ordering::Relaxed),
            tabs: self.inner.options.tabs,
            tabs_in_use: self.inner.options.tabs - self.inner.tabs.available_permits(),
        }
    }

    /// The process id of the running browser, if one runs (tests kill it to prove recovery).
    pub async fn browser_pid(&self) -> Option<u32> {
        let current = self.inner.current.lock().await;
        current
            .as_ref()
            .filter(|p| p.is_alive())
            .and_then(|p| p.pid)
    }

    /// Starts the browser now if it is not running and answers with its version: a health
    /// probe, and a way to pay the start-up time before the first page.
    pub async fn probe(&self) -> Result<String, BrowserError> {
        let process = self.process().await?;
        process.version().await
    }

    /// The running browser, started (again) if there is none or the last one died.
    pub(super) async fn process(&self) -> Result<Arc<Process>, BrowserError> {
        let mut current = self.inner.current.lock().await;
        if let Some(process) = current.as_ref().filter(|p| p.is_alive()) {
            return Ok(Arc::clone(process));
        }
        if let Some(dead) = current.take() {
            tracing::warn!(
                generation = dead.generation,
                "the browser process ended; starting a new one"
            );
        }
        let generation = self.inner.launches.fetch_add(1, Ordering::Relaxed) + 1;
        let process = Arc::new(Process::launch(&self.inner, generation).await?);
        *current = Some(Arc::clone(&process));
        Ok(process)
    }

    /// Stops `process` at once if it is still the current one: it hangs, and the next page
    /// gets a new browser. Runs on it see their pages fail and retry them.
    pub(super) async fn retire(&self, process: &Arc<Process>) {
        let mut current = self.inner.current.lock().await;
        if current.as_ref().is_some_and(|p| Arc::ptr_eq(p, process)) {
            tracing::warn!(
                generation = process.generation,
                "the browser stopped answering; stopping it"
            );
            process.kill();
            *current = None;
        }
    }

    /// A tab's place in the budget; waits while every tab is in use.
    pub(super) async fn tab_permit(&self) -> Result<OwnedSemaphorePermit, BrowserError> {
        if let Ok(permit) = Arc::clone(&self.inner.tabs).try_acquire_owned() {
            return Ok(permit);
        }
        self.inner.waiting.fetch_add(1, Ordering::Relaxed);
        let permit = Arc::clone(&self.inner.tabs).acquire_owned().await;
        self.inner.waiting.fetch_sub(1, Ordering::Relaxed);
        permit.map_err(|_| BrowserError::Gone)
    }

    /// Whether another task waits for a tab (a run then closes its idle tabs).
    pub(super) fn others_waiting(&self) -> bool {
        self.inner.waiting.load(Ordering::Relaxed) > 0
    }
}

/// One running Chromium.
#[derive(Debug)]
pub(super) struct Process {
    pub(super) browser: Browser,
    pub(super) generation: u64,
    pid: Option<u32>,
    /// Cancelled when the DevTools connection ends: the process died or was killed.
    ended: CancellationToken,
    handler: tokio::task::JoinHandle<()>,
    /// Killed when dropped (and by the kernel when this process dies; see `start`).
    _child: Child,
    /// Traffic outside any run's context goes here and nowhere else.
    _refuse_all: GuardedProxy,
    _profile: tempfile::TempDir,
}

impl Process {
    async fn launch(pool: &PoolInner, generation: u64) -> Result<Self, BrowserError> {
        let refuse_all = GuardedProxy::start(Policy::RefuseAll).map_err(BrowserError::Proxy)?;
        // A fresh, empty profile per process: nothing of an earlier process (cookies, cache,
        // service workers) survives a restart.
        let profile = tempfile::Builder::new()
            .prefix("grandma-chromium-")
            .tempdir()
            .map_err(|e| BrowserError::Launch {
                path: pool.executable.display().to_string(),
                message: format!("cannot create a profile directory: {e}"),
            })?;
        let sandbox = !flags::running_as_root();
        let first = Self::start(pool, &refuse_all, profile.path(), sandbox).await;
        let (browser, handler, child) = match first {
            Ok(started) => started,
            // Containers often cannot give Chromium its sandbox; say so and run without it.
            Err(e) if sandbox => {
                tracing::warn!(error = %e, "Chromium did not start sandboxed; starting it without its sandbox");
                Self::start(pool, &refuse_all, profile.path(), false).await?
            }
            Err(e) => return Err(e),
        };
        let pid = child.id();
        let ended = CancellationToken::new();
        let handler = {
            let ended = ended.clone();
            let mut handler = handler;
            tokio::spawn(async move {
                // Also when the task is dropped with its runtime: the browser is then out of
                // reach, and the next page starts a new one.
                let _ended = ended.drop_guard();
                while let Some(event) = handler.next().await {
                    match event {
                        Ok(()) => {}
                        // The connection broke: the process died or was killed.
                        Err(chromiumoxide::error::CdpError::Ws(e)) => {
                            tracing::warn!(error = %e, "lost the connection to the browser");
                            break;
                        }
                        Err(e) => tracing::debug!(error = %e, "browser event could not be handled"),
                    }
                }
            })
        };
        tracing::info!(generation, pid, "browser started");
        Ok(Self {
            browser,
            generation,
            pid,
            ended,
            handler,
            _child: child,
            _refuse_all: refuse_all,
            _profile: profile,
        })
    }

    /// Starts Chromium with our flags, in our order, and connects to its DevTools endpoint.
    ///
    /// On Linux the browser is started through `setpriv --pdeathsig KILL` (util-linux), so the
    /// kernel kills it when this process dies, even by SIGKILL: a worker that crashes never
    /// leaves a browser behind. chromiumoxide's own launcher offers neither the order of the
    /// arguments (it keeps them in a map) nor that.
    async fn start(
        pool: &PoolInner,
        refuse_all: &GuardedProxy,
        profile: &Path,
        sandbox: bool,
    ) -> Result<(Browser, chromiumoxide::Handler, Child), BrowserError> {
        let launch_error = |message: String| BrowserError::Launch {
            path: pool.executable.display().to_string(),
            message,
        };
        let mut args: Vec<String> = flags::chromium_args(&refuse_all.url())
            .into_iter()
            .map(|(name, value)| match value {
                Some(value) => format!("--{name}={value}"),
                None => format!("--{name}"),
            })
            .collect();
        args.push(format!("--user-data-dir={}", profile.display()));
        args.push("--window-size=1366,900".to_owned());
        if !sandbox {
            args.push("--no-sandbox".to_owned());
        }
        args.push("about:blank".to_owned());
        let mut command = match parent_death_signal() {
            Some(setpriv) => {
                let mut c = Command::new(setpriv);
                c.args(["--pdeathsig", "KILL", "--"]).arg(&pool.executable);
                c
            }
            None => Command::new(&pool.executable),
        };
        command
            .args(&args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        // The parent-death signal fires when the *thread* that started the child ends, so it
        // is started from a task (a runtime worker thread, alive as long as the runtime) and
        // not from whatever thread awaits this (a test's own thread, a blocking thread).
        let mut child = tokio::spawn(async move { command.spawn() })
            .await
            .map_err(|e| launch_error(e.to_string()))?
            .map_err(|e| launch_error(e.to_string()))?;
        let stderr = child
            .stderr
            .take()
            .ok_or_else(|| launch_error("no stderr".into()))?;
        let mut lines = BufReader::new(stderr).lines();
        let mut said = Vec::new();
        let endpoint = tokio::time::timeout(pool.options.launch_timeout, async {
            while let Ok(Some(line)) = lines.next_line().await {
                if let Some(url) = line.trim().strip_prefix("DevTools listening on ") {
                    return Some(url.to_owned());
                }
                if said.len() < 20 {
                    said.push(line);
                }
            }
            None
        })
        .await;
        let endpoint = match endpoint {
            Ok(Some(url)) => url,
            Ok(None) => return Err(launch_error(format!("it exited: {}", said.join(" / ")))),
            Err(_) => {
                return Err(launch_error(format!(
                    "it did not start within {}s: {}",
                    pool.options.launch_timeout.as_secs(),
                    said.join(" / ")
                )));
            }
        };
        // Chromium keeps writing to stderr; a full pipe would stall it.
        tokio::spawn(async move {
            while let Ok(Some(line)) = lines.next_line().await {
                tracing::trace!(target: "chromium", "{line}");
            }
        });
        let config = HandlerConfig {
            ignore_https_errors: false,
            viewport: None,
            // Our own timeouts bound every command; this one only catches a lost reply.
            request_timeout: Duration::from_secs(600),
            ..HandlerConfig::default()
        };
        let (browser, handler) = Browser::connect_with_config(endpoint, config)
            .await
            .map_err(|e| launch_error(e.to_string()))?;
        Ok((browser, handler, child))
    }

    pub(super) fn is_alive(&self) -> bool {
        !self.ended.is_cancelled()
    }

    /// Resolves when the process is gone.
    pub(super) async fn ended(&self) {
        self.ended.cancelled().await;
    }

    pub(super) async fn version(&self) -> Result<String, BrowserError> {
        let version = tokio::time::timeout(Duration::from_secs(10), self.browser.version())
            .await
            .map_err(|_| BrowserError::Hung)?
            .map_err(BrowserError::from_cdp)?;
        Ok(version.product)
    }

    /// SIGKILL now; the child is reaped when the process is dropped (we hold the child, so
    /// the pid cannot have been reused meanwhile).
    fn kill(&self) {
        if let Some(pid) = self
            .pid
            .and_then(|p| rustix::process::Pid::from_raw(p as i32))
        {
            let _ = rustix::process::kill_process(pid, rustix::process::Signal::KILL);
        }
        self.ended.cancel();
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        self.handler.abort();
        // The child is killed on drop (kill_on_drop) and tokio reaps it.
    }
}

/// `setpriv` (util-linux) when it can set the parent-death signal here: Linux only.
fn parent_death_signal() -> Option<&'static Path> {
    const SETPRIV: &str = "/usr/bin/setpriv";
    (cfg!(target_os = "linux") && Path::new(SETPRIV).is_file()).then(|| Path::new(SETPRIV))
}
