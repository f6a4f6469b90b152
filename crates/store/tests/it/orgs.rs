//! Organizations: personal ones made with accounts, shared ones with members and roles,
//! invitations that work once and expire, and the rule that every organization keeps an owner.

use chrono::{Duration, Utc};
use grandma_store::{
    Acceptance, Email, JobFilter, NewApiToken, NewInvitation, OrgRole, Paging, Role, Scope,
    StoreError, Uuid,
};

use crate::common::{TestDb, job_in, user};

store_test!(
    accounts_come_with_a_personal_organization,
    members_see_the_rows_of_their_organizations,
    an_organization_keeps_an_owner,
    invitations_work_once_for_the_invited_address,
    deleting_an_account_leaves_shared_work_with_the_team,
    leaving_a_team_revokes_ones_tokens_for_it,
);

async fn accounts_come_with_a_personal_organization(db: &TestDb) {
    let store = &db.store;
    let alice = user(store, "alice@example.com", Role::User).await;
    let orgs = store.list_orgs_of(alice.user_id).await.unwrap();
    assert_eq!(orgs.len(), 1);
    assert_eq!(orgs[0].org.org_id, alice.user_id);
    assert_eq!(orgs[0].org.personal_of, Some(alice.user_id));
    assert_eq!(orgs[0].org.name, "alice@example.com");
    assert_eq!(orgs[0].role, OrgRole::Owner);
    assert_eq!(
        store.memberships(alice.user_id).await.unwrap(),
        vec![(alice.user_id, OrgRole::Owner)]
    );
    let refused = store.delete_org(alice.user_id).await.unwrap_err();
    assert!(matches!(refused, StoreError::Refused(_)), "{refused:?}");
    let job = store
        .create_job(alice.user_id, &job_in("Books", &["title"]))
        .await
        .unwrap();
    assert_eq!(job.org_id, alice.user_id);
}

async fn members_see_the_rows_of_their_organizations(db: &TestDb) {
    let store = &db.store;
    let alice = user(store, "alice@example.com", Role::User).await;
    let bob = user(store, "bob@example.com", Role::User).await;
    let carol = user(store, "carol@example.com", Role::User).await;
    let team = store.create_org("Shop", alice.user_id).await.unwrap();
    assert_eq!(team.personal_of, None);
    let shared = store
        .create_job_in(team.org_id, alice.user_id, &job_in("Prices", &["price"]))
        .await
        .unwrap();
    let own = store
        .create_job(bob.user_id, &job_in("Mine", &["title"]))
        .await
        .unwrap();
    store
        .get_job(Scope::member(bob.user_id), shared.job_id)
        .await
        .unwrap_err();

    let secret_hash = "11".repeat(32);
    store
        .create_invitation(&NewInvitation {
            org_id: team.org_id,
            email: Email::parse("bob@example.com").unwrap(),
            role: OrgRole::Viewer,
            token_hash: secret_hash.clone(),
            invited_by: alice.user_id,
            expires_at: Utc::now() + Duration::hours(1),
        })
        .await
        .unwrap();
    let joined = store
        .accept_invitation(&secret_hash, bob.user_id, "Bob@Example.com")
        .await
        .unwrap();
    assert!(
        matches!(&joined, Acceptance::Joined { org, role: OrgRole::Viewer } if org.org_id == team.org_id),
        "{joined:?}"
    );

    let filter = JobFilter::default();
    let bob_sees = |scope| store.list_jobs(scope, &filter, Paging::default());
    let all = bob_sees(Scope::member(bob.user_id)).await.unwrap();
    let mut ids: Vec<_> = all.items.iter().map(|j| j.job_id).collect();
    ids.sort();
    let mut expected = vec![shared.job_id, own.job_id];
    expected.sort();
    assert_eq!(ids, expected, "his own job and the team's");
    let narrowed = bob_sees(Scope::member(bob.user_id).in_org(team.org_id))
        .await
        .unwrap();
    assert_eq!(narrowed.total, 1);
    assert_eq!(narrowed.items[0].job_id, shared.job_id);
    // Narrowing to an organization one is not in shows nothing of it.
    let carols = bob_sees(Scope::member(carol.user_id).in_org(team.org_id))
        .await
        .unwrap();
    assert_eq!(carols.total, 0);
    store
        .get_job(Scope::member(carol.user_id), shared.job_id)
        .await
        .unwrap_err();

    let run = store
        .enqueue_run(
            Scope::member(bob.user_id),
            shared.job_id,
            &Default::default(),
        )
        .await
        .unwrap();
    assert_eq!(run.org_id, team.org_id);
    assert_eq!(
        run.owner_id, alice.user_id,
        "owner_id is who created the job"
    );

    let members = store.list_members(team.org_id).await.unwrap();
    assert_eq!(
        members
            .iter()
            .map(|m| (m.email.as_str(), m.role))
            .collect::<Vec<_>>(),
        vec![
            ("alice@example.com", OrgRole::Owner),
            ("bob@example.com", OrgRole::Viewer)
        ]
    );
    store.remove_member(team.org_id, bob.user_id).await.unwrap();
    store
        .get_job(Scope::member(bob.user_id), shared.job_id)
        .await
        .unwrap_err();
}

async fn an_organization_keeps_an_owner(db: &TestDb) {
    let store = &db.store;
    let alice = user(store, "alice@example.com", Role::User).await;
    let bob = user(store, "bob@example.com", Role::User).await;
    let team = store.create_org("Newsroom", alice.user_id).await.unwrap();
    let refused = |e: StoreError| matches!(e, StoreError::Refused(_));
    assert!(refused(
        store
            .set_member_role(team.org_id, alice.user_id, OrgRole::Editor)
            .await
            .unwrap_err()
    ));
    assert!(refused(
        store
            .remove_member(team.org_id, alice.user_id)
            .await
            .unwrap_err()
    ));
    assert!(refused(
        store
            .remove_member(alice.user_id, alice.user_id)
            .await
            .unwrap_err()
    ));
    assert!(matches!(
        store
            .set_member_role(team.org_id, bob.user_id, OrgRole::Owner)
            .await
            .unwrap_err(),
        StoreError::NotFound
    ));
    join(store, team.org_id, &alice, &bob, OrgRole::Owner).await;
    // With a second owner, the first may step down or leave.
    store
        .set_member_role(team.org_id, alice.user_id, OrgRole::Viewer)
        .await
        .unwrap();
    store
        .remove_member(team.org_id, alice.user_id)
        .await
        .unwrap();
    assert!(refused(
        store
            .remove_member(team.org_id, bob.user_id)
            .await
            .unwrap_err()
    ));
    store.delete_org(team.org_id).await.unwrap();
    assert!(matches!(
        store.get_org(team.org_id).await.unwrap_err(),
        StoreError::NotFound
    ));
}

async fn invitations_work_once_for_the_invited_address(db: &TestDb) {
    let store = &db.store;
    let alice = user(store, "alice@example.com", Role::User).await;
    let bob = user(store, "bob@example.com", Role::User).await;
    let mallory = user(store, "mallory@example.com", Role::User).await;
    let team = store.create_org("Family", alice.user_id).await.unwrap();
    let invite = |hash: &str, hours: i64| NewInvitation {
        org_id: team.org_id,
        email: Email::parse("bob@example.com").unwrap(),
        role: OrgRole::Editor,
        token_hash: hash.to_owned(),
        invited_by: alice.user_id,
        expires_at: Utc::now() + Duration::hours(hours),
    };
    let live = "33".repeat(32);
    let stale = "44".repeat(32);
    store.create_invitation(&invite(&live, 1)).await.unwrap();
    let expired = store.create_invitation(&invite(&stale, -1)).await.unwrap();

    assert_eq!(
        store
            .accept_invitation(&"55".repeat(32), bob.user_id, "bob@example.com")
            .await
            .unwrap(),
        Acceptance::Unknown
    );
    assert_eq!(
        store
            .accept_invitation(&stale, bob.user_id, "bob@example.com")
            .await
            .unwrap(),
        Acceptance::Expired {
            expired_at: expired.expires_at
        }
    );
    assert_eq!(
        store
            .accept_invitation(&live, mallory.user_id, "mallory@example.com")
            .await
            .unwrap(),
        Acceptance::OtherEmail
    );
    assert!(store.memberships(mallory.user_id).await.unwrap().len() == 1);
    assert!(matches!(
        store
            .accept_invitation(&live, bob.user_id, "bob@example.com")
            .await
            .unwrap(),
        Acceptance::Joined {
            role: OrgRole::Editor,
            ..
        }
    ));
    assert_eq!(
        store
            .accept_invitation(&live, bob.user_id, "bob@example.com")
            .await
            .unwrap(),
        Acceptance::AlreadyUsed
    );
    let listed = store.list_invitations(team.org_id).await.unwrap();
    assert_eq!(listed.len(), 2);
    let used = listed.iter().find(|i| i.accepted_at.is_some()).unwrap();
    assert_eq!(used.accepted_by, Some(bob.user_id));
    // An accepted invitation is history, not something to revoke; a pending one is.
    assert!(matches!(
        store
            .revoke_invitation(team.org_id, used.invitation_id)
            .await
            .unwrap_err(),
        StoreError::NotFound
    ));
    store
        .revoke_invitation(team.org_id, expired.invitation_id)
        .await
        .unwrap();
    assert_eq!(store.list_invitations(team.org_id).await.unwrap().len(), 1);
}

async fn deleting_an_account_leaves_shared_work_with_the_team(db: &TestDb) {
    let store = &db.store;
    let alice = user(store, "alice@example.com", Role::User).await;
    let bob = user(store, "bob@example.com", Role::User).await;
    let team = store.create_org("Shop", alice.user_id).await.unwrap();
    join(store, team.org_id, &alice, &bob, OrgRole::Editor).await;
    let bobs_team_job = store
        .create_job_in(team.org_id, bob.user_id, &job_in("Prices", &["price"]))
        .await
        .unwrap();
    let bobs_own_job = store
        .create_job(bob.user_id, &job_in("Mine", &["title"]))
        .await
        .unwrap();
    // Alice is the team's only owner while Bob is in it.
    assert!(matches!(
        store.delete_user(alice.user_id).await.unwrap_err(),
        StoreError::Refused(_)
    ));
    store.delete_user(bob.user_id).await.unwrap();
    let kept = store
        .get_job(Scope::member(alice.user_id), bobs_team_job.job_id)
        .await
        .unwrap();
    assert_eq!(kept.owner_id, alice.user_id, "handed to the team's owner");
    assert!(matches!(
        store
            .get_job(Scope::all(), bobs_own_job.job_id)
            .await
            .unwrap_err(),
        StoreError::NotFound
    ));
    // Alone in her team, Alice takes it with her.
    store.delete_user(alice.user_id).await.unwrap();
    assert!(matches!(
        store.get_org(team.org_id).await.unwrap_err(),
        StoreError::NotFound
    ));
}

/// `member` joins `org` with `role` through an invitation from `inviter`, as a link would.
async fn join(
    store: &grandma_store::Store,
    org: grandma_store::Uuid,
    inviter: &grandma_store::User,
    member: &grandma_store::User,
    role: OrgRole,
) {
    let hash = format!("{:064x}", grandma_store::Uuid::now_v7().as_u128());
    store
        .create_invitation(&NewInvitation {
            org_id: org,
            email: Email::parse(&member.email).unwrap(),
            role,
            token_hash: hash.clone(),
            invited_by: inviter.user_id,
            expires_at: Utc::now() + Duration::hours(1),
        })
        .await
        .unwrap();
    store
        .accept_invitation(&hash, member.user_id, &member.email)
        .await
        .unwrap();
}

async fn leaving_a_team_revokes_ones_tokens_for_it(db: &TestDb) {
    let store = &db.store;
    let alice = user(store, "alice@example.com", Role::User).await;
    let bob = user(store, "bob@example.com", Role::User).await;
    let team = store.create_org("Shop", alice.user_id).await.unwrap();
    join(store, team.org_id, &alice, &bob, OrgRole::Editor).await;
    let token = |org_id: Uuid, hash: &str| NewApiToken {
        user_id: bob.user_id,
        name: hash.to_owned(),
        token_hash: hash.to_owned(),
        prefix: "gs_".to_owned(),
        org_id,
        scopes: vec!["jobs:read".to_owned()],
        expires_at: None,
    };
    store
        .create_api_token(&token(team.org_id, "team-token"))
        .await
        .unwrap();
    store
        .create_api_token(&token(bob.user_id, "own-token"))
        .await
        .unwrap();
    // Alice's token for the team is hers: Bob's leaving does not touch it.
    store
        .create_api_token(&NewApiToken {
            user_id: alice.user_id,
            ..token(team.org_id, "alice-token")
        })
        .await
        .unwrap();
    store.use_api_token("team-token").await.unwrap();

    store.remove_member(team.org_id, bob.user_id).await.unwrap();
    assert!(matches!(
        store.use_api_token("team-token").await,
        Err(StoreError::NotFound)
    ));
    store.use_api_token("own-token").await.unwrap();
    store.use_api_token("alice-token").await.unwrap();
    let listed = store.list_api_tokens(bob.user_id).await.unwrap();
    let mut revoked: Vec<_> = listed
        .iter()
        .map(|t| (t.name.as_str(), t.revoked_at.is_some()))
        .collect();
    revoked.sort();
    assert_eq!(revoked, [("own-token", false), ("team-token", true)]);

    // Invited back, he starts again without his old token.
    join(store, team.org_id, &alice, &bob, OrgRole::Editor).await;
    assert!(matches!(
        store.use_api_token("team-token").await,
        Err(StoreError::NotFound)
    ));
}
