//! A run's corner of the browser: a fresh incognito browser context (cookies, storage, cache
//! and service workers of its own, gone when the run ends) whose traffic goes through a guarded
//! proxy of its own, with the run's network guard. Runs share the browser process and nothing
//! else.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex as SyncMutex, PoisonError};
use std::time::Duration;

use chromiumoxide::cdp::browser_protocol::browser::BrowserContextId;
use chromiumoxide::cdp::browser_protocol::target::CreateBrowserContextParams;
use tokio::sync::Mutex;

use super::BrowserError;
use super::pool::{BrowserPool, Process};
use super::proxy::{GuardedProxy, Policy};
use super::tab::{Tab, TabSettings};
use crate::guard::NetworkGuard;

/// The context on the browser process it was created in.
#[derive(Debug)]
struct Created {
    process: Arc<Process>,
    id: BrowserContextId,
}

#[derive(Debug)]
pub(super) struct RunContext {
    pool: BrowserPool,
    proxy: GuardedProxy,
    settings: TabSettings,
    created: Mutex<Option<Created>>,
    idle: SyncMutex<Vec<Tab>>,
    /// Tabs opened so far: picks each new tab's user agent.
    opened: AtomicUsize,
}

impl RunContext {
    /// Starts the run's proxy; the browser context is created with the first tab.
    pub(super) fn new(
        pool: BrowserPool,
        guard: NetworkGuard,
        settings: TabSettings,
    ) -> Result<Self, BrowserError> {
        let proxy = GuardedProxy::start(Policy::Guard(guard)).map_err(BrowserError::Proxy)?;
        Ok(Self {
            pool,
            proxy,
            settings,
            created: Mutex::new(None),
            idle: SyncMutex::new(Vec::new()),
            opened: AtomicUsize::new(0),
        })
    }

    pub(super) fn proxy(&self) -> &GuardedProxy {
        &self.proxy
    }

    pub(super) fn pool(&self) -> &BrowserPool {
        &self.pool
    }

    /// A tab for one page: an idle one of this run, or a new one once the pool has room.
    pub(super) async fn tab(&self) -> Result<Tab, BrowserError> {
        loop {
            let idle = self
                .idle
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .pop();
            match idle {
                Some(tab) if tab.is_usable() => return Ok(tab),
                Some(_) => continue,
                None => break,
            }
        }
        let permit = self.pool.tab_permit().await?;
        let (process, id) = self.context().await?;
        let agents = &self.settings.user_agents;
        let agent = (!agents.is_empty())
            .then(|| agents[self.opened.fetch_add(1, Ordering::Relaxed) % agents.len()].as_str());
        Tab::open(process, id, permit, &self.settings, agent).await
    }

    /// Takes back a tab after a page; it stays open for the run's next page unless it is
    /// broken or another run is waiting for room.
    pub(super) fn give_back(&self, tab: Tab) {
        if tab.is_usable() && !self.pool.others_waiting() {
            self.idle
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push(tab);
        }
    }

    /// The run's browser context on the running browser, created on first use and again after
    /// the browser was restarted (the old one went with the old process; so did its cookies).
    async fn context(&self) -> Result<(Arc<Process>, BrowserContextId), BrowserError> {
        let process = self.pool.process().await?;
        let mut created = self.created.lock().await;
        if let Some(c) = created.as_ref()
            && Arc::ptr_eq(&c.process, &process)
        {
            return Ok((process, c.id.clone()));
        }
        if created.is_some() {
            tracing::warn!(
                "the browser was restarted; this run continues in a new browser context"
            );
        }
        let params = CreateBrowserContextParams::builder()
            .dispose_on_detach(true)
            .proxy_server(self.proxy.url())
            // Loopback is not exempt from the proxy: the guard decides about 127.0.0.1 too.
            .proxy_bypass_list("<-loopback>")
            .build();
        let id = tokio::time::timeout(
            Duration::from_secs(20),
            process.browser.create_browser_context(params),
        )
        .await
        .map_err(|_| BrowserError::Hung)?
        .map_err(BrowserError::from_cdp)?;
        *created = Some(Created {
            process: Arc::clone(&process),
            id: id.clone(),
        });
        Ok((process, id))
    }
}

impl Drop for RunContext {
    fn drop(&mut self) {
        // Tabs first (they close themselves), then the context with everything it stored.
        self.idle
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clear();
        let Some(created) = self.created.get_mut().take() else {
            return;
        };
        if let Ok(runtime) = tokio::runtime::Handle::try_current()
            && created.process.is_alive()
        {
            runtime.spawn(async move {
                let dispose = created.process.browser.dispose_browser_context(created.id);
                if let Ok(Err(e)) = tokio::time::timeout(Duration::from_secs(10), dispose).await {
                    tracing::debug!(error = %e, "could not dispose of a browser context");
                }
            });
        }
    }
}
