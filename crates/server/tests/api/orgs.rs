//! Organizations over the API: what owners, editors, viewers and non-members may do with each
//! kind of resource, invitations (expiry, reuse, the wrong address), the personal
//! organization, instance administrators and read-only accounts, and the rule that an
//! organization keeps an owner.

use chrono::{Duration, Utc};
use grandma_server::Settings;
use grandma_shared::config::List;
use grandma_store::{Backend, Email, NewInvitation, OrgRole, Role, Uuid};
use reqwest::Method;
use serde_json::{Value, json};

use crate::common::{TestApp, job_config};

both_databases!(
    roles_per_resource,
    invitations_expire_work_once_and_name_one_address,
    personal_org_is_the_default,
    instance_admins_and_read_only_accounts,
    an_org_keeps_an_owner,
);

/// A server that may send webhooks to 127.0.0.1 (the webhooks made here are never called).
async fn app_for(backend: Backend) -> TestApp {
    TestApp::start_with(backend, |s: &mut Settings| {
        s.allow_networks = List(vec!["127.0.0.1/32".parse().unwrap()]);
    })
    .await
}

fn id_of(body: &Value) -> Uuid {
    body["id"].as_str().unwrap().parse().unwrap()
}

/// A shared organization made by `owner`.
async fn team(app: &TestApp, owner: &str, name: &str) -> Uuid {
    let org = app.post("/orgs", owner, json!({"name": name}), 201).await;
    assert_eq!(org["role"], "owner");
    assert_eq!(org["personal"], false);
    id_of(&org)
}

async fn patch(app: &TestApp, path: &str, token: &str, body: Value, expect: u16) -> Value {
    app.call(Method::PATCH, path, Some(token), Some(body), expect)
        .await
}

async fn roles_per_resource(backend: Backend) {
    let app = app_for(backend).await;
    let (_, owner) = app.user("owner@example.com", Role::User).await;
    let (_, editor) = app.user("editor@example.com", Role::User).await;
    let (_, viewer) = app.user("viewer@example.com", Role::User).await;
    let (_, outsider) = app.user("outsider@example.com", Role::User).await;
    let org = team(&app, &owner, "Scrapers").await;
    app.join_team(&owner, org, "editor@example.com", "editor", &editor)
        .await;
    app.join_team(&owner, org, "viewer@example.com", "viewer", &viewer)
        .await;

    let job = app
        .post(
            "/jobs/",
            &owner,
            json!({"config": job_config("Team job"), "org_id": org}),
            201,
        )
        .await;
    assert_eq!(job["org_id"], org.to_string());
    let job = id_of(&job);
    let run = app
        .post(&format!("/jobs/{job}/run"), &owner, json!({}), 202)
        .await["result_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let schedule = id_of(
        &app.post(
            &format!("/jobs/{job}/schedules"),
            &owner,
            json!({"cron_expression": "0 9 * * *"}),
            201,
        )
        .await,
    );
    let webhook = app
        .post(
            "/webhooks",
            &owner,
            json!({"name": "team hook", "url": "http://127.0.0.1:9/hook", "org_id": org, "job_id": job}),
            201,
        )
        .await;
    assert_eq!(webhook["org_id"], org.to_string());
    let webhook = id_of(&webhook);

    let new_job = json!({"config": job_config("Another"), "org_id": org});
    // Expected statuses for [owner, editor, viewer, outsider], tried in that order.
    let table: Vec<(Method, String, Option<Value>, [u16; 4])> = vec![
        (
            Method::GET,
            format!("/jobs/{job}"),
            None,
            [200, 200, 200, 404],
        ),
        (
            Method::PUT,
            format!("/jobs/{job}"),
            Some(json!({"config": job_config("Renamed")})),
            [200, 200, 403, 404],
        ),
        (
            Method::POST,
            "/jobs/".into(),
            Some(new_job),
            [201, 201, 403, 404],
        ),
        (
            Method::GET,
            format!("/jobs/?org_id={org}"),
            None,
            [200, 200, 200, 404],
        ),
        (
            Method::POST,
            format!("/jobs/{job}/run"),
            None,
            [202, 202, 403, 404],
        ),
        (
            Method::GET,
            format!("/results/{run}"),
            None,
            [200, 200, 200, 404],
        ),
        (
            Method::GET,
            format!("/results/{run}/items"),
            None,
            [200, 200, 200, 404],
        ),
        (
            Method::GET,
            format!("/results/{run}/changes"),
            None,
            [200, 200, 200, 404],
        ),
        (
            Method::GET,
            format!("/results/{run}/export/csv"),
            None,
            [200, 200, 200, 404],
        ),
        (
            Method::GET,
            format!("/results/?org_id={org}"),
            None,
            [200, 200, 200, 404],
        ),
        (
            Method::GET,
            format!("/jobs/{job}/schedules"),
            None,
            [200, 200, 200, 404],
        ),
        (
            Method::POST,
            format!("/jobs/{job}/schedules"),
            Some(json!({"cron_expression": "0 10 * * *"})),
            [201, 201, 403, 404],
        ),
        (
            Method::GET,
            format!("/schedules/{schedule}"),
            None,
            [200, 200, 200, 404],
        ),
        (
            Method::PATCH,
            format!("/schedules/{schedule}"),
            Some(json!({"enabled": false})),
            [200, 200, 403, 404],
        ),
        (
            Method::GET,
            format!("/webhooks/{webhook}"),
            None,
            [200, 200, 200, 404],
        ),
        (
            Method::PATCH,
            format!("/webhooks/{webhook}"),
            Some(json!({"name": "renamed hook"})),
            [200, 200, 403, 404],
        ),
        (
            Method::GET,
            format!("/webhooks/{webhook}/deliveries"),
            None,
            [200, 200, 200, 404],
        ),
        (
            Method::GET,
            format!("/webhooks?org_id={org}"),
            None,
            [200, 200, 200, 404],
        ),
        (
            Method::GET,
            format!("/orgs/{org}"),
            None,
            [200, 200, 200, 404],
        ),
        (
            Method::GET,
            format!("/orgs/{org}/members"),
            None,
            [200, 200, 200, 404],
        ),
        (
            Method::PATCH,
            format!("/orgs/{org}"),
            Some(json!({"name": "Scrapers Inc"})),
            [200, 403, 403, 404],
        ),
        (
            Method::GET,
            format!("/orgs/{org}/invitations"),
            None,
            [200, 403, 403, 404],
        ),
        (
            Method::POST,
            format!("/orgs/{org}/invitations"),
            Some(json!({"email": "new@example.com"})),
            [201, 403, 403, 404],
        ),
        (
            Method::POST,
            format!("/results/{run}/cancel"),
            None,
            [200, 409, 403, 404],
        ),
    ];
    let actors = [
        ("owner", &owner),
        ("editor", &editor),
        ("viewer", &viewer),
        ("outsider", &outsider),
    ];
    for (method, path, body, expected) in table {
        for ((who, token), status) in actors.iter().zip(expected) {
            let body = match (&method, &body) {
                (_, Some(b)) => Some(b.clone()),
                (&Method::POST, None) => Some(json!({})),
                _ => None,
            };
            app.call(method.clone(), &path, Some(token.as_str()), body, status)
                .await;
            let _ = who;
        }
    }

    // A refusal names the role needed; a resource of another team does not exist.
    let refused = app
        .put(
            &format!("/jobs/{job}"),
            &viewer,
            json!({"config": job_config("Nope")}),
            403,
        )
        .await;
    assert_eq!(
        refused["detail"],
        "viewers of this organization cannot change jobs: ask an owner for the editor role"
    );
    let refused = patch(
        &app,
        &format!("/orgs/{org}"),
        &editor,
        json!({"name": "X"}),
        403,
    )
    .await;
    assert_eq!(
        refused["detail"],
        "editors of this organization cannot rename or delete the organization: ask an owner \
         for the owner role"
    );

    // Listings span every organization of the caller; `?org_id=` narrows them.
    let all = app.get("/jobs/", &editor, 200).await;
    assert_eq!(all["total"], 3, "{all}");
    assert_eq!(app.get("/jobs/", &outsider, 200).await["total"], 0);
    let outsider_job = app.job(&outsider, "Outsider's").await;
    let editor_personal = app.get("/users/me", &editor, 200).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        app.get(&format!("/jobs/?org_id={editor_personal}"), &editor, 200)
            .await["total"],
        0
    );
    app.get(&format!("/jobs/{outsider_job}"), &editor, 404)
        .await;

    // A webhook hears only of its own organization's jobs.
    let crossed = app
        .post(
            "/webhooks",
            &outsider,
            json!({"name": "x", "url": "http://127.0.0.1:9/hook", "job_id": job}),
            422,
        )
        .await;
    assert_eq!(crossed["detail"][0]["path"], "job_id");
    let crossed = app
        .post(
            "/webhooks",
            &owner,
            json!({"name": "x", "url": "http://127.0.0.1:9/hook", "job_id": outsider_job}),
            422,
        )
        .await;
    assert_eq!(crossed["detail"][0]["path"], "job_id");
    // A job stays in its organization.
    let moved = app
        .put(
            &format!("/jobs/{job}"),
            &owner,
            json!({"config": job_config("Moved"), "org_id": editor_personal}),
            422,
        )
        .await;
    assert_eq!(moved["detail"][0]["path"], "org_id");

    // Editors delete runs and jobs; viewers do not.
    app.delete(&format!("/results/{run}"), &viewer, 403).await;
    app.delete(&format!("/results/{run}"), &editor, 204).await;
    app.delete(&format!("/webhooks/{webhook}"), &viewer, 403)
        .await;
    app.delete(&format!("/webhooks/{webhook}"), &editor, 204)
        .await;
    app.delete(&format!("/jobs/{job}"), &viewer, 403).await;
    app.delete(&format!("/jobs/{job}"), &editor, 204).await;
    app.delete(&format!("/orgs/{org}"), &editor, 403).await;
    app.delete(&format!("/orgs/{org}"), &owner, 204).await;
    app.get(&format!("/orgs/{org}"), &owner, 404).await;
    app.finish().await;
}

async fn invitations_expire_work_once_and_name_one_address(backend: Backend) {
    let app = app_for(backend).await;
    let (owner_id, owner) = app.user("boss@example.com", Role::User).await;
    let (_, guest) = app.user("guest@example.com", Role::User).await;
    let (_, stranger) = app.user("stranger@example.com", Role::User).await;
    let org = team(&app, &owner, "Guests").await;

    // Bad input is a 422 naming the field.
    let bad = app
        .post(
            &format!("/orgs/{org}/invitations"),
            &owner,
            json!({"email": "not an address"}),
            422,
        )
        .await;
    assert_eq!(bad["detail"][0]["path"], "email");
    let bad = app
        .post(
            &format!("/orgs/{org}/invitations"),
            &owner,
            json!({"email": "guest@example.com", "role": "emperor"}),
            422,
        )
        .await;
    assert_eq!(bad["detail"][0]["path"], "role");

    // Lasts `[orgs] invitation_ttl_hours` (168 by default); defaults to viewer.
    let made = app
        .post(
            &format!("/orgs/{org}/invitations"),
            &owner,
            json!({"email": "Guest@Example.com"}),
            201,
        )
        .await;
    assert_eq!(
        (made["role"].as_str(), made["email"].as_str()),
        (Some("viewer"), Some("guest@example.com"))
    );
    let expires: chrono::DateTime<Utc> = made["expires_at"].as_str().unwrap().parse().unwrap();
    let lifetime = expires - Utc::now();
    assert!(
        lifetime > Duration::hours(167) && lifetime <= Duration::hours(168),
        "{lifetime}"
    );
    let token = made["token"].as_str().unwrap().to_owned();
    let listed = app
        .get(&format!("/orgs/{org}/invitations"), &owner, 200)
        .await;
    assert_eq!(listed.as_array().unwrap().len(), 1);
    assert!(listed[0].get("token").is_none(), "the secret is shown once");

    // Another account cannot use it, whoever holds the link.
    let wrong = app
        .post(
            "/invitations/accept",
            &stranger,
            json!({"token": token}),
            403,
        )
        .await;
    assert!(
        wrong["detail"]
            .as_str()
            .unwrap()
            .contains("another e-mail address"),
        "{wrong}"
    );
    app.post("/invitations/accept", &guest, json!({"token": token}), 200)
        .await;
    let again = app
        .post("/invitations/accept", &guest, json!({"token": token}), 409)
        .await;
    assert!(
        again["detail"].as_str().unwrap().contains("works once"),
        "{again}"
    );
    app.post(
        "/invitations/accept",
        &guest,
        json!({"token": "gi_nothing"}),
        404,
    )
    .await;

    // Expired: refused, saying when.
    let secret = "gi_0123456789abcdef0123456789abcdef01234567";
    app.store
        .create_invitation(&NewInvitation {
            org_id: org,
            email: Email::parse("stranger@example.com").unwrap(),
            role: OrgRole::Editor,
            token_hash: grandma_server::auth::tokens::hash(secret),
            invited_by: owner_id,
            expires_at: Utc::now() - Duration::minutes(1),
        })
        .await
        .unwrap();
    let expired = app
        .post(
            "/invitations/accept",
            &stranger,
            json!({"token": secret}),
            409,
        )
        .await;
    assert!(
        expired["detail"]
            .as_str()
            .unwrap()
            .starts_with("this invitation expired on "),
        "{expired}"
    );
    app.get(&format!("/orgs/{org}"), &stranger, 404).await;

    // Revoked: the link stops working.
    let made = app
        .post(
            &format!("/orgs/{org}/invitations"),
            &owner,
            json!({"email": "stranger@example.com", "role": "editor"}),
            201,
        )
        .await;
    let id = made["id"].as_str().unwrap();
    app.delete(&format!("/orgs/{org}/invitations/{id}"), &owner, 204)
        .await;
    app.post(
        "/invitations/accept",
        &stranger,
        json!({"token": made["token"]}),
        404,
    )
    .await;
    let members = app.get(&format!("/orgs/{org}/members"), &owner, 200).await;
    let emails: Vec<&str> = members
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["email"].as_str().unwrap())
        .collect();
    assert_eq!(emails, ["boss@example.com", "guest@example.com"]);
    app.finish().await;
}

async fn personal_org_is_the_default(backend: Backend) {
    let app = app_for(backend).await;
    let (me, token) = app.user("solo@example.com", Role::User).await;
    let orgs = app.get("/orgs", &token, 200).await;
    assert_eq!(orgs.as_array().unwrap().len(), 1, "{orgs}");
    assert_eq!(orgs[0]["id"], me.to_string());
    assert_eq!(
        (orgs[0]["personal"].as_bool(), orgs[0]["role"].as_str()),
        (Some(true), Some("owner"))
    );

    let job = app
        .post("/jobs/", &token, json!({"config": job_config("Mine")}), 201)
        .await;
    assert_eq!(job["org_id"], me.to_string());
    let webhook = app
        .post(
            "/webhooks",
            &token,
            json!({"name": "mine", "url": "http://127.0.0.1:9/hook"}),
            201,
        )
        .await;
    assert_eq!(webhook["org_id"], me.to_string());
    let run = app
        .post(
            &format!("/jobs/{}/run", job["id"].as_str().unwrap()),
            &token,
            json!({}),
            202,
        )
        .await;
    let run = app
        .get(
            &format!("/results/{}", run["result_id"].as_str().unwrap()),
            &token,
            200,
        )
        .await;
    assert_eq!(run["org_id"], me.to_string());

    // It goes only with the account, and nobody leaves it.
    let refused = app.delete(&format!("/orgs/{me}"), &token, 409).await;
    assert!(
        refused["detail"].as_str().unwrap().contains("personal"),
        "{refused}"
    );
    app.delete(&format!("/orgs/{me}/members/{me}"), &token, 409)
        .await;
    // An unknown organization in a body is as absent as any other resource of no team of theirs.
    app.post(
        "/jobs/",
        &token,
        json!({"config": job_config("Lost"), "org_id": Uuid::now_v7()}),
        404,
    )
    .await;
    app.finish().await;
}

async fn instance_admins_and_read_only_accounts(backend: Backend) {
    let app = app_for(backend).await;
    let (_, owner) = app.user("lead@example.com", Role::User).await;
    let (_, admin) = app.user("root@example.com", Role::Admin).await;
    let (_, reader) = app.user("auditor@example.com", Role::Readonly).await;
    let org = team(&app, &owner, "Audited").await;
    app.join_team(&owner, org, "auditor@example.com", "editor", &reader)
        .await;
    let job = app.team_job(&owner, org, "Audited").await;

    // An instance admin acts as an owner of every organization without being a member.
    app.get(&format!("/jobs/{job}"), &admin, 200).await;
    app.put(
        &format!("/jobs/{job}"),
        &admin,
        json!({"config": job_config("By admin")}),
        200,
    )
    .await;
    patch(
        &app,
        &format!("/orgs/{org}"),
        &admin,
        json!({"name": "Audited too"}),
        200,
    )
    .await;
    app.get(&format!("/orgs/{org}/invitations"), &admin, 200)
        .await;
    assert_eq!(
        app.get(&format!("/jobs/?org_id={org}"), &admin, 200).await["total"],
        1
    );

    // A read-only account reads what its role allows and writes nothing, whatever the role.
    app.get(&format!("/jobs/{job}"), &reader, 200).await;
    let refused = app
        .put(
            &format!("/jobs/{job}"),
            &reader,
            json!({"config": job_config("No")}),
            403,
        )
        .await;
    assert_eq!(refused["detail"], "read-only accounts cannot change jobs");
    app.post(&format!("/jobs/{job}/run"), &reader, json!({}), 403)
        .await;
    app.post("/orgs", &reader, json!({"name": "Mine"}), 403)
        .await;
    app.post(
        "/jobs/",
        &reader,
        json!({"config": job_config("No"), "org_id": org}),
        403,
    )
    .await;
    // Instance administration stays with instance admins.
    let refused = app.get("/users/", &owner, 403).await;
    assert_eq!(
        refused["detail"],
        "only instance administrators can manage users"
    );

    // An admin finds every organization, to change one's quotas; a member only their own.
    let every = app.get("/orgs?all=true", &admin, 200).await;
    let names: Vec<(&str, bool, &str)> = every
        .as_array()
        .unwrap()
        .iter()
        .map(|o| {
            (
                o["name"].as_str().unwrap(),
                o["personal"].as_bool().unwrap(),
                o["role"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        names,
        [
            ("Audited too", false, "owner"),
            ("auditor@example.com", true, "owner"),
            ("lead@example.com", true, "owner"),
            ("root@example.com", true, "owner"),
        ]
    );
    let own = app.get("/orgs?all=false", &admin, 200).await;
    assert_eq!(own.as_array().unwrap().len(), 1, "{own}");
    let refused = app.get("/orgs?all=true", &owner, 403).await;
    assert_eq!(
        refused["detail"],
        "only instance administrators can list every organization"
    );
    let refused = app.get("/orgs?all=everything", &admin, 422).await;
    assert_eq!(
        refused["detail"][0]["message"],
        "all: provided string was not `true` or `false`"
    );
    app.finish().await;
}

async fn an_org_keeps_an_owner(backend: Backend) {
    let app = app_for(backend).await;
    let (first_id, first) = app.user("first@example.com", Role::User).await;
    let (second_id, second) = app.user("second@example.com", Role::User).await;
    let (third_id, third) = app.user("third@example.com", Role::User).await;
    let org = team(&app, &first, "Owned").await;
    app.join_team(&first, org, "second@example.com", "editor", &second)
        .await;
    app.join_team(&first, org, "third@example.com", "viewer", &third)
        .await;

    // The only owner can neither step down nor leave.
    let refused = patch(
        &app,
        &format!("/orgs/{org}/members/{first_id}"),
        &first,
        json!({"role": "editor"}),
        409,
    )
    .await;
    assert!(
        refused["detail"].as_str().unwrap().contains("owner"),
        "{refused}"
    );
    app.delete(&format!("/orgs/{org}/members/{first_id}"), &first, 409)
        .await;
    // Members cannot change roles or remove others; anyone may leave.
    patch(
        &app,
        &format!("/orgs/{org}/members/{third_id}"),
        &second,
        json!({"role": "owner"}),
        403,
    )
    .await;
    app.delete(&format!("/orgs/{org}/members/{second_id}"), &third, 403)
        .await;
    let promoted = patch(
        &app,
        &format!("/orgs/{org}/members/{second_id}"),
        &first,
        json!({"role": "owner"}),
        200,
    )
    .await;
    assert_eq!(promoted["role"], "owner");
    app.delete(&format!("/orgs/{org}/members/{first_id}"), &first, 204)
        .await;
    app.get(&format!("/orgs/{org}"), &first, 404).await;
    app.delete(&format!("/orgs/{org}/members/{third_id}"), &third, 204)
        .await;
    let members = app.get(&format!("/orgs/{org}/members"), &second, 200).await;
    assert_eq!(members.as_array().unwrap().len(), 1);
    app.delete(&format!("/orgs/{org}/members/{second_id}"), &second, 409)
        .await;
    app.finish().await;
}
