use dockside::docker_test;

struct NotAFixture;

#[docker_test]
async fn t(db: NotAFixture, #[container(image = "alpine:3")] other: String) {}

fn main() {}
