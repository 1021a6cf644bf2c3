use chrono::Utc;

use super::*;
use crate::events::ClientEventType;

fn event(id: Uuid) -> Pending {
    let now = Utc::now();
    let (event_date, event_time, event_millis) = crate::events::row::split_time(now);
    let row = EventRow {
        event_id: id,
        event_date,
        event_time,
        event_millis,
        received_at: now,
        source: "http".into(),
        event_type: "app_start".into(),
        workspace_id: 1,
        user_id: 1,
        chat_id: 0,
        chat_type: String::new(),
        client_id: "c".into(),
        session_id: String::new(),
        app_version: String::new(),
        os: String::new(),
        os_version: String::new(),
        arch: String::new(),
        locale: String::new(),
        device: String::new(),
        properties: "{}".into(),
    };
    Pending::new(
        row,
        Source::Http,
        EventType::Client(ClientEventType::AppStart),
    )
}

fn events(n: usize) -> Vec<Pending> {
    (0..n).map(|_| event(Uuid::now_v7())).collect()
}

#[test]
fn a_request_that_does_not_fit_is_refused_whole() {
    let buffer = Buffer::new(5, 100, 100);
    assert_eq!(buffer.try_accept(events(3)).map(|a| a.len()), Ok(3));
    assert_eq!(buffer.try_accept(events(3)), Err(BufferFull::Full));
    assert_eq!(buffer.pending(), 3);
    assert_eq!(buffer.try_accept(events(2)).map(|a| a.len()), Ok(2));
}

#[test]
fn written_events_free_their_room() {
    let buffer = Buffer::new(4, 3, 100);
    let _ = buffer.try_accept(events(4));
    let batch = buffer.take_batch();
    assert_eq!(batch.len(), 3);
    buffer.written(&batch);
    assert_eq!(buffer.pending(), 1);
    assert_eq!(buffer.try_accept(events(3)).map(|a| a.len()), Ok(3));
}

#[test]
fn the_same_id_is_admitted_once_whether_buffered_or_written() {
    let buffer = Buffer::new(10, 10, 100);
    let id = Uuid::now_v7();
    let admissions = buffer.try_accept(vec![event(id), event(id)]);
    assert_eq!(
        admissions,
        Ok(vec![Admission::Queued, Admission::Duplicate])
    );
    assert_eq!(buffer.pending(), 1);
    let batch = buffer.take_batch();
    buffer.written(&batch);
    assert_eq!(
        buffer.try_accept(vec![event(id)]),
        Ok(vec![Admission::Duplicate])
    );
    assert_eq!(buffer.pending(), 0);
}

#[tokio::test]
async fn a_waiter_learns_when_its_event_is_written() {
    let buffer = Buffer::new(10, 10, 100);
    let id = Uuid::now_v7();
    let mut first = buffer
        .accept_and_wait(event(id))
        .await
        .unwrap_or_else(|err| panic!("{err}"));
    // A redelivery of a buffered event waits for the buffered copy.
    let mut second = buffer
        .accept_and_wait(event(id))
        .await
        .unwrap_or_else(|err| panic!("{err}"));
    assert!(first.try_recv().is_err() && second.try_recv().is_err());
    let batch = buffer.take_batch();
    assert_eq!(batch.len(), 1);
    buffer.written(&batch);
    assert_eq!((first.await, second.await), (Ok(()), Ok(())));
    let again = buffer
        .accept_and_wait(event(id))
        .await
        .unwrap_or_else(|err| panic!("{err}"));
    assert_eq!(again.await, Ok(()));
}

#[tokio::test]
async fn a_waiter_waits_for_room() {
    let buffer = Buffer::new(1, 10, 100);
    let _ = buffer.try_accept(events(1));
    let waiting = buffer.accept_and_wait(event(Uuid::now_v7()));
    tokio::pin!(waiting);
    assert!(futures::poll!(&mut waiting).is_pending());
    let batch = buffer.take_batch();
    buffer.written(&batch);
    let admitted = tokio::time::timeout(std::time::Duration::from_secs(5), waiting).await;
    assert!(matches!(admitted, Ok(Ok(_))));
}

#[tokio::test]
async fn closing_tells_every_waiter_its_event_was_not_written() {
    let buffer = Buffer::new(10, 10, 100);
    let written = buffer
        .accept_and_wait(event(Uuid::now_v7()))
        .await
        .unwrap_or_else(|err| panic!("{err}"));
    assert_eq!(buffer.close(), 1);
    assert!(written.await.is_err());
    assert_eq!(buffer.try_accept(events(1)), Err(BufferFull::Closed));
    assert!(buffer.accept_and_wait(event(Uuid::now_v7())).await.is_err());
}

#[test]
fn a_full_batch_is_announced() {
    let buffer = Buffer::new(10, 2, 100);
    let _ = buffer.try_accept(events(1));
    assert!(!buffer.has_full_batch());
    let _ = buffer.try_accept(events(1));
    assert!(buffer.has_full_batch());
}

#[test]
fn an_id_is_a_duplicate_only_within_its_workspace_and_source() {
    let buffer = Buffer::new(10, 100, 100);
    let id = Uuid::now_v7();
    let mut other_workspace = event(id);
    other_workspace.row.workspace_id = 2;
    let mut domain = event(id);
    domain.source = Source::Nats;
    assert_eq!(
        buffer.try_accept(vec![event(id), other_workspace, domain, event(id)]),
        Ok(vec![
            Admission::Queued,
            Admission::Queued,
            Admission::Queued,
            Admission::Duplicate
        ])
    );
    let batch = buffer.take_batch();
    buffer.written(&batch);
    let mut late_domain = event(id);
    late_domain.source = Source::Nats;
    late_domain.row.workspace_id = 3;
    assert_eq!(
        buffer.try_accept(vec![event(id), late_domain]),
        Ok(vec![Admission::Duplicate, Admission::Queued])
    );
}
