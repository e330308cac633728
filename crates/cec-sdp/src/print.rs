//! Printing: RFC 8866 line order, CRLF line ends. Verbatim lines are emitted at their
//! RFC position, keeping their relative order.

use std::fmt::{self, Write};

use crate::model::{MediaDescription, RawLine, SessionDescription};

fn raw_lines(
    f: &mut fmt::Formatter<'_>,
    lines: &[RawLine],
    ranks: std::ops::RangeInclusive<u8>,
) -> fmt::Result {
    for l in lines.iter().filter(|l| ranks.contains(&l.rank())) {
        write!(f, "{}={}\r\n", l.kind, l.value)?;
    }
    Ok(())
}

impl fmt::Display for SessionDescription {
    /// Prints the whole body with CRLF line ends.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let o = &self.origin;
        f.write_str("v=0\r\n")?;
        write!(
            f,
            "o={} {} {} {} {} {}\r\n",
            o.username, o.session_id, o.session_version, o.net_type, o.addr_type, o.address
        )?;
        match self.session_name.as_deref() {
            Some("") => f.write_str("s= \r\n")?,
            Some(s) => write!(f, "s={s}\r\n")?,
            None => {}
        }
        raw_lines(f, &self.other_lines, 0..=6)?;
        for c in &self.connections {
            write!(f, "c={c}\r\n")?;
        }
        for b in &self.bandwidths {
            write!(f, "b={}:{}\r\n", b.bw_type, b.bandwidth)?;
        }
        raw_lines(f, &self.other_lines, 7..=8)?;
        // Verbatim `t=` lines (unparseable) and `r=` lines that had no `t=` before them go
        // first: printed after a typed `t=`, an orphan `r=` would re-parse as its repeat.
        raw_lines(f, &self.other_lines, 9..=10)?;
        for t in &self.timing {
            write!(f, "t={} {}\r\n", t.start, t.stop)?;
            for r in &t.repeats {
                write!(f, "r={r}\r\n")?;
            }
        }
        raw_lines(f, &self.other_lines, 11..=u8::MAX)?;
        for a in &self.attributes {
            write!(f, "a={a}\r\n")?;
        }
        for m in &self.media {
            write!(f, "{m}")?;
        }
        Ok(())
    }
}

impl fmt::Display for MediaDescription {
    /// Prints the `m=` section with CRLF line ends.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "m={} {}", self.media, self.port)?;
        if let Some(n) = self.port_count {
            write!(f, "/{n}")?;
        }
        write!(f, " {}", self.protocol)?;
        for fmt in &self.formats {
            f.write_char(' ')?;
            f.write_str(fmt)?;
        }
        f.write_str("\r\n")?;
        raw_lines(f, &self.other_lines, 0..=6)?;
        for c in &self.connections {
            write!(f, "c={c}\r\n")?;
        }
        for b in &self.bandwidths {
            write!(f, "b={}:{}\r\n", b.bw_type, b.bandwidth)?;
        }
        raw_lines(f, &self.other_lines, 7..=u8::MAX)?;
        for a in &self.attributes {
            write!(f, "a={a}\r\n")?;
        }
        Ok(())
    }
}
