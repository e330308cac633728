//! Every RFC 4475 torture message, byte-exact, sent over UDP to the real binary running inside
//! a private network namespace (the messages name foreign hosts; nothing can leave the box even
//! if a response were misrouted). The server must stay up, give each request the answer
//! `testdata/rfc4475/INDEX.md` allows for a UAS, stay silent for responses, and still answer
//! a legitimate OPTIONS afterwards. The checks live in `interop/torture/rfc4475_udp.py`.

mod common;

use std::process::Command;

#[test]
fn rfc4475_messages_over_udp_in_a_private_network_namespace() {
    let root = common::workspace_root();
    let script = root.join("interop/torture/rfc4475_udp.py");
    let testdata = root.join("testdata/rfc4475");
    let inner = format!(
        "ip link set lo up && exec python3 {} {} {}",
        script.display(),
        env!("CARGO_BIN_EXE_opencec"),
        testdata.display()
    );
    // Root can make a network namespace directly; anyone else needs a user namespace too.
    let is_root = Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0");
    let namespaces: &[&str] = if is_root {
        &["--net"]
    } else {
        &["--user", "--map-root-user", "--net"]
    };
    let output = Command::new("timeout")
        .args(["120", "unshare"])
        .args(namespaces)
        .args(["sh", "-c", &inner])
        .output()
        .expect("run unshare (util-linux) and python3");
    let stdout = String::from_utf8_lossy(&output.stdout);
    println!("{stdout}");
    assert!(
        output.status.success(),
        "torture run failed ({:?}):\n{stdout}\n{}",
        output.status.code(),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stdout.contains("all RFC 4475 vectors handled as expected"));
    assert_eq!(
        stdout.lines().filter(|l| l.ends_with(" ok")).count(),
        50,
        "49 vectors + final OPTIONS"
    );
}
