//! One leader per task across processes: on PostgreSQL a second process is refused while the
//! first leads and takes over once the first lets go (or its session ends); a SQLite file has
//! one process, which always leads.

use grandma_store::Backend;

use crate::common::TestDb;

store_test!(one_process_leads_a_task);

async fn one_process_leads_a_task(db: &TestDb) {
    let first = db.store.clone();
    let second = db.another_store().await;
    let mut lead = first
        .try_lead("backup")
        .await
        .unwrap()
        .expect("nobody leads yet");
    assert_eq!(lead.name(), "backup");
    assert!(lead.still_held().await);
    let other = second.try_lead("backup").await.unwrap();
    let mut unrelated = second
        .try_lead("something else")
        .await
        .unwrap()
        .expect("tasks are independent");
    assert!(unrelated.still_held().await);
    match db.store.backend() {
        Backend::Sqlite => {
            assert!(other.is_some(), "one process: it always leads");
            return;
        }
        Backend::Postgres => assert!(other.is_none(), "the first process leads"),
    }
    // Asking again does not steal it, and the leader keeps it.
    assert!(second.try_lead("backup").await.unwrap().is_none());
    assert!(lead.still_held().await);

    // Dropped (a process that dies): the session ends, and the other process takes over.
    drop(lead);
    let mut taken = None;
    for _ in 0..100 {
        taken = second.try_lead("backup").await.unwrap();
        if taken.is_some() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let mut taken = taken.expect("the second process took over");
    assert!(taken.still_held().await);
    assert!(first.try_lead("backup").await.unwrap().is_none());
    taken.release().await;
    let back = first.try_lead("backup").await.unwrap();
    assert!(back.is_some(), "released at once");
    second.close().await;
}
