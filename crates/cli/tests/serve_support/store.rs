//! Direct access to the store the processes share: setting up users and runs, and reading what a
//! run stored.

use grandma_store::{FieldValue, JobIn, NewRun, NewUser, Paging, Role, Scope, Store, Uuid};
use serde_json::Value;

/// The store at `url`, migrated to the head revision.
pub async fn migrated_store(url: &str) -> Store {
    let store = Store::connect(url).await.expect("connect");
    store.migrate_to_head().await.expect("migrate");
    store
}

/// A plain active user (its password hash is never checked); returns its ID.
pub async fn create_user(store: &Store, email: &str) -> Uuid {
    store
        .create_user(&NewUser {
            email: grandma_store::Email::parse(email).unwrap(),
            password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".into(),
            role: Role::User,
            is_active: true,
        })
        .await
        .expect("create user")
        .user_id
}

/// Creates a job named after its config and queues a run of it; returns the run's ID.
pub async fn queue(store: &Store, owner: Uuid, config: Value) -> Uuid {
    let job = store
        .create_job(
            owner,
            &JobIn {
                name: config["name"].as_str().unwrap().to_owned(),
                description: None,
                config,
                enabled: true,
            },
        )
        .await
        .expect("create job");
    store
        .enqueue_run(Scope::all(), job.job_id, &NewRun::default())
        .await
        .expect("enqueue")
        .result_id
}

/// The first field (the title) of every item the run stored, sorted.
pub async fn stored_titles(store: &Store, result_id: Uuid) -> Vec<String> {
    let page = store
        .list_items(Scope::all(), result_id, Paging::new(1000, 0))
        .await
        .expect("items");
    let mut titles: Vec<String> = page
        .items
        .iter()
        .map(|row| match &row.data.values[0] {
            FieldValue::Text(t) => t.clone(),
            other => panic!("title is {other:?}"),
        })
        .collect();
    titles.sort();
    titles
}
