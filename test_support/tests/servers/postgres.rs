use sqlx::{Connection, PgConnection, Row};
use test_support::Postgres;

async fn connect(url: &str) -> PgConnection {
    PgConnection::connect(url)
        .await
        .unwrap_or_else(|e| panic!("connect to {url}: {e}"))
}

async fn count_rows(url: &str) -> i64 {
    let mut connection = connect(url).await;
    let row = sqlx::query("SELECT count(*) FROM notes")
        .fetch_one(&mut connection)
        .await
        .expect("count notes");
    row.get(0)
}

#[tokio::test]
async fn a_test_database_on_the_shared_server_is_usable_and_dropped_with_its_guard() {
    let postgres = Postgres::shared().await;
    let database = postgres.create_database().await;
    assert!(database.url.ends_with(&format!("/{}", database.name)));
    let mut connection = connect(&database.url).await;
    sqlx::query("CREATE TABLE notes (body text)")
        .execute(&mut connection)
        .await
        .expect("create table");
    sqlx::query("INSERT INTO notes VALUES ('hello')")
        .execute(&mut connection)
        .await
        .expect("insert");
    connection.close().await.expect("close");
    assert_eq!(count_rows(&database.url).await, 1);

    let name = database.name.clone();
    drop(database);
    if std::env::var("FECHATTER_TEST_KEEP").is_ok_and(|v| v == "1") {
        return; // kept for debugging on purpose
    }
    let mut admin = connect(&postgres.url("postgres")).await;
    let left: i64 = sqlx::query("SELECT count(*) FROM pg_database WHERE datname = $1")
        .bind(&name)
        .fetch_one(&mut admin)
        .await
        .expect("query pg_database")
        .get(0);
    assert_eq!(left, 0, "database {name} was not dropped");
}

#[tokio::test]
async fn a_dedicated_postgres_keeps_its_port_and_data_across_stop_and_start() {
    let postgres = Postgres::dedicated().await;
    let port = postgres.port();
    let database = postgres.create_database().await;
    let mut connection = connect(&database.url).await;
    sqlx::query("CREATE TABLE notes (body text)")
        .execute(&mut connection)
        .await
        .expect("create table");
    sqlx::query("INSERT INTO notes VALUES ('kept')")
        .execute(&mut connection)
        .await
        .expect("insert");
    // Left open on purpose: a fast shutdown must not wait for clients.

    postgres.stop().await;
    assert!(
        PgConnection::connect(&database.url).await.is_err(),
        "still answering after stop"
    );
    postgres.start().await;

    assert_eq!(postgres.port(), port);
    assert_eq!(count_rows(&database.url).await, 1);
}
