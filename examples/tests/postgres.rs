//! A real PostgreSQL server: Debian's postgresql-15, built from `fixtures/postgres/Dockerfile`,
//! used through the tokio-postgres client.
//!
//! PostgreSQL listens on its port before it accepts queries, so the default readiness (the
//! server accepts TCP connections on every port in `ports`) is not enough: a query sent then
//! fails with "FATAL: the database system is starting up". The server says in its log when it
//! is ready, and the test waits for that line.

use std::error::Error;
use std::time::Duration;

use dockside::{docker_test, Container};
use tokio::time::timeout;
use tokio_postgres::NoTls;

/// How long the whole conversation with the server may take: a test fails, it never hangs.
const CONVERSATION: Duration = Duration::from_secs(30);

/// Creates a table, inserts rows and reads them back.
#[docker_test(
    dockerfile = "fixtures/postgres/Dockerfile",
    ports = [5432],
    wait = log("database system is ready to accept connections")
)]
async fn stores_and_reads_back_rows(db: Container) -> Result<(), Box<dyn Error + Send + Sync>> {
    let addr = db.addr(5432);
    let conversation = async {
        // The image trusts every connection, so no password (see its Dockerfile).
        let config = format!("host={} port={} user=postgres", addr.ip(), addr.port());
        let (client, connection) = tokio_postgres::connect(&config, NoTls).await?;
        // The connection drives the socket; if it fails, the client's calls fail with it.
        tokio::spawn(connection);

        client
            .batch_execute("CREATE TABLE guests (id serial PRIMARY KEY, name text NOT NULL)")
            .await?;
        for name in ["ada", "grace"] {
            client
                .execute("INSERT INTO guests (name) VALUES ($1)", &[&name])
                .await?;
        }
        let rows = client
            .query("SELECT id, name FROM guests ORDER BY id", &[])
            .await?;
        let guests: Vec<(i32, String)> = rows.iter().map(|row| (row.get(0), row.get(1))).collect();
        assert_eq!(guests, [(1, "ada".to_owned()), (2, "grace".to_owned())]);
        Ok::<_, Box<dyn Error + Send + Sync>>(())
    };
    timeout(CONVERSATION, conversation)
        .await
        .map_err(|_| format!("postgres at {addr} did not finish within {CONVERSATION:?}"))?
}
