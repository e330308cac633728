//! Parse errors: strict where it matters, with the line number; size and count limits.

use crate::{Limit, ParseError, SessionDescription};

fn err(input: &str) -> ParseError {
    match SessionDescription::parse(input) {
        Ok(sdp) => panic!("expected an error, parsed {sdp:?}"),
        Err(e) => e,
    }
}

#[test]
fn missing_version_is_an_error_on_line_1() {
    let e = err("o=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\n");
    assert_eq!(e, ParseError::MissingVersion { line: 1 });
    assert_eq!(e.line(), Some(1));
    assert_eq!(err(""), ParseError::Empty);
    assert_eq!(err("\r\n\r\n"), ParseError::Empty);
    assert!(matches!(
        err("v=1\r\n"),
        ParseError::UnsupportedVersion { line: 1, .. }
    ));
}

#[test]
fn origin_errors_name_the_line() {
    let e = err("v=0\r\ns=-\r\nt=0 0\r\nm=audio 1 RTP/AVP 0\r\n");
    assert_eq!(e, ParseError::MissingOrigin { line: 4 });
    assert_eq!(err("v=0\r\ns=-\r\n"), ParseError::MissingOrigin { line: 3 });
    let e = err("v=0\r\no=- 1 IN IP4 192.0.2.1\r\n");
    assert_eq!(
        e,
        ParseError::InvalidOrigin {
            line: 2,
            reason: "expected 6 fields"
        }
    );
    let e = err("v=0\r\no=- 12a 1 IN IP4 192.0.2.1\r\n");
    assert!(
        matches!(e, ParseError::InvalidOrigin { line: 2, .. }),
        "{e}"
    );
    let e = err("v=0\r\no=- 1 -1 IN IP4 192.0.2.1\r\n");
    assert!(
        matches!(e, ParseError::InvalidOrigin { line: 2, .. }),
        "{e}"
    );
    let e = err("v=0\r\no=- 1 1 IN IP4 a\r\no=- 1 1 IN IP4 a\r\n");
    assert_eq!(e, ParseError::Duplicate { line: 3, kind: 'o' });
    assert!(e.to_string().contains("line 3"));
}

const HEAD: &str = "v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nt=0 0\r\n";

#[test]
fn media_port_errors() {
    let e = err(&format!("{HEAD}m=audio RTP/AVP 0\r\n"));
    assert_eq!(
        e,
        ParseError::InvalidPort {
            line: 5,
            value: "RTP/AVP".into()
        }
    );
    let e = err(&format!("{HEAD}m=audio\r\n"));
    assert_eq!(
        e,
        ParseError::InvalidPort {
            line: 5,
            value: String::new()
        }
    );
    let e = err(&format!("{HEAD}m=audio 70000 RTP/AVP 0\r\n"));
    assert_eq!(
        e,
        ParseError::PortOutOfRange {
            line: 5,
            value: "70000".into()
        }
    );
    let e = err(&format!(
        "{HEAD}m=audio 99999999999999999999999 RTP/AVP 0\r\n"
    ));
    assert!(matches!(e, ParseError::PortOutOfRange { line: 5, .. }));
    let e = err(&format!("{HEAD}m=audio 5000/x RTP/AVP 0\r\n"));
    assert!(matches!(e, ParseError::InvalidPort { line: 5, .. }));
    let e = err(&format!("{HEAD}m=audio 5000\r\n"));
    assert!(matches!(e, ParseError::InvalidMedia { line: 5, .. }));
}

#[test]
fn payload_type_errors() {
    let e = err(&format!("{HEAD}m=audio 5000 RTP/AVP 0 128\r\n"));
    assert_eq!(
        e,
        ParseError::InvalidPayloadType {
            line: 5,
            value: "128".into()
        }
    );
    let e = err(&format!("{HEAD}m=audio 5000 RTP/SAVP pcma\r\n"));
    assert_eq!(
        e,
        ParseError::InvalidPayloadType {
            line: 5,
            value: "pcma".into()
        }
    );
    let ok = SessionDescription::parse(&format!("{HEAD}m=image 5000 udptl t38\r\n"));
    assert!(ok.is_ok());
    let e = err(&format!("{HEAD}m=audio 5000 RTP/AVP 8\r\nv=0\r\n"));
    assert_eq!(e, ParseError::Duplicate { line: 6, kind: 'v' });
}

#[test]
fn malformed_lines_and_control_characters() {
    assert_eq!(
        err(&format!("{HEAD}garbage\r\n")),
        ParseError::MalformedLine { line: 5 }
    );
    assert_eq!(
        err(&format!("{HEAD}1=x\r\n")),
        ParseError::MalformedLine { line: 5 }
    );
    assert_eq!(
        err(&format!("{HEAD}a=x\0y\r\n")),
        ParseError::ControlCharacter { line: 5 }
    );
    assert_eq!(
        err(&format!("{HEAD}a=x\ry\r\n")),
        ParseError::ControlCharacter { line: 5 }
    );
    let e = err(&format!("{HEAD}c=IN IP4\r\n"));
    assert!(matches!(e, ParseError::InvalidConnection { line: 5, .. }));
}

#[test]
fn size_and_count_limits() {
    let big = format!("{HEAD}{}", "a=x\r\n".repeat(14_000));
    assert!(matches!(
        err(&big),
        ParseError::TooLarge { max: 65_536, .. }
    ));
    assert!(matches!(
        SessionDescription::parse_bytes(big.as_bytes()),
        Err(ParseError::TooLarge { .. })
    ));
    let attrs = format!("{HEAD}{}", "a=x\r\n".repeat(1025));
    assert_eq!(
        err(&attrs),
        ParseError::TooMany {
            line: 1029,
            what: Limit::Attributes,
            max: 1024
        }
    );
    let media = format!("{HEAD}{}", "m=audio 0 RTP/AVP 0\r\n".repeat(65));
    assert_eq!(
        err(&media),
        ParseError::TooMany {
            line: 69,
            what: Limit::MediaSections,
            max: 64
        }
    );
    let lines = format!("{HEAD}{}", "\r\n".repeat(5000));
    assert!(matches!(
        err(&lines),
        ParseError::TooMany {
            what: Limit::Lines,
            ..
        }
    ));
    let formats = format!("{HEAD}m=image 0 udptl{}\r\n", " x".repeat(300));
    assert!(matches!(
        err(&formats),
        ParseError::TooMany {
            what: Limit::Formats,
            ..
        }
    ));
}
