//! Teams in the browser: an owner starts a team, saves a scrape into it from the wizard and
//! invites someone, who accepts in their own browser and sees the shared scrape; a viewer of a
//! team sees no control that changes its scrapes (and the API refuses them anyway); an
//! invitation that expired, was used or is for someone else says so in words; signed out, the
//! invitation leads through sign-in and back; on a phone, the team's page keeps its words and
//! controls whole; an administrator of the site gives a team limits of its own there; a
//! member makes an API token for the team there, uses it, and revokes it.

use std::time::Duration;

use chrono::Utc;
use grandma_store::{Backend, NewInvitation, OrgRole, Role};
use reqwest::StatusCode;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::app::{Parts, WebApp, both_databases, fixture_job, no_redirects};
use crate::browser::{Viewport, ui_test};
use crate::fixture;
use crate::support::{broken_on_a_phone, sign_in};
use crate::wizard::click_in_page;

both_databases!(
    an_invited_member_sees_the_team_scrape,
    viewers_see_no_write_controls,
    invitations_that_cannot_be_used_say_why
);

/// Where the screenshots looked at by people are written.
fn screenshots() -> std::path::PathBuf {
    crate::browser::failures_dir().with_file_name("ui-screenshots")
}

/// A JSON API call with a bearer token; fails the test unless it succeeds.
async fn api(app: &WebApp, bearer: &str, method: &str, path: &str, body: Value) -> Value {
    let response = reqwest::Client::new()
        .request(method.parse().unwrap(), app.url(&format!("/api/v1{path}")))
        .bearer_auth(bearer)
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = response.status();
    let text = response.text().await.unwrap();
    assert!(status.is_success(), "{method} {path}: {status} {text}");
    serde_json::from_str(&text).unwrap_or(Value::Null)
}

/// The id of an organization the API answered.
fn org_id(org: &Value) -> String {
    org.get("org_id")
        .or_else(|| org.get("id"))
        .and_then(Value::as_str)
        .unwrap_or_else(|| panic!("no id in {org}"))
        .to_owned()
}

async fn user_id(app: &WebApp, email: &str) -> Uuid {
    app.store.get_user_by_email(email).await.unwrap().user_id
}

async fn an_invited_member_sees_the_team_scrape(backend: Backend) {
    let site = fixture::shop(1, 3, Duration::from_millis(0)).await;
    let app = WebApp::start_with(backend, Parts::default(), |_| {}).await;
    app.account("alice@example.com", Role::User).await;
    app.account("bob@example.com", Role::User).await;
    let shop = format!("http://{site}/shop");
    let link = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
    let team = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
    let (link_out, team_out) = (link.clone(), team.clone());
    ui_test(
        &format!("team_owner_{backend:?}"),
        &app.url(""),
        Viewport::Desktop,
        |ui| async move {
            sign_in(&ui, "alice@example.com").await;
            ui.goto("/orgs").await;
            ui.wait_text("#teams", "Personal").await;
            ui.fill("#new-team-name", "Garden club").await;
            ui.click("#new-team button[type=submit]").await;
            ui.wait_until("/^\\/orgs\\/[0-9a-f-]{36}$/.test(location.pathname)")
                .await;
            ui.wait_text("main h1", "Garden club").await;
            ui.wait_text(".role", "Owner").await;
            let id: String = ui.eval("document.getElementById('team').dataset.org").await;
            *team_out.lock().unwrap() = id.clone();

            // A scrape made in the wizard, saved into the team picked there.
            ui.goto(&format!("/?org={id}")).await;
            ui.wait_text("main h1", "Scrapes of Garden club").await;
            ui.click("main .heading a.button").await;
            ui.wait_path("/jobs/new").await;
            let picked: String = ui.eval("document.getElementById('job-org').value").await;
            assert_eq!(picked, id, "the team shown on the home page is preselected");
            ui.fill("#page-url", &shop).await;
            ui.select("#fetcher", "requests").await;
            ui.click("#show-page").await;
            ui.wait_until(
                "(() => { const d = document.getElementById('snapshot').contentDocument; \
             return !!(d && d.querySelector('.row [data-gs-node]')); })()",
            )
            .await;
            click_in_page(&ui, ".row:nth-of-type(1) .name").await;
            ui.wait_text("#items-status", "Now click a second item")
                .await;
            click_in_page(&ui, ".row:nth-of-type(2) .name").await;
            ui.wait_text("#items-status", "3 items found").await;
            click_in_page(&ui, ".row:nth-of-type(1) .price").await;
            ui.wait_until("document.querySelectorAll('#rows tbody tr').length === 3")
                .await;
            ui.fill("#job-name", "Seed prices").await;
            ui.click("#save").await;
            ui.wait_until("/^\\/jobs\\/[0-9a-f-]{36}$/.test(location.pathname)")
                .await;
            ui.wait_text(".team-of", "Garden club").await;

            // The invitation: the link to pass on appears once, with the focus on it.
            ui.goto(&format!("/orgs/{id}")).await;
            // The team's page counts the scrape against the team's limit.
            let usage: String = ui
                .eval("document.querySelector('#usage tbody tr').innerText")
                .await;
            assert_eq!(
                usage.split_whitespace().collect::<Vec<_>>(),
                ["Scrapes", "1", "1,000"]
            );
            ui.fill("#invite-email", "bob@example.com").await;
            ui.select("#invite-role", "editor").await;
            ui.click("#invite-form button[type=submit]").await;
            ui.wait_until("!document.getElementById('invite-done').hidden")
                .await;
            let focused: String = ui.eval("document.activeElement.id").await;
            assert_eq!(focused, "invite-link");
            let url: String = ui
                .eval("document.getElementById('invite-link').value")
                .await;
            assert!(url.contains("/invitations/"), "{url}");
            *link_out.lock().unwrap() = url;
            ui.screenshot(&screenshots().join(format!("team_invited_{backend:?}.png")))
                .await;
            // The pending invitation is listed after a reload (the link itself is not shown again).
            ui.goto(&format!("/orgs/{id}")).await;
            ui.wait_text("#invitations", "bob@example.com").await;
            assert!(
                ui.eval::<bool>("document.getElementById('invite-done').hidden")
                    .await
            );
        },
    )
    .await;
    let link = link.lock().unwrap().clone();
    let team = team.lock().unwrap().clone();
    let team_id: Uuid = team.parse().unwrap();
    let job = app
        .store
        .list_jobs(
            grandma_store::Scope::all().in_org(team_id),
            &grandma_store::JobFilter::default(),
            grandma_store::Paging::new(10, 0),
        )
        .await
        .unwrap();
    assert_eq!(
        job.items.len(),
        1,
        "the wizard saved the scrape in the team"
    );
    assert_eq!(job.items[0].name, "Seed prices");
    let path = link
        .split_once("/invitations/")
        .map(|(_, t)| format!("/invitations/{t}"))
        .unwrap();

    // Bob, in a browser of his own, signed out: sign in first, then back to the invitation.
    let bob_team = team.clone();
    ui_test(
        &format!("team_member_{backend:?}"),
        &app.url(""),
        Viewport::Phone,
        |ui| async move {
            ui.goto(&path).await;
            ui.wait_text("main h1", "Join Garden club").await;
            ui.wait_text("main", "as an editor").await;
            ui.click("main a[href^='/login']").await;
            ui.wait_path("/login").await;
            ui.fill("#email", "bob@example.com").await;
            ui.fill("#password", crate::app::PASSWORD).await;
            ui.click("form[action='/login'] button[type=submit]").await;
            ui.wait_path(&path).await;
            ui.wait_for("#accept").await;
            ui.screenshot(&screenshots().join(format!("invitation_{backend:?}.png")))
                .await;
            ui.click("#accept").await;
            ui.wait_until("location.pathname === '/' && location.search.includes('org=')")
                .await;
            ui.wait_text(".cards", "Seed prices").await;
            ui.wait_text(".cards .team-of", "Garden club").await;
            ui.goto(&format!("/orgs/{bob_team}")).await;
            ui.wait_text("#members", "alice@example.com").await;
            ui.wait_text(".role", "Editor").await;
            // Members who are not owners see the members, not the controls over them.
            assert!(!ui.exists("#members select").await);
            assert!(!ui.exists("#invite-form").await);
            assert!(!ui.exists("#delete-team").await);
            ui.screenshot(&screenshots().join(format!("team_as_editor_{backend:?}.png")))
                .await;
            // The same link again: used.
            ui.goto(&path).await;
            ui.wait_text("main h1", "already in Garden club").await;
        },
    )
    .await;
    let bob = user_id(&app, "bob@example.com").await;
    let role = app
        .store
        .list_members(team_id)
        .await
        .unwrap()
        .into_iter()
        .find(|m| m.user_id == bob)
        .map(|m| m.role);
    assert_eq!(role, Some(OrgRole::Editor));
    app.finish().await;
}

async fn viewers_see_no_write_controls(backend: Backend) {
    let app = WebApp::start(backend).await;
    app.account("alice@example.com", Role::User).await;
    app.account("carol@example.com", Role::User).await;
    let alice = app.bearer("alice@example.com").await;
    let carol = app.bearer("carol@example.com").await;
    let org = api(&app, &alice, "POST", "/orgs", json!({"name": "Book club"})).await;
    let org = org_id(&org);
    let invitation = api(
        &app,
        &alice,
        "POST",
        &format!("/orgs/{org}/invitations"),
        json!({"email": "carol@example.com", "role": "viewer"}),
    )
    .await;
    let token = invitation["token"]
        .as_str()
        .expect("the secret once")
        .to_owned();
    api(
        &app,
        &carol,
        "POST",
        "/invitations/accept",
        json!({"token": token}),
    )
    .await;
    let mut config = fixture_job("Book prices", "http://127.0.0.1:9/shop", 1);
    config["name"] = json!("Book prices");
    let job = api(
        &app,
        &alice,
        "POST",
        "/jobs/",
        json!({"config": config, "org_id": org}),
    )
    .await;
    let job = job["id"].as_str().unwrap().to_owned();
    let page = format!("/jobs/{job}");
    let team_page = format!("/orgs/{org}");
    ui_test(
        &format!("team_viewer_{backend:?}"),
        &app.url(""),
        Viewport::Desktop,
        |ui| async move {
            sign_in(&ui, "carol@example.com").await;
            ui.wait_text(".cards", "Book prices").await;
            ui.goto(&page).await;
            ui.wait_text("main h1", "Book prices").await;
            ui.wait_text(".team-of", "Book club").await;
            for control in ["#run-now", "#delete-job", "a[href$='/edit']", "#cancel-run"] {
                assert!(
                    !ui.exists(control).await,
                    "{control} is hidden from a viewer"
                );
            }
            ui.screenshot(&screenshots().join(format!("job_as_viewer_{backend:?}.png")))
                .await;
            ui.goto(&format!("{page}/schedules")).await;
            assert!(!ui.exists("#schedule-form").await);
            ui.goto(&format!("{page}/notifications")).await;
            assert!(!ui.exists("#webhook-form").await);
            ui.goto(&format!("{page}/edit")).await;
            ui.wait_text("main h1", "Not allowed").await;
            ui.wait_text("main", "editor role").await;
            // New scrapes go to teams where one may make them: the wizard offers Personal only.
            ui.goto(&format!(
                "/jobs/new?org={}",
                team_page.trim_start_matches("/orgs/")
            ))
            .await;
            assert!(
                !ui.exists("select#job-org").await,
                "one team to save in: nothing to pick"
            );
            ui.goto(&format!("/?org={}", team_page.trim_start_matches("/orgs/")))
                .await;
            ui.wait_text("main h1", "Scrapes of Book club").await;
            assert!(
                !ui.exists("main a[href^='/jobs/new']").await,
                "no New scrape in a team one only views"
            );
            ui.goto(&team_page).await;
            ui.wait_text(".role", "Viewer").await;
            assert!(!ui.exists("#members select").await);
            assert!(ui.exists("#leave").await, "anyone may leave a team");
        },
    )
    .await;
    // The API says no to the same person, in words.
    let (cookie, csrf) = app.sign_in("carol@example.com").await;
    let response = no_redirects()
        .post(app.url(&format!("/api/v1/jobs/{job}/run")))
        .header("cookie", &cookie)
        .header("x-csrf-token", &csrf)
        .header("origin", app.url(""))
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let body: Value = response.json().await.unwrap();
    assert!(
        body["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("viewers"),
        "{body}"
    );
    app.finish().await;
}

/// An invitation stored directly, for states the API cannot make (expired); returns its secret.
async fn stored_invitation(
    app: &WebApp,
    org: Uuid,
    by: Uuid,
    email: &str,
    expires_in: chrono::Duration,
) -> String {
    let secret = hex::encode(Sha256::digest(format!("{email} {expires_in}").as_bytes()));
    let hash = hex::encode(Sha256::digest(secret.as_bytes()));
    let invitation = NewInvitation {
        org_id: org,
        email: grandma_store::Email::parse(email).unwrap(),
        role: OrgRole::Editor,
        token_hash: hash,
        invited_by: by,
        expires_at: Utc::now() + expires_in,
    };
    app.store.create_invitation(&invitation).await.unwrap();
    secret
}

async fn invitations_that_cannot_be_used_say_why(backend: Backend) {
    let app = WebApp::start(backend).await;
    app.account("alice@example.com", Role::User).await;
    app.account("dave@example.com", Role::User).await;
    let alice = user_id(&app, "alice@example.com").await;
    let org = app
        .store
        .create_org("Chess club", alice)
        .await
        .unwrap()
        .org_id;
    let expired = stored_invitation(
        &app,
        org,
        alice,
        "dave@example.com",
        chrono::Duration::hours(-1),
    )
    .await;
    let for_erin = stored_invitation(
        &app,
        org,
        alice,
        "erin@example.com",
        chrono::Duration::hours(5),
    )
    .await;
    ui_test(
        &format!("invitation_problems_{backend:?}"),
        &app.url(""),
        Viewport::Desktop,
        |ui| async move {
            sign_in(&ui, "dave@example.com").await;
            ui.goto(&format!("/invitations/{expired}")).await;
            ui.wait_text("main h1", "This invitation has expired").await;
            ui.wait_text("main", "Ask one of the team's owners to invite you again")
                .await;
            // When it stopped working, in words of the reader's day and clock (an hour ago).
            let until: String = ui
                .eval("document.querySelector('main time').textContent")
                .await;
            assert!(
                ["today at ", "yesterday at "]
                    .iter()
                    .any(|day| until.starts_with(day)),
                "{until}"
            );
            assert!(!ui.exists("#accept").await);
            ui.screenshot(&screenshots().join(format!("invitation_expired_{backend:?}.png")))
                .await;
            ui.goto(&format!("/invitations/{for_erin}")).await;
            ui.wait_text("main h1", "for someone else").await;
            ui.wait_text(
                "main",
                "It was sent to erin@example.com, but you are signed in as dave@example.com",
            )
            .await;
            assert!(!ui.exists("#accept").await);
            ui.goto("/invitations/not-a-real-invitation").await;
            ui.wait_text("main h1", "does not work").await;
            // Signing out from the wrong-address page leads to signing in, then back to it.
            ui.goto(&format!("/invitations/{for_erin}")).await;
            ui.click("main form[action='/logout'] button[type=submit]")
                .await;
            ui.wait_path("/login").await;
            let next: String = ui
                .eval("document.querySelector('input[name=next]').value")
                .await;
            assert_eq!(next, format!("/invitations/{for_erin}"));
        },
    )
    .await;
    // Nobody joined through any of them.
    assert_eq!(app.store.list_members(org).await.unwrap().len(), 1);
    app.finish().await;
}

/// "Garden club", started through the API by `owner` (an account already made), with each
/// `(email, role)` of `members` (accounts too) joined through an invitation; returns its id.
async fn garden_club(app: &WebApp, owner: &str, members: &[(&str, &str)]) -> String {
    let bearer = app.bearer(owner).await;
    let team = org_id(
        &api(
            app,
            &bearer,
            "POST",
            "/orgs",
            json!({"name": "Garden club"}),
        )
        .await,
    );
    for (email, role) in members {
        let invitation = api(
            app,
            &bearer,
            "POST",
            &format!("/orgs/{team}/invitations"),
            json!({"email": email, "role": role}),
        )
        .await;
        let member = app.bearer(email).await;
        let accept = json!({"token": invitation["token"]});
        api(app, &member, "POST", "/invitations/accept", accept).await;
    }
    team
}

/// On a phone the owner's view of a team keeps every e-mail address, button label, number and
/// role menu whole: none is squeezed into a column so narrow that it breaks mid-word.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_team_reads_whole_on_a_phone() {
    let app = WebApp::start(Backend::Sqlite).await;
    let owner = "alice.longname@example.com";
    for email in [owner, "bob.somebody@example.com", "carol@example.org"] {
        app.account(email, Role::User).await;
    }
    let members = [
        ("bob.somebody@example.com", "editor"),
        ("carol@example.org", "viewer"),
    ];
    let team = garden_club(&app, owner, &members).await;
    let path = format!("/orgs/{team}");
    ui_test(
        "team_phone",
        &app.url(""),
        Viewport::Phone,
        |ui| async move {
            sign_in(&ui, owner).await;
            ui.goto(&path).await;
            ui.wait_text("#members", "carol@example.org").await;
            let broken = broken_on_a_phone(
                &ui,
                "#members td:first-child, #members button, #usage td",
                "#members select",
            )
            .await;
            assert!(broken.is_empty(), "broken on a phone: {broken:?}");
            ui.screenshot(&screenshots().join("team_phone.png")).await;
        },
    )
    .await;
    app.finish().await;
}

/// What the team page says of a limit box that holds no whole number.
const NOT_A_LIMIT: &str =
    "Schedules: give a whole number of 1 or more, or leave the box empty for the default.";

/// An administrator of the site finds any team (shared ones on the teams page, personal ones
/// from the users page) and gives it limits of its own on the team's page: a limit
/// typed with a thousands separator is taken, a box that is not a number is named in words
/// and nothing is saved, an empty box means the site's default. The team's owner, who is not
/// an administrator, sees the limits but no way to change them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_administrator_gives_a_team_limits_of_its_own() {
    let app = WebApp::start(Backend::Sqlite).await;
    app.account("root@example.com", Role::Admin).await;
    app.account("alice@example.com", Role::User).await;
    let team = garden_club(&app, "alice@example.com", &[]).await;
    let alice = app.bearer("alice@example.com").await;
    let path = format!("/orgs/{team}");
    let page = path.clone();
    let alice_id = user_id(&app, "alice@example.com").await;
    ui_test(
        "team_limits",
        &app.url(""),
        Viewport::Desktop,
        |ui| async move {
            sign_in(&ui, "root@example.com").await;
            // The administrator is in no team but their own: every shared team is listed for
            // them, and each person's personal team opens from the users page.
            ui.goto("/admin/users").await;
            ui.click(&format!("a[href='/orgs/{alice_id}']")).await;
            ui.wait_path(&format!("/orgs/{alice_id}")).await;
            ui.wait_text("main h1", "alice@example.com").await;
            ui.wait_for("#limits-form").await;
            ui.goto("/orgs").await;
            ui.wait_text("#every-team", "Garden club").await;
            ui.click("#every-team a").await;
            ui.wait_path(&page).await;
            ui.wait_for("#limits-form").await;
            ui.fill("#limit-max_jobs", "12,000").await;
            ui.fill("#limit-max_schedules", "lots").await;
            ui.click("#save-limits").await;
            ui.wait_text("#limits-problem", NOT_A_LIMIT).await;
            let focused: String = ui.eval("document.activeElement.id").await;
            assert_eq!(focused, "limit-max_schedules");
            assert_eq!(
                ui.text("#usage tr[data-quota='max_jobs'] .limit").await,
                "1,000"
            );
            ui.fill("#limit-max_schedules", "").await;
            ui.click("#save-limits").await;
            ui.wait_text("#usage tr[data-quota='max_jobs'] .limit", "12,000")
                .await;
            ui.wait_text("#toast", "The team's limits are saved.").await;
            assert!(
                ui.eval::<bool>("document.getElementById('limits-problem').hidden")
                    .await
            );
            ui.screenshot(&screenshots().join("team_limits.png")).await;
            // After a reload the box holds the team's own limit, and the others stay empty.
            ui.goto(&page).await;
            let boxes: Vec<String> = ui
                .eval("[...document.querySelectorAll('#limits-form input')].map(i => i.value)")
                .await;
            assert_eq!(boxes, ["12000", "", "", "", ""]);
        },
    )
    .await;
    let usage = api(
        &app,
        &alice,
        "GET",
        &format!("/orgs/{team}/usage"),
        Value::Null,
    )
    .await;
    assert_eq!(
        usage["jobs"],
        json!({"used": 0, "limit": 12000, "overridden": true})
    );
    assert_eq!(usage["schedules"]["overridden"], json!(false));
    ui_test(
        "team_limits_owner",
        &app.url(""),
        Viewport::Desktop,
        |ui| async move {
            sign_in(&ui, "alice@example.com").await;
            ui.goto(&path).await;
            ui.wait_text("#usage tr[data-quota='max_jobs'] .limit", "12,000")
                .await;
            assert!(!ui.exists("#limits-form").await);
            ui.goto("/orgs").await;
            ui.wait_text("#teams", "Garden club").await;
            assert!(!ui.exists("#every-team").await);
            ui.goto(&path).await;
            ui.wait_text(
                "#usage-title + .table-wrap + .hint",
                "An administrator of this site",
            )
            .await;
        },
    )
    .await;
    app.finish().await;
}

/// A member makes an API token for the team on its page: the token is shown once, does what
/// was ticked and nothing else, is listed with what it may do, and stops working when revoked.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_makes_uses_and_revokes_a_token_for_the_team() {
    let app = WebApp::start(Backend::Sqlite).await;
    app.account("alice@example.com", Role::User).await;
    app.account("bob@example.com", Role::User).await;
    let team = garden_club(&app, "alice@example.com", &[("bob@example.com", "editor")]).await;
    let path = format!("/orgs/{team}");
    let base = app.url("/api/v1");
    ui_test(
        "team_token",
        &app.url(""),
        Viewport::Desktop,
        |ui| async move {
            sign_in(&ui, "bob@example.com").await;
            ui.goto(&path).await;
            ui.wait_for("#token-form").await;
            assert!(
                !ui.eval::<bool>("document.getElementById('no-tokens').hidden")
                    .await
            );
            ui.click("#make-token").await;
            ui.wait_text("#token-problem", "Say what the token is for")
                .await;
            ui.fill("#token-name", "Nightly export").await;
            ui.click("#make-token").await;
            ui.wait_until("!document.getElementById('token-done').hidden")
                .await;
            let focused: String = ui.eval("document.activeElement.id").await;
            assert_eq!(focused, "token-secret");
            let secret: String = ui
                .eval("document.getElementById('token-secret').value")
                .await;
            ui.wait_text("#tokens li", "Nightly export").await;
            ui.wait_text(
                "#tokens li",
                "See the scrapes; Read runs and download their rows.",
            )
            .await;
            ui.screenshot(&screenshots().join("team_token.png")).await;

            // The token reads the team's scrapes, and nothing it was not given.
            let client = reqwest::Client::new();
            let call = |path: &str| {
                client
                    .get(format!("{base}{path}"))
                    .bearer_auth(&secret)
                    .send()
            };
            assert_eq!(call("/jobs/").await.unwrap().status(), StatusCode::OK);
            let refused = call("/webhooks").await.unwrap();
            assert_eq!(refused.status(), StatusCode::FORBIDDEN);
            assert!(refused.text().await.unwrap().contains("webhooks:read"));

            // Listed by the server after a reload, used; revoked, it stops working.
            ui.goto(&path).await;
            ui.wait_text("#tokens li", "last used").await;
            ui.wait_text("#tokens li", "Works until").await;
            ui.click("#tokens li [data-revoke-token]").await;
            ui.wait_until("document.querySelectorAll('#tokens li').length === 0")
                .await;
            assert!(
                !ui.eval::<bool>("document.getElementById('no-tokens').hidden")
                    .await
            );
            let focused: String = ui.eval("document.activeElement.id").await;
            assert_eq!(focused, "my-tokens-title");
            assert_eq!(
                call("/jobs/").await.unwrap().status(),
                StatusCode::UNAUTHORIZED
            );
        },
    )
    .await;
    app.finish().await;
}
