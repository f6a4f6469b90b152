//! Assets: content-hashed names, immutable caching, the pages' security headers, and the
//! JavaScript and CSS budget.

use grandma_server::web::assets;
use grandma_store::{Backend, Role};
use reqwest::StatusCode;

use crate::app::{WebApp, no_redirects};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn assets_are_hashed_and_cached_for_good() {
    let app = WebApp::start(Backend::Sqlite).await;
    app.account("ann@example.com", Role::User).await;
    let (cookie, _) = app.sign_in("ann@example.com").await;
    let client = no_redirects();
    let page = client
        .get(app.url("/"))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let csp = page.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        csp.contains("script-src 'self' 'sha256-") && csp.contains("object-src 'none'"),
        "{csp}"
    );
    assert_eq!(page.headers()["cache-control"], "no-store");
    let html = page.text().await.unwrap();
    for name in ["app.css", "app.js", "icon.svg"] {
        let url = assets::url(name);
        assert!(html.contains(url), "{url} in the page");
        let response = client.get(app.url(url)).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{url}");
        assert_eq!(
            response.headers()["cache-control"],
            "public, max-age=31536000, immutable"
        );
        let file = assets::FILES.iter().find(|f| f.name == name).unwrap();
        assert_eq!(response.headers()["content-type"], file.content_type);
        assert_eq!(response.bytes().await.unwrap().as_ref(), file.body);
    }
    // The import map names every module by its hashed URL.
    assert!(html.contains(&format!("\"api\":\"{}\"", assets::url("api.js"))));
    // Unhashed, stale or made-up names are not served.
    for path in [
        "/assets/app.css",
        "/assets/app.00000000.css",
        "/assets/..%2fCargo.toml",
        "/assets/",
    ] {
        let response = client.get(app.url(path)).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{path}");
    }
    app.finish().await;
}

#[test]
fn script_and_style_stay_under_150_kb() {
    let bytes = assets::script_and_style_bytes();
    assert!(bytes < 150 * 1024, "{bytes} bytes");
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::new(6));
    let mut total_gz = 0;
    for file in assets::FILES
        .iter()
        .filter(|f| f.name.ends_with(".js") || f.name.ends_with(".css"))
    {
        let mut one = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::new(6));
        std::io::Write::write_all(&mut one, file.body).unwrap();
        total_gz += one.finish().unwrap().len();
        std::io::Write::write_all(&mut gz, file.body).unwrap();
    }
    println!("JS+CSS: {bytes} bytes raw, {total_gz} bytes gzipped file by file");
}
