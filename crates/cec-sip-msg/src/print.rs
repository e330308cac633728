//! Serialisation. Values are bytes (display names may be Latin-1), so
//! printing goes to `Vec<u8>`; `Display` is a lossy convenience for logs.

use bytes::Bytes;

use crate::header::HeaderName;
use crate::message::{Message, StartLine};

/// Types that print to their wire form.
pub trait Print {
    /// Appends the wire form to `out`.
    fn write_to(&self, out: &mut Vec<u8>);

    /// The wire form as a new vector.
    fn to_vec(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.write_to(&mut out);
        out
    }
}

macro_rules! display_via_print {
    ($($t:ty),*) => {
        $(impl std::fmt::Display for $t {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                let v = crate::print::Print::to_vec(self);
                f.write_str(&String::from_utf8_lossy(&v))
            }
        })*
    };
}
pub(crate) use display_via_print;

crate::print::display_via_print!(
    crate::header::CSeq,
    crate::header::RAck,
    crate::header::MediaType,
    crate::header::SessionExpires,
    crate::header::MinSe,
    crate::header::RetryAfter,
    crate::header::Reason,
    crate::header::Warning,
    crate::header::AuthValue
);

impl Message {
    /// Appends the wire form. Unmodified headers and start lines print
    /// byte-exact. Content-Length is corrected to the body length when the
    /// header is present and wrong, and added when the body was set through
    /// the API (or the message was built from scratch).
    pub fn write_to(&self, out: &mut Vec<u8>) {
        out.reserve(self.estimated_len());
        self.write_start_line(out);
        let body_len = self.body().len();
        let mut saw_cl = false;
        for h in self.headers() {
            if *h.name() == HeaderName::ContentLength {
                saw_cl = true;
                if crate::text::parse_u32(h.value()).and_then(|v| usize::try_from(v).ok())
                    != Some(body_len)
                {
                    out.extend_from_slice(format!("Content-Length: {body_len}\r\n").as_bytes());
                    continue;
                }
            }
            out.extend_from_slice(h.raw_line());
            out.extend_from_slice(b"\r\n");
        }
        if !saw_cl && self.adds_content_length() {
            out.extend_from_slice(format!("Content-Length: {body_len}\r\n").as_bytes());
        }
        out.extend_from_slice(b"\r\n");
        out.extend_from_slice(self.body());
    }

    /// The wire form.
    pub fn to_bytes(&self) -> Bytes {
        let mut out = Vec::new();
        self.write_to(&mut out);
        Bytes::from(out)
    }

    fn estimated_len(&self) -> usize {
        self.headers()
            .iter()
            .map(|h| h.raw_line().len() + 2)
            .sum::<usize>()
            + self.body().len()
            + 128
    }

    fn write_start_line(&self, out: &mut Vec<u8>) {
        if let Some(raw) = self.raw_start_line() {
            out.extend_from_slice(raw);
            out.extend_from_slice(b"\r\n");
            return;
        }
        match self.start_line() {
            StartLine::Request(r) => {
                out.extend_from_slice(r.method.as_bytes());
                out.push(b' ');
                r.uri.write_to(out);
                out.extend_from_slice(b" SIP/2.0\r\n");
            }
            StartLine::Response(s) => {
                out.extend_from_slice(format!("SIP/2.0 {:03} ", s.code).as_bytes());
                // A reason phrase cannot hold CR or LF.
                out.extend(
                    s.reason
                        .iter()
                        .map(|&b| if b == b'\r' || b == b'\n' { b' ' } else { b }),
                );
                out.extend_from_slice(b"\r\n");
            }
        }
    }
}

impl std::fmt::Display for Message {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&String::from_utf8_lossy(&self.to_bytes()))
    }
}
