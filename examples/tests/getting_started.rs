use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use dockside::{docker_test, Container};

#[docker_test(dockerfile = "fixtures/web/Dockerfile", ports = [8080])]
fn serves_http(web: Container) -> io::Result<()> {
    // By now the image is built, the container runs and its server accepts on port 8080.
    let mut stream = TcpStream::connect(web.addr(8080))?;
    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    stream.write_all(b"GET / HTTP/1.0\r\n\r\n")?;
    let mut response = String::new();
    stream.read_to_string(&mut response)?;
    assert!(response.starts_with("HTTP/1.0 200 OK"), "{response}");
    Ok(())
}
