use grandma_store::{Constraint, NewApiToken, Paging, Role, Secret, StoreError, UserPatch, Uuid};

use crate::common::{TestDb, user};

store_test!(
    users_crud,
    api_tokens,
    display_names,
    users_written_only_if_unchanged
);

async fn users_crud(db: &TestDb) {
    let store = &db.store;
    let admin = user(store, "Admin@Example.com", Role::Admin).await;
    assert_eq!(admin.email, "admin@example.com", "stored lowercased");
    assert_eq!(admin.token_version, 0);
    assert!(admin.is_active);
    assert_eq!(store.get_user(admin.user_id).await.unwrap(), admin);
    assert_eq!(
        store.get_user_by_email("ADMIN@example.COM").await.unwrap(),
        admin
    );
    assert_eq!(
        store
            .get_active_user_by_email(" admin@example.com ")
            .await
            .unwrap(),
        admin
    );

    // The same address in another case is the same account.
    let dup = store
        .create_user(&grandma_store::NewUser {
            email: grandma_store::Email::parse("ADMIN@example.com").unwrap(),
            password_hash: Secret::from("x"),
            role: Role::User,
            is_active: true,
        })
        .await
        .unwrap_err();
    match dup {
        StoreError::Conflict { constraint } => assert_eq!(constraint, Constraint::UserEmail),
        other => panic!("expected a conflict, got {other:?}"),
    }

    let bob = user(store, "bob@example.com", Role::User).await;
    let _carol = user(store, "carol@example.com", Role::Readonly).await;
    let page = store.list_users(Paging::new(2, 0)).await.unwrap();
    assert_eq!(page.total, 3);
    assert_eq!(page.items.len(), 2);
    assert_eq!(page.items[0].user_id, admin.user_id, "oldest first");
    let rest = store.list_users(Paging::new(2, 2)).await.unwrap();
    assert_eq!(rest.items.len(), 1);
    assert_eq!(store.count_admins().await.unwrap(), 1);

    // A role or e-mail change keeps tokens valid; a password change or deactivation does not.
    let bob = store
        .update_user(
            bob.user_id,
            &UserPatch {
                role: Some(Role::Admin),
                email: Some(grandma_store::Email::parse("Robert@Example.com").unwrap()),
                ..UserPatch::default()
            },
        )
        .await
        .unwrap();
    assert_eq!((bob.role, bob.token_version), (Role::Admin, 0));
    assert_eq!(bob.email, "robert@example.com");
    assert!(bob.updated_at >= bob.created_at);
    assert_eq!(store.count_admins().await.unwrap(), 2);
    let bob = store
        .update_user(
            bob.user_id,
            &UserPatch {
                password_hash: Some("new-hash".into()),
                ..UserPatch::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(bob.token_version, 1);
    assert_eq!(bob.password_hash.expose(), "new-hash");
    let bob = store
        .update_user(
            bob.user_id,
            &UserPatch {
                is_active: Some(false),
                ..UserPatch::default()
            },
        )
        .await
        .unwrap();
    assert_eq!((bob.is_active, bob.token_version), (false, 2));
    assert_eq!(
        store.count_admins().await.unwrap(),
        1,
        "inactive admins do not count"
    );
    assert!(matches!(
        store.get_active_user_by_email("robert@example.com").await,
        Err(StoreError::NotFound)
    ));
    let bob = store
        .update_user(
            bob.user_id,
            &UserPatch {
                is_active: Some(true),
                ..UserPatch::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(bob.token_version, 2, "reactivation does not bump");

    // Renaming onto a taken address conflicts.
    let err = store
        .update_user(
            bob.user_id,
            &UserPatch {
                email: Some(grandma_store::Email::parse("admin@example.com").unwrap()),
                ..UserPatch::default()
            },
        )
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Conflict { .. }), "{err:?}");

    store.delete_user(bob.user_id).await.unwrap();
    assert!(matches!(
        store.get_user(bob.user_id).await,
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        store.delete_user(bob.user_id).await,
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        store.update_user(bob.user_id, &UserPatch::default()).await,
        Err(StoreError::NotFound)
    ));
    // Password hashes never reach logs.
    assert!(!format!("{admin:?}").contains("argon2"));
}

async fn api_tokens(db: &TestDb) {
    let store = &db.store;
    let alice = user(store, "alice@example.com", Role::User).await;
    let mallory = user(store, "mallory@example.com", Role::User).await;
    let new = |hash: &str| NewApiToken {
        user_id: alice.user_id,
        name: "ci".into(),
        token_hash: hash.into(),
        prefix: "gs_abcd".into(),
        org_id: alice.user_id,
        scopes: vec!["jobs:read".into(), "runs:write".into()],
        expires_at: None,
    };
    let token = store.create_api_token(&new("hash-1")).await.unwrap();
    assert_eq!(token.last_used_at, None);
    let second = store.create_api_token(&new("hash-2")).await.unwrap();
    let err = store.create_api_token(&new("hash-1")).await.unwrap_err();
    match err {
        StoreError::Conflict { constraint } => {
            assert_eq!(constraint, Constraint::ApiTokenHash)
        }
        other => panic!("expected a conflict, got {other:?}"),
    }
    let listed = store.list_api_tokens(alice.user_id).await.unwrap();
    assert_eq!(
        listed.iter().map(|t| t.token_id).collect::<Vec<_>>(),
        vec![second.token_id, token.token_id],
        "newest first"
    );
    assert!(
        store
            .list_api_tokens(mallory.user_id)
            .await
            .unwrap()
            .is_empty()
    );

    let used = store.use_api_token("hash-1").await.unwrap();
    assert_eq!(used.token_id, token.token_id);
    assert!(used.last_used_at.is_some());
    assert!(matches!(
        store.use_api_token("nope").await,
        Err(StoreError::NotFound)
    ));

    // Only the owner revokes; a revoked token no longer authenticates.
    assert!(matches!(
        store
            .revoke_api_token(mallory.user_id, token.token_id)
            .await,
        Err(StoreError::NotFound)
    ));
    store
        .revoke_api_token(alice.user_id, token.token_id)
        .await
        .unwrap();
    store
        .revoke_api_token(alice.user_id, token.token_id)
        .await
        .unwrap();
    assert!(matches!(
        store.use_api_token("hash-1").await,
        Err(StoreError::NotFound)
    ));
    assert!(store.use_api_token("hash-2").await.is_ok());

    // A role change leaves tokens alone; a new password or deactivation revokes them all, and
    // reactivating the account does not bring them back.
    store.create_api_token(&new("hash-3")).await.unwrap();
    store
        .update_user(
            alice.user_id,
            &UserPatch {
                role: Some(Role::Readonly),
                ..UserPatch::default()
            },
        )
        .await
        .unwrap();
    assert!(store.use_api_token("hash-3").await.is_ok());
    store
        .update_user(
            alice.user_id,
            &UserPatch {
                password_hash: Some("new-hash".into()),
                ..UserPatch::default()
            },
        )
        .await
        .unwrap();
    assert!(matches!(
        store.use_api_token("hash-2").await,
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        store.use_api_token("hash-3").await,
        Err(StoreError::NotFound)
    ));
    store.create_api_token(&new("hash-4")).await.unwrap();
    for active in [false, true] {
        store
            .update_user(
                alice.user_id,
                &UserPatch {
                    is_active: Some(active),
                    ..UserPatch::default()
                },
            )
            .await
            .unwrap();
    }
    assert!(matches!(
        store.use_api_token("hash-4").await,
        Err(StoreError::NotFound)
    ));

    // Tokens go with their user.
    store.delete_user(alice.user_id).await.unwrap();
    assert!(
        store
            .list_api_tokens(alice.user_id)
            .await
            .unwrap()
            .is_empty()
    );
}

/// The optional display name: absent by default, set, kept by other changes, removed.
async fn display_names(db: &TestDb) {
    let store = &db.store;
    let ada = user(store, "ada@example.com", Role::User).await;
    assert_eq!(ada.username, None);
    let set = |name: Option<&str>| UserPatch {
        username: Some(name.map(str::to_owned)),
        ..UserPatch::default()
    };
    let ada = store
        .update_user(ada.user_id, &set(Some("Ada L.")))
        .await
        .unwrap();
    assert_eq!(ada.username.as_deref(), Some("Ada L."));
    let ada = store
        .update_user(
            ada.user_id,
            &UserPatch {
                role: Some(Role::Readonly),
                ..UserPatch::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(ada.username.as_deref(), Some("Ada L."), "kept");
    assert_eq!(store.get_user(ada.user_id).await.unwrap(), ada);
    let ada = store.update_user(ada.user_id, &set(None)).await.unwrap();
    assert_eq!(ada.username, None);
}

/// A conditional change lands only on the version it names; a stale one changes nothing, the
/// token version and the API tokens included.
async fn users_written_only_if_unchanged(db: &TestDb) {
    let store = &db.store;
    let read = user(store, "cas@example.com", Role::User).await;
    tokio::time::sleep(std::time::Duration::from_millis(2)).await;
    let demoted = store
        .update_user_if(
            read.user_id,
            &UserPatch {
                role: Some(Role::Readonly),
                ..Default::default()
            },
            Some(read.updated_at),
        )
        .await
        .unwrap()
        .expect("the version read is current");
    assert_eq!(demoted.role, Role::Readonly);
    assert_ne!(demoted.updated_at, read.updated_at);
    let deactivate = UserPatch {
        is_active: Some(false),
        ..Default::default()
    };
    assert!(
        store
            .update_user_if(read.user_id, &deactivate, Some(read.updated_at))
            .await
            .unwrap()
            .is_none(),
        "a stale version writes nothing"
    );
    assert_eq!(store.get_user(read.user_id).await.unwrap(), demoted);
    assert!(
        store
            .update_user_if(Uuid::now_v7(), &deactivate, None)
            .await
            .unwrap()
            .is_none(),
        "no such account"
    );
    assert_eq!(
        store
            .delete_user_if(read.user_id, Some(read.updated_at))
            .await
            .unwrap(),
        0,
        "a stale delete deletes nothing"
    );
    assert_eq!(
        store
            .delete_user_if(read.user_id, Some(demoted.updated_at))
            .await
            .unwrap(),
        1
    );
    assert!(matches!(
        store.get_user(read.user_id).await,
        Err(StoreError::NotFound)
    ));
}
