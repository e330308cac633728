//! RTP header extensions: the raw RFC 3550 §5.3.1 block and the RFC 8285 one-byte and
//! two-byte element forms on top of it.

use crate::error::RtpError;

/// "Defined by profile" value of the RFC 8285 one-byte form.
pub const ONE_BYTE_PROFILE: u16 = 0xBEDE;
/// Mask selecting the fixed bits of the RFC 8285 two-byte form (`0x100` + 4 app bits).
pub const TWO_BYTE_PROFILE_MASK: u16 = 0xFFF0;
/// Value of the fixed bits of the RFC 8285 two-byte form.
pub const TWO_BYTE_PROFILE_VALUE: u16 = 0x1000;

/// A header extension block: the 16-bit profile field and the raw data (a multiple of 4
/// bytes, without the 4-byte extension header).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Extension<'a> {
    profile: u16,
    data: &'a [u8],
}

impl<'a> Extension<'a> {
    /// Wraps a profile value and data block.
    pub fn new(profile: u16, data: &'a [u8]) -> Self {
        Self { profile, data }
    }

    /// The "defined by profile" field.
    pub fn profile(&self) -> u16 {
        self.profile
    }

    /// The raw extension data.
    pub fn data(&self) -> &'a [u8] {
        self.data
    }

    /// Whether this is the RFC 8285 one-byte form (profile 0xBEDE).
    pub fn is_one_byte(&self) -> bool {
        self.profile == ONE_BYTE_PROFILE
    }

    /// Whether this is the RFC 8285 two-byte form (profile 0x100x).
    pub fn is_two_byte(&self) -> bool {
        self.profile & TWO_BYTE_PROFILE_MASK == TWO_BYTE_PROFILE_VALUE
    }

    /// The RFC 8285 elements, or an empty iterator when the block uses neither form.
    /// Iteration stops at the first malformed element (and at id 15 in the one-byte form,
    /// which RFC 8285 §4.2 says ends processing).
    pub fn elements(&self) -> ExtensionElements<'a> {
        let form = if self.is_one_byte() {
            Form::OneByte
        } else if self.is_two_byte() {
            Form::TwoByte
        } else {
            Form::None
        };
        ExtensionElements {
            data: self.data,
            form,
        }
    }
}

/// One RFC 8285 header extension element.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExtensionElement<'a> {
    /// Local identifier (1..=14 one-byte form, 1..=255 two-byte form).
    pub id: u8,
    /// Element data.
    pub data: &'a [u8],
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Form {
    None,
    OneByte,
    TwoByte,
}

/// Iterator over RFC 8285 elements; see [`Extension::elements`].
#[derive(Debug, Clone)]
pub struct ExtensionElements<'a> {
    data: &'a [u8],
    form: Form,
}

impl<'a> Iterator for ExtensionElements<'a> {
    type Item = ExtensionElement<'a>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            let (&first, rest) = self.data.split_first()?;
            // A zero byte is padding in both forms.
            if first == 0 {
                self.data = rest;
                continue;
            }
            let (id, len, body) = match self.form {
                Form::None => return None,
                Form::OneByte => {
                    let id = first >> 4;
                    if id == 15 {
                        self.data = &[];
                        return None;
                    }
                    (id, usize::from(first & 0x0F) + 1, rest)
                }
                Form::TwoByte => {
                    let (&len, body) = rest.split_first()?;
                    (first, usize::from(len), body)
                }
            };
            let Some(data) = body.get(..len) else {
                self.data = &[];
                return None;
            };
            self.data = body.get(len..).unwrap_or(&[]);
            return Some(ExtensionElement { id, data });
        }
    }
}

/// Builds the data block of an RFC 8285 one-byte extension (profile [`ONE_BYTE_PROFILE`]),
/// padded with zeros to a multiple of 4 bytes. Ids must be 1..=14, data 1..=16 bytes.
pub fn build_one_byte_extension(elements: &[ExtensionElement<'_>]) -> Result<Vec<u8>, RtpError> {
    let mut out = Vec::new();
    for e in elements {
        let len = e.data.len();
        if !(1..=14).contains(&e.id) || !(1..=16).contains(&len) {
            return Err(RtpError::BadExtensionElement { id: e.id, len });
        }
        // Checked above: len - 1 fits in 4 bits.
        out.push((e.id << 4) | (len as u8 - 1));
        out.extend_from_slice(e.data);
    }
    pad_to_word(&mut out);
    Ok(out)
}

/// Builds the data block of an RFC 8285 two-byte extension (profile 0x1000 plus app bits),
/// padded with zeros to a multiple of 4 bytes. Ids must be 1..=255, data 0..=255 bytes.
pub fn build_two_byte_extension(elements: &[ExtensionElement<'_>]) -> Result<Vec<u8>, RtpError> {
    let mut out = Vec::new();
    for e in elements {
        let len = u8::try_from(e.data.len()).map_err(|_| RtpError::BadExtensionElement {
            id: e.id,
            len: e.data.len(),
        })?;
        if e.id == 0 {
            return Err(RtpError::BadExtensionElement {
                id: 0,
                len: e.data.len(),
            });
        }
        out.push(e.id);
        out.push(len);
        out.extend_from_slice(e.data);
    }
    pad_to_word(&mut out);
    Ok(out)
}

fn pad_to_word(out: &mut Vec<u8>) {
    while !out.len().is_multiple_of(4) {
        out.push(0);
    }
}
