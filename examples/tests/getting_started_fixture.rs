use std::error::Error;
use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use dockside::{docker_test, Container, ContainerSpec, Fixture};

/// The web server: the parameter's type says which container a test needs.
struct Web {
    container: Container,
}

impl Fixture for Web {
    fn container() -> ContainerSpec {
        ContainerSpec::new("web")
            .dockerfile("fixtures/web/Dockerfile")
            .port(8080)
    }

    async fn setup(container: Container) -> Result<Self, Box<dyn Error + Send + Sync>> {
        Ok(Web { container })
    }
}

impl Web {
    /// The response to `GET path`, status line first.
    fn get(&self, path: &str) -> io::Result<String> {
        let mut stream = TcpStream::connect(self.container.addr(8080))?;
        stream.set_read_timeout(Some(Duration::from_secs(5)))?;
        write!(stream, "GET {path} HTTP/1.0\r\n\r\n")?;
        let mut response = String::new();
        stream.read_to_string(&mut response)?;
        Ok(response)
    }
}

#[docker_test]
fn serves_http_through_a_fixture(web: Web) {
    let response = web.get("/").expect("GET / answers");
    assert!(response.starts_with("HTTP/1.0 200 OK"), "{response}");
}
