//! Steps many stories share.

use crate::app::PASSWORD;
use crate::browser::{Ui, js};

/// Signs in through the sign-in page and waits for the home page.
pub async fn sign_in(ui: &Ui, email: &str) {
    ui.goto("/login").await;
    ui.fill("#email", email).await;
    ui.fill("#password", PASSWORD).await;
    ui.click("form[action='/login'] button[type=submit]").await;
    ui.wait_path("/").await;
}

/// The session cookie's value in the browser (read over CDP: page scripts cannot see it).
pub async fn session_cookie(ui: &Ui) -> Option<String> {
    let cookies = ui.page.get_cookies().await.expect("cookies");
    cookies
        .into_iter()
        .find(|c| c.name == grandma_server::auth::session::COOKIE_NAME)
        .map(|c| c.value)
}

/// The texts under `texts` laid out on more than one line (more than one client rectangle
/// row per text node) and the menus under `menus` too narrow (under 96 px) to show their
/// choice: what a phone would show broken mid-word or cut off.
pub async fn broken_on_a_phone(ui: &Ui, texts: &str, menus: &str) -> Vec<String> {
    ui.eval(&format!(
        "(() => {{ \
           const broken = []; \
           const texts = [...document.querySelectorAll({})] \
             .flatMap(e => [...e.childNodes].filter(n => n.nodeType === 3 \
               && n.textContent.trim())); \
           for (const node of texts) {{ \
             const range = document.createRange(); range.selectNodeContents(node); \
             const lines = new Set([...range.getClientRects()].map(r => Math.round(r.top))); \
             if (lines.size > 1) broken.push(node.textContent.trim()); \
           }} \
           for (const menu of document.querySelectorAll({})) {{ \
             if (menu.offsetWidth < 96) broken.push(menu.id + ' is ' + menu.offsetWidth + 'px'); \
           }} \
           return broken; }})()",
        js(texts),
        js(menus)
    ))
    .await
}
