use grandma_store::{JobFilter, JobOrder, Paging, Role, Scope, StoreError, Uuid};

use crate::common::{TestDb, job_in, user};

store_test!(jobs_crud_and_scoping, jobs_written_only_if_unchanged);

async fn jobs_crud_and_scoping(db: &TestDb) {
    let store = &db.store;
    let alice = user(store, "alice@example.com", Role::User).await;
    let bob = user(store, "bob@example.com", Role::User).await;
    let (a, b) = (Scope::member(alice.user_id), Scope::member(bob.user_id));

    let news = store
        .create_job(alice.user_id, &job_in("Daily News", &["title", "link"]))
        .await
        .unwrap();
    let mut disabled = job_in("Prices 50%_off", &["price"]);
    disabled.enabled = false;
    let prices = store.create_job(alice.user_id, &disabled).await.unwrap();
    let books = store
        .create_job(alice.user_id, &job_in("books", &["isbn"]))
        .await
        .unwrap();
    let bobs = store
        .create_job(bob.user_id, &job_in("Bob's job", &["x"]))
        .await
        .unwrap();

    // The document round-trips (as JSON: PostgreSQL's jsonb may reorder object keys).
    assert_eq!(news.config, job_in("Daily News", &["title", "link"]).config);
    assert_eq!(store.get_job(a, news.job_id).await.unwrap(), news);
    assert_eq!(
        store.get_job(Scope::all(), news.job_id).await.unwrap(),
        news
    );
    assert!(matches!(
        store.get_job(b, news.job_id).await,
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        store.get_job(a, Uuid::now_v7()).await,
        Err(StoreError::NotFound)
    ));

    let all_of_alice = store
        .list_jobs(a, &JobFilter::default(), Paging::default())
        .await
        .unwrap();
    assert_eq!(all_of_alice.total, 3);
    assert_eq!(
        all_of_alice
            .items
            .iter()
            .map(|j| j.job_id)
            .collect::<Vec<_>>(),
        vec![books.job_id, prices.job_id, news.job_id],
        "newest first"
    );
    let enabled = store
        .list_jobs(
            a,
            &JobFilter {
                enabled: Some(true),
                ..JobFilter::default()
            },
            Paging::default(),
        )
        .await
        .unwrap();
    assert_eq!(enabled.total, 2);
    assert!(enabled.items.iter().all(|j| j.enabled));

    // Name search is case-insensitive and takes % and _ literally.
    let search = |text: &str| JobFilter {
        name_contains: Some(text.to_owned()),
        ..JobFilter::default()
    };
    let found = store
        .list_jobs(a, &search("50%_"), Paging::default())
        .await
        .unwrap();
    assert_eq!(found.items, vec![prices.clone()]);
    let found = store
        .list_jobs(a, &search("NEWS"), Paging::default())
        .await
        .unwrap();
    assert_eq!(found.total, 1);
    let none = store
        .list_jobs(a, &search("%"), Paging::default())
        .await
        .unwrap();
    assert_eq!(none.total, 1, "only the name containing a literal %");

    let by_name = store
        .list_jobs(
            a,
            &JobFilter {
                order: JobOrder::Name,
                ..JobFilter::default()
            },
            Paging::new(2, 1),
        )
        .await
        .unwrap();
    assert_eq!(by_name.total, 3);
    assert_eq!(
        by_name
            .items
            .iter()
            .map(|j| j.name.as_str())
            .collect::<Vec<_>>(),
        vec!["Daily News", "Prices 50%_off"],
        "second page of books, Daily News, Prices (case-insensitive on both backends)"
    );

    let everyone = store
        .list_jobs(Scope::all(), &JobFilter::default(), Paging::default())
        .await
        .unwrap();
    assert_eq!(everyone.total, 4);

    // Updates and deletes are scoped too.
    let mut changed = job_in("Daily News v2", &["title"]);
    changed.description = None;
    assert!(matches!(
        store.update_job(b, news.job_id, &changed).await,
        Err(StoreError::NotFound)
    ));
    let updated = store.update_job(a, news.job_id, &changed).await.unwrap();
    assert_eq!(updated.name, "Daily News v2");
    assert_eq!(updated.description, None);
    assert_eq!(updated.created_at, news.created_at);
    assert!(updated.updated_at >= news.updated_at);
    let by_admin = store
        .update_job(Scope::all(), bobs.job_id, &changed)
        .await
        .unwrap();
    assert_eq!(
        by_admin.owner_id, bob.user_id,
        "an admin edit keeps the owner"
    );

    assert!(matches!(
        store.delete_job(b, news.job_id).await,
        Err(StoreError::NotFound)
    ));
    store.delete_job(a, news.job_id).await.unwrap();
    assert!(matches!(
        store.get_job(Scope::all(), news.job_id).await,
        Err(StoreError::NotFound)
    ));

    // A job needs an existing owner.
    let err = store
        .create_job(Uuid::now_v7(), &job_in("orphan", &["x"]))
        .await
        .unwrap_err();
    assert!(
        matches!(err, StoreError::MissingReference { .. }),
        "{err:?}"
    );
}

/// A conditional write lands only on the version it names, and only once: the second of two
/// writers that read the same version finds the job changed.
async fn jobs_written_only_if_unchanged(db: &TestDb) {
    let store = &db.store;
    let alice = user(store, "alice@example.com", Role::User).await;
    let bob = user(store, "bob@example.com", Role::User).await;
    let a = Scope::member(alice.user_id);
    let read = store
        .create_job(alice.user_id, &job_in("News", &["title"]))
        .await
        .unwrap();
    // Stored times round-trip exactly, which the comparison relies on.
    assert_eq!(
        store.get_job(a, read.job_id).await.unwrap().updated_at,
        read.updated_at
    );
    tokio::time::sleep(std::time::Duration::from_millis(2)).await;

    let first = store
        .update_job_if(
            a,
            read.job_id,
            &job_in("First", &["title"]),
            Some(read.updated_at),
        )
        .await
        .unwrap()
        .expect("the version read is current");
    assert_eq!(first.name, "First");
    assert_ne!(first.updated_at, read.updated_at);
    let second = store
        .update_job_if(
            a,
            read.job_id,
            &job_in("Second", &["title"]),
            Some(read.updated_at),
        )
        .await
        .unwrap();
    assert!(second.is_none(), "a stale version writes nothing");
    assert_eq!(store.get_job(a, read.job_id).await.unwrap().name, "First");
    // Another user's job is not found whatever the version.
    assert!(
        store
            .update_job_if(
                Scope::member(bob.user_id),
                read.job_id,
                &job_in("Bob", &["x"]),
                Some(first.updated_at)
            )
            .await
            .unwrap()
            .is_none()
    );
    // Without a version the write is unconditional, as before.
    let third = store
        .update_job_if(a, read.job_id, &job_in("Third", &["title"]), None)
        .await
        .unwrap()
        .expect("unconditional");

    assert_eq!(
        store
            .delete_job_if(a, read.job_id, Some(first.updated_at))
            .await
            .unwrap(),
        0,
        "a stale delete deletes nothing"
    );
    assert_eq!(
        store
            .delete_job_if(a, read.job_id, Some(third.updated_at))
            .await
            .unwrap(),
        1
    );
    assert!(matches!(
        store.get_job(a, read.job_id).await,
        Err(StoreError::NotFound)
    ));
}
