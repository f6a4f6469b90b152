//! Steps many stories share.

use crate::app::PASSWORD;
use crate::browser::Ui;

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
