//! One PostgreSQL server for every test of the run: the [`TestDb`] fixture's container is
//! `shared`, so the first test that needs it starts it, the others (in other nextest processes
//! or other `cargo test` threads) get the same server, ready, and it is removed after the run.
//! A server that takes seconds to start costs them once per run instead of once per test.
//!
//! The price is isolation: tests see each other's state in a shared server. So each test works
//! in a database of its own, which the fixture's `setup` creates under a name no other test
//! picks; the tests below all create a table of the same name and still see only their rows.

use std::error::Error;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use dockside::{docker_test, Container, ContainerSpec, Fixture};
use tokio::time::timeout;
use tokio_postgres::{Client, NoTls};

type BoxError = Box<dyn Error + Send + Sync>;

/// How long the whole conversation with the server may take: a test fails, it never hangs.
const CONVERSATION: Duration = Duration::from_secs(30);

/// A database of this test's own on the run's shared PostgreSQL server, and a client connected
/// to it.
pub struct TestDb {
    pub client: Client,
    /// The database's name: `test_<pid>_<n>`.
    pub name: String,
    pub container: Container,
}

impl Fixture for TestDb {
    fn container() -> ContainerSpec {
        ContainerSpec::new("pg")
            .dockerfile("fixtures/postgres/Dockerfile")
            .port(5432)
            .shared()
    }

    /// Creates the test's database on the shared server and connects to it. Retried by
    /// dockside while the server is still starting.
    async fn setup(container: Container) -> Result<Self, BoxError> {
        // The pid tells this process from the run's others, the counter this test from the
        // process's other threads.
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let name = format!(
            "test_{}_{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        let admin = connect(&container, "postgres").await?;
        // A name of digits and underscores only: nothing to quote.
        admin
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .await?;
        let client = connect(&container, &name).await?;
        Ok(TestDb {
            client,
            name,
            container,
        })
    }
}

/// A client connected to `database` on the server in `container`, its connection running on
/// the test's runtime.
async fn connect(container: &Container, database: &str) -> Result<Client, BoxError> {
    let addr = container.addr(5432);
    // The image trusts every connection, so no password (see its Dockerfile).
    let config = format!(
        "host={} port={} user=postgres dbname={database}",
        addr.ip(),
        addr.port()
    );
    let (client, connection) = timeout(
        Duration::from_secs(5),
        tokio_postgres::connect(&config, NoTls),
    )
    .await??;
    tokio::spawn(connection);
    Ok(client)
}

/// Creates `notes` in the test's database, writes `bodies` and reads back what the table holds.
async fn notes_after_writing(db: &TestDb, bodies: &[&str]) -> Result<Vec<String>, BoxError> {
    let conversation = async {
        db.client
            .batch_execute("CREATE TABLE notes (id serial PRIMARY KEY, body text NOT NULL)")
            .await?;
        for body in bodies {
            db.client
                .execute("INSERT INTO notes (body) VALUES ($1)", &[body])
                .await?;
        }
        let rows = db
            .client
            .query("SELECT body FROM notes ORDER BY id", &[])
            .await?;
        Ok::<_, BoxError>(rows.iter().map(|row| row.get(0)).collect())
    };
    timeout(CONVERSATION, conversation)
        .await
        .map_err(|_| format!("postgres did not finish within {CONVERSATION:?}"))?
}

#[docker_test]
async fn first_test_sees_only_its_rows(db: TestDb) -> Result<(), BoxError> {
    let notes = notes_after_writing(&db, &["first"]).await?;
    assert_eq!(notes, ["first"], "database {}", db.name);
    Ok(())
}

#[docker_test]
async fn second_test_sees_only_its_rows(db: TestDb) -> Result<(), BoxError> {
    let notes = notes_after_writing(&db, &["second", "and more"]).await?;
    assert_eq!(notes, ["second", "and more"], "database {}", db.name);
    Ok(())
}

/// The databases are separate, the server is one: every test of the run sees the others'
/// databases in the catalogue.
#[docker_test]
async fn the_server_is_the_runs(db: TestDb) -> Result<(), BoxError> {
    let row = timeout(
        CONVERSATION,
        db.client.query_one(
            "SELECT count(*) FROM pg_database WHERE datname = $1",
            &[&db.name],
        ),
    )
    .await
    .map_err(|_| format!("postgres did not answer within {CONVERSATION:?}"))??;
    assert_eq!(row.get::<_, i64>(0), 1);
    Ok(())
}
