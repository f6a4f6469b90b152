//! Accessibility measured in Chromium on the app's real pages: every visible piece of text meets
//! WCAG AA contrast against what is really behind it (4.5:1, 3:1 for large text), every control
//! has an accessible name as the browser's accessibility tree computes it, every Tab stop shows
//! its focus, and the wizard works
//! from the keyboard alone with the focus always visible, choosing items and columns on the
//! page included.

use std::time::Duration;

use chromiumoxide::cdp::browser_protocol::accessibility::GetFullAxTreeParams;
use chromiumoxide::cdp::browser_protocol::dom::DescribeNodeParams;
use grandma_store::{Backend, Role};
use serde_json::{Value, json};

use crate::app::{Parts, WebApp, fixture_job};
use crate::browser::{Ui, Viewport, ui_test};
use crate::fixture;
use crate::support::sign_in;

/// The contrast of every visible text of the page below the AA bar, in words. The background
/// is found by compositing the backgrounds of the element and its ancestors (over white, the
/// canvas) until an opaque one; text over a background image cannot be measured and is
/// reported too. Disabled controls are exempt, as WCAG says.
const CONTRAST: &str = r##"(() => {
  const parse = (c) => {
    const m = /^rgba?\(([^)]*)\)$/.exec(c.trim());
    if (!m) return null;
    const p = m[1].split(/[\s,\/]+/).filter(Boolean).map(Number);
    return [p[0], p[1], p[2], p.length > 3 ? p[3] : 1];
  };
  const over = (top, bottom) => {
    const a = top[3] + bottom[3] * (1 - top[3]);
    return [0, 1, 2].map((i) => (top[i] * top[3] + bottom[i] * bottom[3] * (1 - top[3])) / a).concat([a]);
  };
  const lum = (c) => {
    const f = (v) => { v /= 255; return v <= 0.04045 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; };
    return 0.2126 * f(c[0]) + 0.7152 * f(c[1]) + 0.0722 * f(c[2]);
  };
  const ratio = (a, b) => { const [x, y] = [lum(a), lum(b)].sort((p, q) => q - p); return (x + 0.05) / (y + 0.05); };
  const background = (el) => {
    const layers = [];
    for (let e = el; e; e = e.parentElement) {
      const s = getComputedStyle(e);
      if (s.backgroundImage !== "none") return null;
      const c = parse(s.backgroundColor);
      if (c && c[3] > 0) { layers.push(c); if (c[3] >= 1) break; }
    }
    let bg = [255, 255, 255, 1];
    for (const layer of layers.reverse()) bg = over(layer, bg);
    return bg;
  };
  const opacity = (el) => { let o = 1; for (let e = el; e; e = e.parentElement) o *= Number(getComputedStyle(e).opacity); return o; };
  const name = (el) => el.tagName.toLowerCase() + (el.id ? "#" + el.id : "") + (el.className && typeof el.className === "string" ? "." + el.className.trim().split(/\s+/).join(".") : "");
  const problems = [];
  const check = (el, colour, text, pseudo) => {
    const r = el.getBoundingClientRect();
    if (r.width <= 1 || r.height <= 1) return;
    const s = getComputedStyle(el);
    if (s.visibility !== "visible" || el.closest(":disabled, [aria-disabled=true], [inert]")) return;
    const fg = parse(colour);
    const bg = background(el);
    if (!fg || !bg) { problems.push(`${name(el)}${pseudo} "${text}": colour ${colour} over something unmeasurable`); return; }
    fg[3] *= opacity(el);
    const seen = over(fg, bg);
    const size = parseFloat(s.fontSize);
    const large = size >= 24 || (size >= 18.66 && Number(s.fontWeight) >= 700);
    const need = large ? 3 : 4.5;
    const got = ratio(seen, bg);
    if (got < need) problems.push(`${name(el)}${pseudo} "${text}": ${got.toFixed(2)}:1 (${colour} on rgb(${bg.slice(0, 3).map(Math.round).join(", ")})), needs ${need}:1`);
  };
  for (const el of document.body.querySelectorAll("*")) {
    if (!el.getClientRects().length || ["SCRIPT", "STYLE", "OPTION", "IFRAME"].includes(el.tagName)) continue;
    const own = [...el.childNodes].filter((n) => n.nodeType === 3).map((n) => n.textContent).join("").trim();
    if (own) check(el, getComputedStyle(el).color, own.slice(0, 40), "");
    if (["INPUT", "TEXTAREA", "SELECT"].includes(el.tagName) && !["checkbox", "radio", "hidden", "range", "color"].includes(el.type)) {
      if (el.value) check(el, getComputedStyle(el).color, el.value.slice(0, 40), " (its value)");
      else if (el.placeholder) check(el, getComputedStyle(el, "::placeholder").color, el.placeholder.slice(0, 40), "::placeholder");
    }
  }
  return problems;
})()"##;

/// Roles of the accessibility tree a person operates.
const CONTROL_ROLES: &[&str] = &[
    "button",
    "link",
    "textbox",
    "searchbox",
    "combobox",
    "listbox",
    "checkbox",
    "radio",
    "spinbutton",
    "slider",
    "switch",
    "menuitem",
    "tab",
    "Iframe",
];

/// Controls of the page (as Chromium's accessibility tree sees them) without a name, each as its
/// element's tag and attributes.
async fn nameless_controls(ui: &Ui) -> Vec<String> {
    let tree = ui
        .page
        .execute(GetFullAxTreeParams::default())
        .await
        .expect("the accessibility tree");
    let mut nameless = Vec::new();
    for node in &tree.result.nodes {
        if node.ignored {
            continue;
        }
        let text = |v: &Option<chromiumoxide::cdp::browser_protocol::accessibility::AxValue>| {
            v.as_ref()
                .and_then(|v| v.value.as_ref())
                .and_then(Value::as_str)
                .unwrap_or_default()
                .trim()
                .to_owned()
        };
        let role = text(&node.role);
        if !CONTROL_ROLES.contains(&role.as_str()) || !text(&node.name).is_empty() {
            continue;
        }
        let element = match node.backend_dom_node_id {
            Some(id) => ui
                .page
                .execute(DescribeNodeParams::builder().backend_node_id(id).build())
                .await
                .map(|d| {
                    format!(
                        "<{} {}>",
                        d.result.node.node_name.to_lowercase(),
                        d.result.node.attributes.unwrap_or_default().join(" ")
                    )
                })
                .unwrap_or_else(|e| format!("(node {id:?}: {e})")),
            None => "(no element)".into(),
        };
        nameless.push(format!("a {role} without a name: {element}"));
    }
    nameless
}

/// Tabs once round the page from its start: the stops whose focus is not drawn, and how many
/// stops there were.
async fn hidden_focus(ui: &Ui) -> (Vec<String>, usize) {
    // From the skip link, the page's first stop (checked on pages reached by loading them).
    ui.eval::<bool>("(() => { document.querySelector('a.skip').focus(); window.scrollTo(0, 0); return true; })()")
        .await;
    let mut seen: Vec<String> = Vec::new();
    let mut hidden = Vec::new();
    for _ in 0..120 {
        ui.press("Tab").await;
        let (focused, drawn): (String, bool) = ui.eval(FOCUSED).await;
        if focused.is_empty() || focused.starts_with("body(") || seen.first() == Some(&focused) {
            break;
        }
        if !drawn {
            hidden.push(format!("the focus on {focused} is not visible"));
        }
        seen.push(focused);
    }
    (hidden, seen.len())
}

/// Contrast, names and focus of the page shown now; problems are prefixed with `page`.
async fn audit(ui: &Ui, page: &str, problems: &mut Vec<String>) {
    let contrast: Vec<String> = ui.eval(CONTRAST).await;
    let names = nameless_controls(ui).await;
    let (focus, stops) = hidden_focus(ui).await;
    eprintln!(
        "{page}: {} contrast, {} name and {} focus problems; {stops} Tab stops",
        contrast.len(),
        names.len(),
        focus.len()
    );
    problems.extend(
        contrast
            .into_iter()
            .chain(names)
            .chain(focus)
            .map(|p| format!("{page}: {p}")),
    );
}

async fn api(app: &WebApp, bearer: &str, path: &str, body: Value) -> Value {
    let response = reqwest::Client::new()
        .post(app.url(&format!("/api/v1{path}")))
        .bearer_auth(bearer)
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = response.status();
    let body: Value = response.json().await.unwrap();
    assert!(status.is_success(), "{path}: {status} {body}");
    body
}

/// Clicks the element `css` matches inside the snapshot frame (the wizard's own click handler
/// takes it, as a person's click).
async fn click_in_page(ui: &Ui, css: &str) {
    ui.click_in_frame("#snapshot", css).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_page_meets_aa_contrast_and_names_its_controls() {
    let site = fixture::shop(1, 3, Duration::from_millis(0)).await;
    let app = WebApp::start_with(Backend::Sqlite, Parts { workers: true }, |_| {}).await;
    app.account("admin@example.com", Role::Admin).await;
    app.account("bob@example.com", Role::Readonly).await;
    let bearer = app.bearer("admin@example.com").await;
    let shop = format!("http://{site}/shop");
    let job = app.job(&bearer, fixture_job("Garden shop", &shop, 1)).await;
    let run = api(&app, &bearer, &format!("/jobs/{job}/run"), json!({})).await;
    let run = run["result_id"].as_str().unwrap().to_owned();
    api(
        &app,
        &bearer,
        &format!("/jobs/{job}/schedules"),
        json!({"cron_expression": "0 7 * * 1-5", "timezone": "UTC"}),
    )
    .await;
    api(
        &app,
        &bearer,
        "/webhooks",
        json!({"name": "Team chat", "url": "http://127.0.0.1:9/hook", "job_id": job}),
    )
    .await;
    // A team with a member and an invitation not answered yet, and an invitation for someone
    // without an account, whose page is looked at signed out.
    let team = api(&app, &bearer, "/orgs", json!({"name": "Garden club"})).await;
    let team = team
        .get("org_id")
        .or_else(|| team.get("id"))
        .and_then(Value::as_str)
        .unwrap()
        .to_owned();
    let bob = app.bearer("bob@example.com").await;
    let invited = api(
        &app,
        &bearer,
        &format!("/orgs/{team}/invitations"),
        json!({"email": "bob@example.com", "role": "viewer"}),
    )
    .await;
    api(
        &app,
        &bob,
        "/invitations/accept",
        json!({"token": invited["token"].as_str().unwrap()}),
    )
    .await;
    let pending = api(
        &app,
        &bearer,
        &format!("/orgs/{team}/invitations"),
        json!({"email": "new@example.com", "role": "editor"}),
    )
    .await;
    let pending = pending["token"].as_str().unwrap().to_owned();
    // The run ends before the pages are looked at, so the job page shows a finished run.
    let started = std::time::Instant::now();
    loop {
        let result: Value = reqwest::Client::new()
            .get(app.url(&format!("/api/v1/results/{run}")))
            .bearer_auth(&bearer)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if result["status"] == "completed" {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "the run did not finish: {result}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    ui_test("accessibility_pages", &app.url(""), Viewport::Desktop, |ui| async move {
        let mut problems = Vec::new();
        ui.goto("/login").await;
        // The measures find what they look for: grey on white, pale on a half-transparent
        // tint, and a button with nothing to name it.
        // (Styled through the CSSOM: the app's policy refuses style attributes.)
        ui.eval::<bool>(
            "(() => { const main = document.querySelector('main'); \
             const grey = document.createElement('p'); grey.id = 'planted-grey'; \
             grey.textContent = 'grey words'; grey.style.color = '#999'; \
             const tint = document.createElement('div'); tint.style.background = 'rgba(0, 0, 0, 0.5)'; \
             const dark = document.createElement('p'); dark.id = 'planted-tint'; \
             dark.textContent = 'dark on tint'; dark.style.color = '#333'; tint.append(dark); \
             const button = document.createElement('button'); button.id = 'planted-button'; \
             button.type = 'button'; main.append(grey, tint, button); return true; })()",
        )
        .await;
        let mut planted = Vec::new();
        audit(&ui, "planted", &mut planted).await;
        assert_eq!(planted.len(), 3, "{planted:#?}");
        for id in ["planted-grey", "planted-tint", "planted-button"] {
            assert!(planted.iter().any(|p| p.contains(id)), "{id} not found: {planted:#?}");
        }
        ui.goto("/login").await;
        audit(&ui, "sign-in", &mut problems).await;
        ui.goto(&format!("/invitations/{pending}")).await;
        ui.wait_text("main h1", "Join Garden club").await;
        audit(&ui, "invitation, signed out", &mut problems).await;
        sign_in(&ui, "admin@example.com").await;
        ui.wait_text(".cards", "Garden shop").await;
        audit(&ui, "home", &mut problems).await;
        ui.goto(&format!("/jobs/{job}")).await;
        ui.wait_for("#history .badge.completed").await;
        audit(&ui, "job", &mut problems).await;
        ui.goto(&format!("/jobs/{job}/runs/{run}")).await;
        ui.wait_for("tbody tr").await;
        audit(&ui, "run", &mut problems).await;
        ui.goto(&format!("/jobs/{job}/schedules")).await;
        ui.wait_for("#schedules li").await;
        ui.wait_until("document.querySelectorAll('#upcoming li').length === 5").await;
        audit(&ui, "schedules", &mut problems).await;
        ui.goto(&format!("/jobs/{job}/notifications")).await;
        ui.wait_for("#webhooks li").await;
        audit(&ui, "notifications", &mut problems).await;
        ui.goto("/admin/users").await;
        ui.wait_text("main", "bob@example.com").await;
        audit(&ui, "users", &mut problems).await;
        ui.goto("/templates").await;
        audit(&ui, "templates", &mut problems).await;
        ui.goto("/orgs").await;
        audit(&ui, "teams", &mut problems).await;
        ui.goto(&format!("/orgs/{team}")).await;
        ui.wait_text("#invitations", "new@example.com").await;
        audit(&ui, "team", &mut problems).await;
        ui.fill("#invite-email", "carol@example.com").await;
        ui.click("#invite").await;
        ui.wait_until("!document.getElementById('invite-done').hidden").await;
        audit(&ui, "team with a new invitation", &mut problems).await;
        ui.goto(&format!("/invitations/{pending}")).await;
        ui.wait_text("main h1", "already in Garden club").await;
        audit(&ui, "invitation of a member", &mut problems).await;
        ui.goto("/jobs/new").await;
        audit(&ui, "new scrape", &mut problems).await;
        ui.fill("#page-url", &shop).await;
        ui.select("#fetcher", "requests").await;
        ui.click("#show-page").await;
        ui.wait_until(
            "(() => { const d = document.getElementById('snapshot').contentDocument; \
             return !!(d && d.querySelector('.row [data-gs-node]')); })()",
        )
        .await;
        click_in_page(&ui, ".row:nth-of-type(1) .name").await;
        ui.wait_text("#items-status", "Now click a second item").await;
        click_in_page(&ui, ".row:nth-of-type(2) .name").await;
        ui.wait_text("#items-status", "3 items found").await;
        click_in_page(&ui, ".row:nth-of-type(1) .price").await;
        ui.wait_until("document.querySelectorAll('#rows tbody tr').length === 3").await;
        ui.click("#find-lists").await;
        ui.wait_for("#use-list-0").await;
        audit(&ui, "wizard", &mut problems).await;
        // The error state of a form: its message must be as readable as the rest.
        ui.fill("#job-name", " ").await;
        ui.click("#save").await;
        ui.wait_until("!document.getElementById('save-problem').hidden").await;
        audit(&ui, "wizard with a problem", &mut problems).await;
        assert!(problems.is_empty(), "{} problems:\n{}", problems.len(), problems.join("\n"));
    })
    .await;
    app.finish().await;
}

/// What has the keyboard's focus: the element's id (or tag), and whether its focus is drawn
/// (an outline or a ring of shadow). In the snapshot frame, the cursor element's.
const FOCUSED: &str = r#"(() => {
  let el = document.activeElement;
  let where = "";
  if (el && el.tagName === "IFRAME") {
    const d = el.contentDocument;
    where = "snapshot:";
    el = d.querySelector("[data-gs-cursor]") || d.activeElement;
  }
  if (!el) return ["", false];
  const s = getComputedStyle(el);
  const drawn = (s.outlineStyle !== "none" && parseFloat(s.outlineWidth) > 0) || s.boxShadow !== "none";
  // Without an id, the tag and its place in the document (the same element, the same words).
  const place = [...el.ownerDocument.querySelectorAll("*")].indexOf(el);
  const id = el.id || (el.name ? `${el.tagName.toLowerCase()}[name=${el.name}]` : `${el.tagName.toLowerCase()}(${place})`);
  return [where + id, drawn];
})()"#;

/// Presses Tab until the focus is on `id` (or, for `snapshot:`, anywhere in the snapshot frame),
/// checking on the way that every focused control shows its focus; returns the ids passed.
async fn tab_to(ui: &Ui, id: &str) -> Vec<String> {
    let mut passed = Vec::new();
    for _ in 0..60 {
        ui.press("Tab").await;
        let (focused, drawn): (String, bool) = ui.eval(FOCUSED).await;
        assert!(
            drawn,
            "the focus on {focused} is not visible (after {passed:?})"
        );
        if focused == id || (id.ends_with(':') && focused.starts_with(id)) {
            return passed;
        }
        passed.push(focused);
    }
    panic!("Tab never reached {id}: {passed:?}");
}

/// Presses the down arrow in the snapshot until the keyboard cursor is on what `css` matches.
async fn walk_to(ui: &Ui, css: &str) {
    for _ in 0..80 {
        let there: bool = ui
            .eval(&format!(
                "!!document.getElementById('snapshot').contentDocument.querySelector('[data-gs-cursor]')?.matches({})",
                crate::browser::js(css)
            ))
            .await;
        if there {
            return;
        }
        ui.press("ArrowDown").await;
    }
    panic!("the arrow keys never reached {css}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_wizard_works_from_the_keyboard_alone() {
    let site = fixture::shop(1, 5, Duration::from_millis(0)).await;
    let app = WebApp::start(Backend::Sqlite).await;
    app.account("grandma@example.com", Role::User).await;
    ui_test("wizard_keyboard", &app.url(""), Viewport::Desktop, |ui| async move {
        sign_in(&ui, "grandma@example.com").await;
        ui.goto("/jobs/new").await;
        let passed = tab_to(&ui, "page-url").await;
        assert!(
            passed.first().is_some_and(|p| p.starts_with("a(")),
            "the skip link comes first: {passed:?}"
        );
        ui.page
            .find_element("#page-url")
            .await
            .unwrap()
            .type_str(format!("http://{site}/shop"))
            .await
            .unwrap();
        tab_to(&ui, "fetcher").await;
        ui.press("ArrowDown").await;
        let fetcher: String = ui.eval("document.getElementById('fetcher').value").await;
        assert_eq!(fetcher, "requests");
        tab_to(&ui, "show-page").await;
        ui.press("Enter").await;
        ui.wait_until(
            "(() => { const d = document.getElementById('snapshot').contentDocument; \
             return !!(d && d.querySelector('.row [data-gs-node]')); })()",
        )
        .await;
        // The choice of what a click does, then the page itself: one stop of the Tab order.
        tab_to(&ui, "snapshot:").await;
        walk_to(&ui, ".row:nth-of-type(1) .name").await;
        let said = ui.text("#cursor-words").await;
        assert!(said.contains("Item 1-1"), "{said}");
        ui.press("Enter").await;
        ui.wait_text("#items-status", "Now click a second item").await;
        walk_to(&ui, ".row:nth-of-type(3) .name").await;
        ui.press("Enter").await;
        ui.wait_text("#items-status", "5 items found").await;
        // Columns: the price of the third item, then its name (left to the item, right into it).
        ui.press("ArrowDown").await;
        walk_to(&ui, ".row:nth-of-type(3) .price").await;
        ui.press("Enter").await;
        ui.wait_for("#field-name-0").await;
        ui.press("ArrowLeft").await;
        let around: bool = ui
            .eval("document.getElementById('snapshot').contentDocument.querySelector('[data-gs-cursor]').matches('.row:nth-of-type(3)')")
            .await;
        assert!(around, "left goes to the item around the price");
        ui.press("ArrowRight").await;
        ui.press("Space").await;
        ui.wait_for("#field-name-1").await;
        ui.wait_until(
            "document.querySelectorAll('#rows tbody tr').length === 5 && \
             document.querySelectorAll('#rows thead th').length === 2",
        )
        .await;
        let names: Vec<String> = ui
            .eval("[...document.querySelectorAll('#fields input')].map(i => i.value)")
            .await;
        assert_eq!(names, ["price", "name"]);
        // On through the steps to saving, every stop with its focus drawn.
        let passed = tab_to(&ui, "save").await;
        for control in ["find-lists", "reset-items", "field-name-0", "pick-next", "max-pages", "max-items", "delay", "robots", "job-name"] {
            assert!(passed.iter().any(|p| p == control), "Tab skipped {control}: {passed:?}");
        }
        ui.press("Enter").await;
        ui.wait_until("/^\\/jobs\\/[0-9a-f-]+$/.test(location.pathname)").await;
    })
    .await;
    app.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_team_page_works_from_the_keyboard_alone() {
    let app = WebApp::start(Backend::Sqlite).await;
    app.account("alice@example.com", Role::User).await;
    app.account("bob@example.com", Role::User).await;
    let alice = app.bearer("alice@example.com").await;
    let bob = app.bearer("bob@example.com").await;
    let team = api(&app, &alice, "/orgs", json!({"name": "Garden club"})).await;
    let team = team
        .get("org_id")
        .or_else(|| team.get("id"))
        .and_then(Value::as_str)
        .unwrap()
        .to_owned();
    let invited = api(
        &app,
        &alice,
        &format!("/orgs/{team}/invitations"),
        json!({"email": "bob@example.com", "role": "editor"}),
    )
    .await;
    api(
        &app,
        &bob,
        "/invitations/accept",
        json!({"token": invited["token"].as_str().unwrap()}),
    )
    .await;
    let org: uuid::Uuid = team.parse().unwrap();
    let bob_id = app
        .store
        .get_user_by_email("bob@example.com")
        .await
        .unwrap()
        .user_id;
    let store = app.store.clone();
    ui_test(
        "team_keyboard",
        &app.url(""),
        Viewport::Desktop,
        |ui| async move {
            sign_in(&ui, "alice@example.com").await;
            ui.goto(&format!("/orgs/{team}")).await;
            // Bob's role: Owner, Editor, Viewer; one step down from Editor.
            let passed = tab_to(&ui, &format!("role-{bob_id}")).await;
            assert!(
                passed.first().is_some_and(|p| p.starts_with("a(")),
                "the skip link comes first: {passed:?}"
            );
            ui.press("ArrowDown").await;
            ui.wait_text("#toast", "The role is changed").await;
            let role = store
                .list_members(org)
                .await
                .unwrap()
                .into_iter()
                .find(|m| m.user_id == bob_id)
                .map(|m| m.role);
            assert_eq!(role, Some(grandma_store::OrgRole::Viewer));
            // Remove Bob: the dialog opens on its safe answer; Shift+Tab reaches the other.
            tab_to(&ui, &format!("remove-{bob_id}")).await;
            ui.press("Enter").await;
            ui.wait_until("document.getElementById('confirm-remove').open")
                .await;
            let (focused, drawn): (String, bool) = ui.eval(FOCUSED).await;
            assert_eq!(focused, "confirm-remove-no");
            assert!(drawn, "the focus in the dialog is visible");
            ui.press("Shift+Tab").await;
            let (focused, _): (String, bool) = ui.eval(FOCUSED).await;
            assert_eq!(focused, "confirm-remove-yes");
            ui.press("Enter").await;
            ui.wait_text("#toast", "no longer a member").await;
            assert_eq!(store.list_members(org).await.unwrap().len(), 1);
            // Invite: type the address, pick the role with the arrows, Enter.
            tab_to(&ui, "invite-email").await;
            ui.page
                .find_element("#invite-email")
                .await
                .unwrap()
                .type_str("carol@example.com")
                .await
                .unwrap();
            tab_to(&ui, "invite-role").await;
            ui.press("ArrowDown").await;
            tab_to(&ui, "invite").await;
            ui.press("Enter").await;
            ui.wait_until("!document.getElementById('invite-done').hidden")
                .await;
            let focused: String = ui.eval("document.activeElement.id").await;
            assert_eq!(focused, "invite-link", "the link to pass on has the focus");
            tab_to(&ui, "copy-link").await;
            ui.press("Enter").await;
            ui.wait_text("#toast", "link").await;
            let invitations = store.list_invitations(org).await.unwrap();
            let carol = invitations
                .iter()
                .find(|i| i.email == "carol@example.com")
                .expect("carol's invitation");
            assert_eq!(carol.role, grandma_store::OrgRole::Viewer);
            // Withdraw it, after a reload lists it.
            ui.goto(&format!("/orgs/{team}")).await;
            tab_to(&ui, &format!("revoke-{}", carol.invitation_id)).await;
            ui.press("Enter").await;
            ui.wait_text("#toast", "withdrawn").await;
            // Rename: Tab selects the name in the field, typing replaces it, Enter.
            tab_to(&ui, "team-name").await;
            ui.page
                .find_element("#team-name")
                .await
                .unwrap()
                .type_str("Garden club North")
                .await
                .unwrap();
            ui.press("Enter").await;
            ui.wait_text("main h1", "Garden club North").await;
            // Delete: the dialog, its safe answer first, Escape closes it and nothing is lost.
            tab_to(&ui, "delete-team").await;
            ui.press("Enter").await;
            ui.wait_until("document.getElementById('confirm-delete').open")
                .await;
            ui.press("Escape").await;
            ui.wait_until("!document.getElementById('confirm-delete').open")
                .await;
            assert!(store.get_org(org).await.is_ok());
            ui.screenshot(
                &crate::browser::failures_dir()
                    .with_file_name("ui-screenshots")
                    .join("team_keyboard.png"),
            )
            .await;
        },
    )
    .await;
    app.finish().await;
}
