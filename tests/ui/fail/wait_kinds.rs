use dockside::{docker_test, Container};

#[docker_test(image = "alpine:3", wait = log("ready (to serve"))]
fn invalid_regex(_web: Container) {}

#[docker_test(image = "alpine:3", wait = log("ready", times = 0))]
fn zero_times(_web: Container) {}

#[docker_test(image = "alpine:3", wait = log("ready", count = 2))]
fn unknown_log_option(_web: Container) {}

#[docker_test(image = "alpine:3", wait = exec([]))]
fn empty_exec(_web: Container) {}

#[docker_test(image = "alpine:3", wait = all())]
fn empty_all(_web: Container) {}

#[docker_test(image = "alpine:3", ports = [8080], wait = all(port(8080), http(9090, "/")))]
fn all_port_not_in_ports(_web: Container) {}

fn main() {}
