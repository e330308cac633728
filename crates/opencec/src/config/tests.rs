//! Configuration loading, overrides and validation.

use super::*;

fn load(text: &str, env: &[(&str, &str)]) -> Result<Config, ConfigError> {
    Config::from_sources(
        text,
        "test.toml",
        env.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
    )
}

#[test]
fn defaults_match_the_documented_contract() {
    let config = load("", &[]).expect("defaults are valid");
    assert_eq!(config.sip.listen, ["udp:0.0.0.0:5060", "tcp:0.0.0.0:5060"]);
    assert_eq!(config.media.rtp_ports, "20000-29999");
    assert_eq!(config.http.listen, "0.0.0.0:8080");
    assert_eq!(config.database.url, "sqlite://data/opencec.db");
    assert_eq!(config.sip_listeners().len(), 2);
}

#[test]
fn environment_overrides_file_values() {
    let config = load(
        "[http]\nlisten = \"127.0.0.1:1\"\n",
        &[
            ("OPENCEC_HTTP__LISTEN", "127.0.0.1:9090"),
            (
                "OPENCEC_SIP__LISTEN",
                "udp:127.0.0.1:5070, tcp:127.0.0.1:5070",
            ),
            ("OPENCEC_MEDIA__RTP_PORTS", "30000-30100"),
            ("UNRELATED", "x"),
        ],
    )
    .expect("valid");
    assert_eq!(config.http.listen, "127.0.0.1:9090");
    assert_eq!(
        config.sip.listen,
        ["udp:127.0.0.1:5070", "tcp:127.0.0.1:5070"]
    );
    assert_eq!(config.media.rtp_ports, "30000-30100");
}

#[test]
fn errors_name_the_field() {
    let err = load("[sip]\nlisten = [\"sctp:1.2.3.4:5060\"]\n", &[]).unwrap_err();
    assert!(err.to_string().starts_with("sip.listen[0]:"), "{err}");
    let err = load("[media]\nrtp_ports = \"3000-2000\"\n", &[]).unwrap_err();
    assert!(err.to_string().starts_with("media.rtp_ports:"), "{err}");
    let err = load("[sip]\nlisten = [\"tls:0.0.0.0:5061\"]\n", &[]).unwrap_err();
    assert!(err.to_string().contains("[sip.tls]"), "{err}");
    let err = load("[database]\nurl = \"mysql://x\"\n", &[]).unwrap_err();
    assert!(err.to_string().starts_with("database.url:"), "{err}");
}

#[test]
fn unknown_keys_and_bad_syntax_are_rejected() {
    let err = load("[sip]\nlisen = []\n", &[]).unwrap_err();
    assert!(err.to_string().contains("lisen"), "{err}");
    assert!(matches!(
        load("[sip\n", &[]).unwrap_err(),
        ConfigError::Syntax { .. }
    ));
}

#[test]
fn database_passwords_are_redacted_in_summaries() {
    assert_eq!(
        redact_url("postgres://cec:secret@db/opencec"),
        "postgres://***@db/opencec"
    );
    assert_eq!(redact_url("sqlite://data/x.db"), "sqlite://data/x.db");
}

#[test]
fn echo_test_defaults_and_overrides() {
    let config = load("", &[]).expect("defaults");
    assert_eq!(config.sip.echo_number, "echo");
    assert_eq!(config.sip.echo_ring_ms, 1000);
    assert_eq!(config.sip.echo_max_duration_s, 120);
    let config = load(
        "[sip]\necho_number = \"*43\"\necho_ring_ms = 0\n",
        &[("OPENCEC_SIP__ECHO_MAX_DURATION_S", "3600")],
    )
    .expect("valid");
    assert_eq!(config.sip.echo_number, "*43");
    assert_eq!(config.sip.echo_ring_ms, 0);
    assert_eq!(config.sip.echo_max_duration_s, 3600);
    // Empty disables the echo test and is valid.
    assert!(load("[sip]\necho_number = \"\"\n", &[]).is_ok());
}

#[test]
fn echo_test_values_out_of_range_name_the_field() {
    for (text, field) in [
        ("echo_ring_ms = 10001", "sip.echo_ring_ms:"),
        ("echo_max_duration_s = 0", "sip.echo_max_duration_s:"),
        ("echo_max_duration_s = 3601", "sip.echo_max_duration_s:"),
        ("echo_number = \"ec ho\"", "sip.echo_number:"),
        ("echo_number = \"echo@host\"", "sip.echo_number:"),
        ("echo_number = \"ec;ho\"", "sip.echo_number:"),
    ] {
        let err = load(&format!("[sip]\n{text}\n"), &[]).unwrap_err();
        assert!(err.to_string().starts_with(field), "{text}: {err}");
    }
    assert!(load("[sip]\necho_ring_ms = 10000\n", &[]).is_ok());
    assert!(load("[sip]\necho_max_duration_s = 1\n", &[]).is_ok());
    // A user with the echo number's name could never be called: refused.
    let err = load(
        "[sip]\necho_number = \"1001\"\n[[sip.users]]\nuser = \"1001\"\npassword = \"x\"\n",
        &[],
    )
    .unwrap_err();
    assert!(err.to_string().starts_with("sip.echo_number:"), "{err}");
}

#[test]
fn media_io_defaults_to_auto_and_takes_the_documented_values() {
    assert_eq!(load("", &[]).unwrap().media.io, MediaIo::Auto);
    let config = load("[media]\nio = \"epoll\"\n", &[]).unwrap();
    assert_eq!(config.media.io, MediaIo::Epoll);
    let config = load("", &[("OPENCEC_MEDIA__IO", "io_uring")]).unwrap();
    assert_eq!(config.media.io, MediaIo::IoUring);
    let err = load("[media]\nio = \"dpdk\"\n", &[])
        .unwrap_err()
        .to_string();
    assert!(err.contains("io") && err.contains("epoll"), "{err}");
}
