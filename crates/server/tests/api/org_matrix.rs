//! The organization role matrix, generated from the OpenAPI document: every operation the
//! server documents must be classified in [`RULES`] (a route added without a rule fails here),
//! and every operation on an organization's rows is tried by an outsider, a viewer, an editor,
//! an owner and an instance administrator who is not a member, on fresh rows each time.
//!
//! A member below the route's role gets 403, an outsider 404 (ids of other teams do not leak),
//! everyone else gets past authorization: any answer but 401, 403, 404 or a server error.

use std::collections::BTreeSet;

use chrono::{Duration, Utc};
use grandma_store::{
    Email, NewDelivery, NewInvitation, OrgRole, OverlapPolicy, Role, ScheduleIn, Scope, Uuid,
    WebhookEvent, WebhookIn,
};
use reqwest::Method;
use serde_json::{Value, json};

use crate::common::{TestApp, job_config};

api_test!(every_route_is_authorized_by_organization_role);

/// Who may call an operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Rule {
    /// No credentials needed.
    Public,
    /// Any signed-in account, on its own things or across all of its organizations.
    Account,
    /// Instance administrators only.
    InstanceAdmin,
    /// Members of the organization the row belongs to, from this role up.
    Org(OrgRole),
}

use OrgRole::{Editor, Owner, Viewer};

/// Every documented operation, by method and path template as the document writes them.
const RULES: &[(&str, &str, Rule)] = &[
    ("get", "/api", Rule::Public),
    ("get", "/metrics", Rule::Public),
    ("get", "/health", Rule::Public),
    ("get", "/liveness", Rule::Public),
    ("get", "/readiness", Rule::Public),
    ("post", "/auth/register", Rule::Public),
    ("post", "/auth/token", Rule::Public),
    ("get", "/auth/api-tokens", Rule::Account),
    ("post", "/auth/api-tokens", Rule::Account),
    ("delete", "/auth/api-tokens/{id}", Rule::Account),
    ("get", "/users/me", Rule::Account),
    ("put", "/users/me", Rule::Account),
    ("get", "/users/", Rule::InstanceAdmin),
    ("get", "/users/{id}", Rule::InstanceAdmin),
    ("patch", "/users/{id}", Rule::InstanceAdmin),
    ("delete", "/users/{id}", Rule::InstanceAdmin),
    ("post", "/preview", Rule::Account),
    ("post", "/detect", Rule::Account),
    ("post", "/generalize", Rule::Account),
    ("post", "/snapshots", Rule::Account),
    ("get", "/snapshots/{id}", Rule::Account),
    ("delete", "/snapshots/{id}", Rule::Account),
    ("post", "/snapshots/{id}/items", Rule::Account),
    ("post", "/snapshots/{id}/field", Rule::Account),
    ("post", "/snapshots/{id}/preview", Rule::Account),
    ("post", "/snapshots/{id}/pagination", Rule::Account),
    ("post", "/snapshots/{id}/detect", Rule::Account),
    ("post", "/schedules/preview", Rule::Account),
    ("get", "/ws/user", Rule::Account),
    ("get", "/orgs", Rule::Account),
    ("post", "/orgs", Rule::Account),
    ("post", "/invitations/accept", Rule::Account),
    ("get", "/jobs/", Rule::Account),
    ("get", "/results/", Rule::Account),
    ("get", "/webhooks", Rule::Account),
    ("put", "/orgs/{id}/quotas", Rule::InstanceAdmin),
    // The organization's rows.
    ("post", "/jobs/", Rule::Org(Editor)),
    ("get", "/jobs/{id}", Rule::Org(Viewer)),
    ("put", "/jobs/{id}", Rule::Org(Editor)),
    ("delete", "/jobs/{id}", Rule::Org(Editor)),
    ("post", "/jobs/{id}/run", Rule::Org(Editor)),
    ("get", "/jobs/{id}/schedules", Rule::Org(Viewer)),
    ("post", "/jobs/{id}/schedules", Rule::Org(Editor)),
    ("get", "/results/{id}", Rule::Org(Viewer)),
    ("delete", "/results/{id}", Rule::Org(Editor)),
    ("post", "/results/{id}/cancel", Rule::Org(Editor)),
    ("get", "/results/{id}/changes", Rule::Org(Viewer)),
    ("get", "/results/{id}/export/{format}", Rule::Org(Viewer)),
    ("get", "/results/{id}/items", Rule::Org(Viewer)),
    ("get", "/ws/results/{result_id}", Rule::Org(Viewer)),
    ("get", "/schedules/{id}", Rule::Org(Viewer)),
    ("patch", "/schedules/{id}", Rule::Org(Editor)),
    ("delete", "/schedules/{id}", Rule::Org(Editor)),
    ("post", "/webhooks", Rule::Org(Editor)),
    ("get", "/webhooks/{id}", Rule::Org(Viewer)),
    ("patch", "/webhooks/{id}", Rule::Org(Editor)),
    ("delete", "/webhooks/{id}", Rule::Org(Editor)),
    ("get", "/webhooks/{id}/deliveries", Rule::Org(Viewer)),
    ("post", "/webhooks/{id}/rotate-secret", Rule::Org(Editor)),
    ("post", "/webhooks/{id}/test", Rule::Org(Editor)),
    ("get", "/webhook-deliveries/{id}", Rule::Org(Viewer)),
    (
        "post",
        "/webhook-deliveries/{id}/redeliver",
        Rule::Org(Editor),
    ),
    ("get", "/orgs/{id}", Rule::Org(Viewer)),
    ("patch", "/orgs/{id}", Rule::Org(Owner)),
    ("delete", "/orgs/{id}", Rule::Org(Owner)),
    ("get", "/orgs/{id}/usage", Rule::Org(Viewer)),
    ("get", "/orgs/{id}/members", Rule::Org(Viewer)),
    ("patch", "/orgs/{id}/members/{user_id}", Rule::Org(Owner)),
    ("delete", "/orgs/{id}/members/{user_id}", Rule::Org(Owner)),
    ("get", "/orgs/{id}/invitations", Rule::Org(Owner)),
    ("post", "/orgs/{id}/invitations", Rule::Org(Owner)),
    (
        "delete",
        "/orgs/{id}/invitations/{invitation_id}",
        Rule::Org(Owner),
    ),
];

/// The accounts of the matrix, signed in.
struct People {
    owner: (Uuid, String),
    editor: (Uuid, String),
    viewer: (Uuid, String),
    outsider: (Uuid, String),
    admin: (Uuid, String),
}

/// A fresh organization and one of each of its rows, for one attempt.
struct Team {
    org: Uuid,
    job: Uuid,
    run: Uuid,
    schedule: Uuid,
    webhook: Uuid,
    delivery: Uuid,
    invitation: Uuid,
    /// A viewer whose role the attempt changes or who is removed.
    member: Uuid,
}

async fn join(app: &TestApp, org: Uuid, user: Uuid, email: &str, role: OrgRole, inviter: Uuid) {
    let hash = format!("{:064x}", Uuid::now_v7().as_u128());
    app.store
        .create_invitation(&NewInvitation {
            org_id: org,
            email: Email::parse(email).unwrap(),
            role,
            token_hash: hash.clone(),
            invited_by: inviter,
            expires_at: Utc::now() + Duration::hours(1),
        })
        .await
        .unwrap();
    app.store
        .accept_invitation(&hash, user, email)
        .await
        .unwrap();
}

impl Team {
    async fn new(app: &TestApp, people: &People, n: usize) -> Team {
        let store = &app.store;
        let owner = people.owner.0;
        let org = store
            .create_org(&format!("Team {n}"), owner)
            .await
            .unwrap()
            .org_id;
        join(
            app,
            org,
            people.editor.0,
            "editor@example.com",
            Editor,
            owner,
        )
        .await;
        join(
            app,
            org,
            people.viewer.0,
            "viewer@example.com",
            Viewer,
            owner,
        )
        .await;
        let member_email = format!("member{n}@example.com");
        let member = store
            .create_user(&grandma_store::NewUser {
                email: Email::parse(&member_email).unwrap(),
                password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".into(),
                role: Role::User,
                is_active: true,
            })
            .await
            .unwrap()
            .user_id;
        join(app, org, member, &member_email, Viewer, owner).await;
        let job = store
            .create_job_in(
                org,
                owner,
                &grandma_store::JobIn {
                    name: "Shared".into(),
                    description: None,
                    config: job_config("Shared"),
                    enabled: true,
                },
            )
            .await
            .unwrap()
            .job_id;
        let run = store
            .enqueue_run(Scope::all(), job, &Default::default())
            .await
            .unwrap()
            .result_id;
        let schedule = store
            .create_schedule(
                Scope::all(),
                job,
                &ScheduleIn {
                    cron_expression: "0 7 * * *".into(),
                    timezone: "UTC".into(),
                    enabled: true,
                    next_run: None,
                    overlap_policy: OverlapPolicy::Skip,
                },
            )
            .await
            .unwrap()
            .schedule_id;
        let webhook = store
            .create_webhook_in(
                org,
                owner,
                &WebhookIn {
                    name: "hook".into(),
                    url: "https://hooks.example.com/in".into(),
                    enabled: true,
                    events: vec![WebhookEvent::JobCompleted],
                    job_id: None,
                    secret: None,
                    headers: Default::default(),
                    retry_on_failure: false,
                    max_retries: 0,
                },
            )
            .await
            .unwrap()
            .webhook_id;
        let delivery = store
            .create_delivery(&NewDelivery {
                webhook_id: webhook,
                result_id: Some(run),
                event_type: WebhookEvent::JobCompleted,
                payload: json!({}),
            })
            .await
            .unwrap()
            .delivery_id;
        let invitation = store
            .create_invitation(&NewInvitation {
                org_id: org,
                email: Email::parse("pending@example.com").unwrap(),
                role: Viewer,
                token_hash: format!("{:064x}", Uuid::now_v7().as_u128()),
                invited_by: owner,
                expires_at: Utc::now() + Duration::hours(1),
            })
            .await
            .unwrap()
            .invitation_id;
        Team {
            org,
            job,
            run,
            schedule,
            webhook,
            delivery,
            invitation,
            member,
        }
    }

    /// The path with this team's ids in place of the template's parameters.
    fn path(&self, template: &str) -> String {
        let id = if template.starts_with("/jobs/") {
            self.job
        } else if template.starts_with("/results/") || template.starts_with("/ws/results/") {
            self.run
        } else if template.starts_with("/schedules/") {
            self.schedule
        } else if template.starts_with("/webhooks/") {
            self.webhook
        } else if template.starts_with("/webhook-deliveries/") {
            self.delivery
        } else if template.starts_with("/users/") {
            self.member
        } else {
            self.org
        };
        template
            .replace("{id}", &id.to_string())
            .replace("{result_id}", &id.to_string())
            .replace("{user_id}", &self.member.to_string())
            .replace("{invitation_id}", &self.invitation.to_string())
            .replace("{format}", "csv")
    }

    /// A valid body for the operation on this team's rows.
    fn body(&self, method: &str, template: &str) -> Option<Value> {
        let body = match (method, template) {
            ("post", "/jobs/") => json!({"config": job_config("New"), "org_id": self.org}),
            ("put", "/jobs/{id}") => json!({"config": job_config("Renamed")}),
            ("post", "/jobs/{id}/schedules") => json!({"cron_expression": "0 8 * * *"}),
            ("patch", "/schedules/{id}") => json!({"enabled": false}),
            ("post", "/webhooks") => json!({
                "name": "new hook",
                "url": "https://hooks.example.com/new",
                "events": ["job.completed"],
                "org_id": self.org,
            }),
            ("patch", "/webhooks/{id}") => json!({"enabled": false}),
            ("patch", "/orgs/{id}") => json!({"name": "Renamed team"}),
            ("patch", "/orgs/{id}/members/{user_id}") => json!({"role": "editor"}),
            ("post", "/orgs/{id}/invitations") => {
                json!({"email": "invited@example.com", "role": "viewer"})
            }
            ("patch", "/users/{id}") => json!({"is_active": true}),
            ("put", "/orgs/{id}/quotas") => json!({"max_jobs": 5}),
            (_, _) if method != "get" && method != "delete" => json!({}),
            _ => return None,
        };
        Some(body)
    }
}

/// Every operation of the served OpenAPI document, as (method, path template).
async fn documented_operations(app: &TestApp) -> BTreeSet<(String, String)> {
    let document = app.openapi_document().await;
    let mut operations = BTreeSet::new();
    for (path, item) in document["paths"].as_object().unwrap() {
        for method in ["get", "put", "post", "delete", "patch"] {
            if item.get(method).is_some() {
                // The document names paths from the root; the rules, like `app.api`, from the
                // API's prefix.
                let path = path.strip_prefix("/api/v1").unwrap_or(path);
                operations.insert((method.to_owned(), path.to_owned()));
            }
        }
    }
    operations
}

/// What a WebSocket stream answers, as the HTTP status it stands for: the server upgrades
/// first and then either sends the run's state (200) or closes with 1008 (policy violation),
/// saying whether the run is unknown to the caller (404) or not theirs to read (403).
async fn stream_status(app: &TestApp, path: &str, token: &str) -> (u16, String) {
    use futures::StreamExt;
    use tokio_tungstenite::tungstenite::Message;
    let url = format!("ws://{}/api/v1{path}?token={token}", app.addr);
    let (mut socket, _) = tokio_tungstenite::connect_async(url).await.unwrap();
    let first = tokio::time::timeout(std::time::Duration::from_secs(10), socket.next())
        .await
        .expect("the stream answers")
        .expect("a message")
        .unwrap();
    match first {
        Message::Close(Some(frame)) => {
            let reason = frame.reason.to_string();
            assert_eq!(u16::from(frame.code), 1008, "{path}: {reason}");
            let status = if reason.contains("no such") { 404 } else { 403 };
            (status, reason)
        }
        Message::Text(text) => (200, text.to_string()),
        other => panic!("{path}: unexpected first message {other:?}"),
    }
}

async fn every_route_is_authorized_by_organization_role(app: &TestApp) {
    let people = People {
        owner: app.user("owner@example.com", Role::User).await,
        editor: app.user("editor@example.com", Role::User).await,
        viewer: app.user("viewer@example.com", Role::User).await,
        outsider: app.user("outsider@example.com", Role::User).await,
        admin: app.user("admin@example.com", Role::Admin).await,
    };

    // The document and the rules name the same operations: a new route needs a rule, and a
    // rule of a removed route goes too.
    let documented = documented_operations(app).await;
    let ruled: BTreeSet<(String, String)> = RULES
        .iter()
        .map(|(m, p, _)| ((*m).to_owned(), (*p).to_owned()))
        .collect();
    let unruled: Vec<_> = documented.difference(&ruled).collect();
    assert!(
        unruled.is_empty(),
        "operations without an authorization rule in this matrix: {unruled:?}"
    );
    let stale: Vec<_> = ruled.difference(&documented).collect();
    assert!(
        stale.is_empty(),
        "rules of operations no longer documented: {stale:?}"
    );

    // Actors from the least to the most allowed, with the role each holds in the team.
    let actors: [(&str, &(Uuid, String), Option<OrgRole>); 5] = [
        ("outsider", &people.outsider, None),
        ("viewer", &people.viewer, Some(Viewer)),
        ("editor", &people.editor, Some(Editor)),
        ("owner", &people.owner, Some(Owner)),
        ("instance admin", &people.admin, Some(Owner)),
    ];
    let mut tried = 0;
    for (n, (method, template, rule)) in RULES.iter().enumerate() {
        let needed = match rule {
            Rule::Org(role) => *role,
            Rule::InstanceAdmin => {
                // An organization's owner is not an instance administrator.
                let team = Team::new(app, &people, n * 10).await;
                let path = team.path(template);
                let status = send(
                    app,
                    method,
                    &path,
                    &people.owner.1,
                    team.body(method, template),
                )
                .await
                .0;
                assert_eq!(status, 403, "{method} {path} by an organization owner");
                continue;
            }
            Rule::Public | Rule::Account => continue,
        };
        for (k, (who, (_, token), role)) in actors.iter().enumerate() {
            let team = Team::new(app, &people, n * 10 + k).await;
            let path = team.path(template);
            let (status, text) = if template.starts_with("/ws/") {
                stream_status(app, &path, token).await
            } else {
                send(app, method, &path, token, team.body(method, template)).await
            };
            let outcome = format!("{method} {path} by the {who}: {status} {text}");
            match role {
                None => assert_eq!(status, 404, "{outcome}"),
                Some(role) if !role.includes(needed) => {
                    assert_eq!(status, 403, "{outcome}");
                    assert!(
                        text.contains(needed.as_str()),
                        "a refusal names the role needed: {outcome}"
                    );
                }
                Some(_) => assert!(
                    !matches!(status, 401 | 403 | 404) && status < 500,
                    "{outcome}"
                ),
            }
            tried += 1;
        }
    }
    assert!(tried >= 5 * 30, "only {tried} attempts");

    // Listings across all of one's organizations show a team's rows to its members only.
    let team = Team::new(app, &people, 10_000).await;
    for (list, id) in [
        ("/jobs/", team.job),
        ("/results/", team.run),
        ("/webhooks", team.webhook),
    ] {
        for (who, (_, token), role) in &actors {
            let (status, text) = send(app, "get", &format!("{list}?limit=1000"), token, None).await;
            assert_eq!(status, 200, "{list} by the {who}: {text}");
            assert_eq!(
                text.contains(&id.to_string()),
                role.is_some(),
                "{list} by the {who} lists the team's row only to members and administrators"
            );
        }
    }
}

async fn send(
    app: &TestApp,
    method: &str,
    path: &str,
    token: &str,
    body: Option<Value>,
) -> (u16, String) {
    let method: Method = method.to_uppercase().parse().unwrap();
    let mut request = app.client.request(method, app.api(path)).bearer_auth(token);
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.text().await.unwrap())
}
