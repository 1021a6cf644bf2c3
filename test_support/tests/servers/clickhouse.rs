use test_support::ClickHouse;

async fn table_with_one_row(clickhouse: &ClickHouse) -> String {
    let database = clickhouse.create_database().await;
    clickhouse
        .query(&format!(
            "CREATE TABLE {database}.events (kind LowCardinality(String), at DateTime) ENGINE = MergeTree ORDER BY at"
        ))
        .await;
    clickhouse
        .query(&format!(
            "INSERT INTO {database}.events VALUES ('message.created', now())"
        ))
        .await;
    database
}

#[tokio::test]
async fn the_shared_clickhouse_answers_queries_in_a_database_per_test() {
    let clickhouse = ClickHouse::shared().await;
    let database = table_with_one_row(clickhouse).await;
    assert_eq!(
        clickhouse
            .query(&format!("SELECT count() FROM {database}.events"))
            .await
            .trim(),
        "1"
    );
    let error = clickhouse
        .try_query("SELECT nonsense(")
        .await
        .expect_err("a syntax error");
    assert!(error.contains("Syntax error"), "{error}");
}

#[tokio::test]
async fn a_dedicated_clickhouse_keeps_its_data_across_stop_and_start() {
    let clickhouse = ClickHouse::dedicated().await;
    let database = table_with_one_row(&clickhouse).await;

    clickhouse.stop().await;
    assert!(
        clickhouse.try_query("SELECT 1").await.is_err(),
        "still answering after stop"
    );
    clickhouse.start().await;

    assert_eq!(
        clickhouse
            .query(&format!("SELECT count() FROM {database}.events"))
            .await
            .trim(),
        "1"
    );
}
