//! The Flight SQL server in-process on `127.0.0.1:0`, driven by arrow-flight's own Flight SQL
//! client: DDL and writes have happened when the call that sent them returns (nothing fetched),
//! queries stream their rows and, when asked, their statistics; prepared statements bind
//! parameters; metadata lists tables; errors name what was wrong.

use std::sync::Arc;

use arrow::array::{Array, AsArray, Int64Array, RecordBatch};
use arrow::datatypes::{DataType, Field, Int64Type, Schema};
use arrow_flight::decode::DecodedPayload;
use arrow_flight::sql::CommandGetTables;
use arrow_flight::sql::client::FlightSqlServiceClient;
use arrow_flight::{FlightInfo, Ticket};
use futures::TryStreamExt;
use strata_engine::{Engine, EngineConfig, QueryStats};
use strata_flight::{RESULT_CACHE_HEADER, STATS_HEADER, ServerConfig, bind};
use tonic::transport::Channel;

/// A server on a fresh SQLite catalog, stopped when dropped.
struct TestServer {
    url: String,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    _dir: tempfile::TempDir,
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

async fn start() -> TestServer {
    let dir = tempfile::tempdir().expect("temp dir");
    let engine = Engine::open(&EngineConfig {
        catalog: format!("sqlite:{}", dir.path().join("catalog.db").display()),
        ..EngineConfig::default()
    })
    .expect("open engine");
    let config = ServerConfig {
        listen: "127.0.0.1:0".into(),
        query_log: dir.path().join("query.log").display().to_string(),
        ..ServerConfig::default()
    };
    let listening = bind(Arc::new(engine), config).await.expect("bind");
    let url = format!("http://{}", listening.addr);
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(async move {
        let _ = listening
            .serve(async {
                let _ = stopped.await;
            })
            .await;
    });
    TestServer {
        url,
        stop: Some(stop),
        _dir: dir,
    }
}

async fn connect(url: &str) -> FlightSqlServiceClient<Channel> {
    let channel = Channel::from_shared(url.to_string())
        .expect("url")
        .connect()
        .await
        .expect("connect");
    FlightSqlServiceClient::new(channel)
}

/// The rows of every endpoint of `info`, and the statistics sent after them, if any.
async fn fetch(
    client: &mut FlightSqlServiceClient<Channel>,
    info: FlightInfo,
) -> (Vec<RecordBatch>, Option<QueryStats>) {
    let mut batches = Vec::new();
    let mut stats = None;
    for endpoint in info.endpoint {
        let ticket: Ticket = endpoint.ticket.expect("ticket");
        let mut decoder = client.do_get(ticket).await.expect("do_get").into_inner();
        while let Some(data) = decoder.try_next().await.expect("stream") {
            if !data.inner.app_metadata.is_empty() {
                stats = Some(serde_json::from_slice(&data.inner.app_metadata).expect("stats json"));
            }
            if let DecodedPayload::RecordBatch(batch) = data.payload {
                batches.push(batch);
            }
        }
    }
    (batches, stats)
}

async fn query(client: &mut FlightSqlServiceClient<Channel>, sql: &str) -> Vec<RecordBatch> {
    let info = client.execute(sql.to_string(), None).await.expect(sql);
    fetch(client, info).await.0
}

fn int(batches: &[RecordBatch], column: usize) -> Vec<i64> {
    batches
        .iter()
        .flat_map(|b| {
            let c = arrow::compute::cast(b.column(column), &DataType::Int64).expect("int");
            c.as_primitive::<Int64Type>().values().to_vec()
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn flight_sql_from_ddl_to_results() {
    let server = start().await;
    let mut client = connect(&server.url).await;

    // DDL through the update path, a write through the query path that is never fetched:
    // both have happened when their call returns.
    client
        .execute_update(
            "CREATE TABLE t (ts TIMESTAMP, n BIGINT) PARTITIONED BY (day(ts))".into(),
            None,
        )
        .await
        .expect("create");
    let _never_fetched = client
        .execute(
            "INSERT INTO t VALUES (TIMESTAMP '2026-03-04 10:00:00', 1), (TIMESTAMP '2026-03-05 10:00:00', 2), (TIMESTAMP '2026-03-05 11:00:00', 3)".into(),
            None,
        )
        .await
        .expect("insert");
    let rows = query(&mut client, "SELECT count(*), sum(n) FROM t").await;
    assert_eq!((int(&rows, 0), int(&rows, 1)), (vec![3], vec![6]));

    // The statistics the CLI asks for arrive after the rows; others get none.
    let info = client
        .execute(
            "SELECT n FROM t WHERE ts >= TIMESTAMP '2026-03-05 00:00:00' ORDER BY n".into(),
            None,
        )
        .await
        .expect("query");
    let (rows, stats) = fetch(&mut client, info).await;
    assert_eq!(int(&rows, 0), vec![2, 3]);
    assert!(stats.is_none(), "statistics only when asked");
    client.set_header(STATS_HEADER, "json");
    let info = client
        .execute(
            "SELECT n FROM t WHERE ts >= TIMESTAMP '2026-03-05 00:00:00' ORDER BY n".into(),
            None,
        )
        .await
        .expect("query");
    let (rows, stats) = fetch(&mut client, info).await;
    assert_eq!(int(&rows, 0), vec![2, 3]);
    // The same query again is answered by the result cache: no file is read.
    let stats = stats.expect("statistics after the rows");
    assert_eq!(stats.result_cache.as_deref(), Some("hit"));
    assert_eq!((stats.files_scanned, stats.requests.bytes_read), (0, 0));
    client.set_header(RESULT_CACHE_HEADER, "off");
    let info = client
        .execute(
            "SELECT n FROM t WHERE ts >= TIMESTAMP '2026-03-05 00:00:00' ORDER BY n".into(),
            None,
        )
        .await
        .expect("query");
    let (rows, stats) = fetch(&mut client, info).await;
    assert_eq!(int(&rows, 0), vec![2, 3]);
    let stats = stats.expect("statistics after the rows");
    assert_eq!(stats.result_cache.as_deref(), Some("bypassed"));
    assert_eq!(
        (stats.files_scanned, stats.files_pruned, stats.files_total),
        (1, 1, 2)
    );
    // The file's bytes came from storage or, read by an earlier statement, the data cache.
    assert!(
        stats.requests.bytes_read + stats.requests.cache_hit_bytes > 0,
        "{stats:?}"
    );

    // The announced type is the coerced one: a CASE of INT and BIGINT is BIGINT, so values
    // beyond INT arrive intact (they came back as NULL when the planner's type was announced).
    let rows = query(
        &mut client,
        "SELECT CASE WHEN n > 100 THEN CAST(n AS INT) ELSE n * 10000000000 END AS k FROM t ORDER BY n",
    )
    .await;
    assert_eq!(
        int(&rows, 0),
        vec![10_000_000_000, 20_000_000_000, 30_000_000_000]
    );

    // A prepared statement with a parameter.
    let mut prepared = client
        .prepare("SELECT n FROM t WHERE n > $1 ORDER BY n".into(), None)
        .await
        .expect("prepare");
    let params = RecordBatch::try_new(
        Arc::new(Schema::new(vec![Field::new("$1", DataType::Int64, false)])),
        vec![Arc::new(Int64Array::from(vec![1]))],
    )
    .expect("params");
    prepared.set_parameters(params).expect("bind");
    let info = prepared.execute().await.expect("execute prepared");
    assert_eq!(int(&fetch(&mut client, info).await.0, 0), vec![2, 3]);

    // Metadata: the table is listed.
    let info = client
        .get_tables(CommandGetTables {
            catalog: None,
            db_schema_filter_pattern: None,
            table_name_filter_pattern: Some("t".into()),
            table_types: vec![],
            include_schema: false,
        })
        .await
        .expect("get tables");
    let tables = fetch(&mut client, info).await.0;
    let names: Vec<String> = tables
        .iter()
        .flat_map(|b| {
            let c = b.column_by_name("table_name").expect("table_name");
            let c = arrow::compute::cast(c, &DataType::Utf8).expect("text");
            let c = c.as_string::<i32>();
            (0..c.len())
                .map(|i| c.value(i).to_string())
                .collect::<Vec<_>>()
        })
        .collect();
    assert_eq!(names, vec!["t".to_string()]);

    // The management statements work over Flight SQL like any query.
    let history = query(
        &mut client,
        "SELECT count(*) FROM strata_history('t') WHERE message IN ('create table', 'insert')",
    )
    .await;
    assert_eq!(int(&history, 0), vec![2]);

    // Errors name what was wrong, with a client error status, and the server keeps serving.
    let err = client
        .execute("SELECT * FROM no_such_table".into(), None)
        .await
        .expect_err("unknown table");
    assert!(err.to_string().contains("no_such_table"), "{err}");
    let err = client
        .execute("SELEC 1".into(), None)
        .await
        .expect_err("syntax error");
    assert!(err.to_string().contains("SELEC"), "{err}");
    let rows = query(&mut client, "SELECT count(*) FROM t").await;
    assert_eq!(int(&rows, 0), vec![3]);
}
