//! A real PostgreSQL server: Debian's postgresql-15, built from `fixtures/postgres/Dockerfile`,
//! used through the tokio-postgres client.
//!
//! PostgreSQL listens on its port before it accepts queries, so the default readiness (the
//! server accepts TCP connections on every port in `ports`) is not enough: a query sent then
//! fails with "FATAL: the database system is starting up". Two answers, both here:
//!
//! - the [`Pg`] fixture: its `setup` connects, and dockside retries it until it succeeds, so
//!   the test receives a connected client (`db: Pg`);
//! - with a plain `Container`, wait for the server's own log line (`wait = log(...)`).

use std::error::Error;
use std::time::Duration;

use dockside::{docker_test, Container, ContainerSpec, Fixture};
use tokio::time::timeout;
use tokio_postgres::NoTls;

type BoxError = Box<dyn Error + Send + Sync>;

/// How long the whole conversation with the server may take: a test fails, it never hangs.
const CONVERSATION: Duration = Duration::from_secs(30);

/// A PostgreSQL server and a client connected to it.
pub struct Pg {
    pub client: tokio_postgres::Client,
    pub container: Container,
}

impl Fixture for Pg {
    /// The container a `db: Pg` parameter gets unless `#[container(...)]` says otherwise.
    fn container() -> ContainerSpec {
        ContainerSpec::new("pg")
            .dockerfile("fixtures/postgres/Dockerfile")
            .port(5432)
    }

    /// Connects; an error ("the database system is starting up") makes dockside try again.
    async fn setup(container: Container) -> Result<Self, BoxError> {
        let addr = container.addr(5432);
        // The image trusts every connection, so no password (see its Dockerfile).
        let config = format!("host={} port={} user=postgres", addr.ip(), addr.port());
        let (client, connection) = timeout(
            Duration::from_secs(5),
            tokio_postgres::connect(&config, NoTls),
        )
        .await??;
        // The connection drives the socket; it runs on dockside's runtime for the whole test.
        tokio::spawn(connection);
        Ok(Pg { client, container })
    }
}

/// The fixture in an `async fn` test: the client is connected and the server takes queries.
#[docker_test]
async fn fixture_gives_a_connected_client(db: Pg) -> Result<(), BoxError> {
    let conversation = async {
        db.client
            .batch_execute("CREATE TABLE notes (body text NOT NULL)")
            .await?;
        db.client
            .execute("INSERT INTO notes (body) VALUES ($1)", &[&"hello"])
            .await?;
        let row = db.client.query_one("SELECT body FROM notes", &[]).await?;
        assert_eq!(row.get::<_, String>(0), "hello");
        Ok::<_, BoxError>(())
    };
    timeout(CONVERSATION, conversation)
        .await
        .map_err(|_| format!("postgres did not finish within {CONVERSATION:?}"))?
}

/// The fixture in a plain `fn` test: the body brings its own runtime for the client's calls;
/// the connection keeps running on dockside's.
#[docker_test]
fn fixture_in_a_sync_test(db: Pg) -> Result<(), BoxError> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let row = runtime.block_on(async {
        timeout(CONVERSATION, db.client.query_one("SELECT 40 + 2", &[]))
            .await
            .map_err(|_| format!("postgres did not answer within {CONVERSATION:?}"))
    })??;
    assert_eq!(row.get::<_, i32>(0), 42);
    Ok(())
}

/// A fixture next to a plain container: both start together, on one private network.
#[docker_test]
async fn fixture_next_to_a_plain_container(
    db: Pg,
    #[container(dockerfile = "fixtures/redis/Dockerfile", ports = [6379])] cache: Container,
) -> Result<(), BoxError> {
    let answer = timeout(CONVERSATION, db.client.query_one("SELECT 1", &[]))
        .await
        .map_err(|_| format!("postgres did not answer within {CONVERSATION:?}"))??;
    assert_eq!(answer.get::<_, i32>(0), 1);
    // The database's container is reachable by its parameter name, `db`, on that network.
    assert_eq!(db.container.name(), "db");
    assert_ne!(cache.addr(6379), db.container.addr(5432));
    Ok(())
}

/// Without the fixture: a plain container that waits for the server's "ready" log line.
/// Creates a table, inserts rows and reads them back.
#[docker_test(
    dockerfile = "fixtures/postgres/Dockerfile",
    ports = [5432],
    wait = log("database system is ready to accept connections")
)]
async fn stores_and_reads_back_rows(db: Container) -> Result<(), BoxError> {
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
        Ok::<_, BoxError>(())
    };
    timeout(CONVERSATION, conversation)
        .await
        .map_err(|_| format!("postgres at {addr} did not finish within {CONVERSATION:?}"))?
}
