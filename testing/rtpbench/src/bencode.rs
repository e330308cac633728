//! Bencode (the encoding of rtpengine's ng control protocol): integers, byte strings,
//! lists and dictionaries with byte-string keys. The decoder never panics and bounds
//! nesting, since ng datagrams come from the network.

use std::collections::BTreeMap;

/// Deepest list/dictionary nesting accepted (ng messages use two or three levels).
pub const MAX_DEPTH: usize = 32;

/// A bencoded value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    /// `i<digits>e`.
    Int(i64),
    /// `<len>:<bytes>`.
    Bytes(Vec<u8>),
    /// `l...e`.
    List(Vec<Value>),
    /// `d...e`, keys sorted.
    Dict(BTreeMap<Vec<u8>, Value>),
}

/// Why a bencoded text was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BencodeError {
    /// The input ended inside a value.
    #[error("bencode: unexpected end of input")]
    Truncated,
    /// A byte that cannot start or continue a value at this offset.
    #[error("bencode: unexpected byte at offset {0}")]
    Unexpected(usize),
    /// An integer or length that does not fit.
    #[error("bencode: number out of range at offset {0}")]
    Number(usize),
    /// Nested deeper than [`MAX_DEPTH`].
    #[error("bencode: nested deeper than {MAX_DEPTH}")]
    TooDeep,
    /// Bytes after the value.
    #[error("bencode: trailing bytes at offset {0}")]
    Trailing(usize),
}

impl Value {
    /// A byte string from text.
    pub fn text(text: &str) -> Self {
        Self::Bytes(text.as_bytes().to_vec())
    }

    /// A dictionary from `(key, value)` pairs.
    pub fn dict<'k>(pairs: impl IntoIterator<Item = (&'k str, Value)>) -> Self {
        Self::Dict(
            pairs
                .into_iter()
                .map(|(k, v)| (k.as_bytes().to_vec(), v))
                .collect(),
        )
    }

    /// The value under `key`, for a dictionary.
    pub fn get(&self, key: &str) -> Option<&Value> {
        match self {
            Self::Dict(map) => map.get(key.as_bytes()),
            _ => None,
        }
    }

    /// The byte string as UTF-8 text.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Self::Bytes(bytes) => std::str::from_utf8(bytes).ok(),
            _ => None,
        }
    }

    /// Appends the encoding to `out`.
    pub fn encode(&self, out: &mut Vec<u8>) {
        match self {
            Self::Int(n) => out.extend_from_slice(format!("i{n}e").as_bytes()),
            Self::Bytes(bytes) => {
                out.extend_from_slice(format!("{}:", bytes.len()).as_bytes());
                out.extend_from_slice(bytes);
            }
            Self::List(items) => {
                out.push(b'l');
                items.iter().for_each(|item| item.encode(out));
                out.push(b'e');
            }
            Self::Dict(map) => {
                out.push(b'd');
                for (key, value) in map {
                    Self::Bytes(key.clone()).encode(out);
                    value.encode(out);
                }
                out.push(b'e');
            }
        }
    }

    /// Decodes exactly one value spanning all of `input`.
    pub fn decode(input: &[u8]) -> Result<Self, BencodeError> {
        let mut parser = Parser { input, pos: 0 };
        let value = parser.value(0)?;
        if parser.pos != input.len() {
            return Err(BencodeError::Trailing(parser.pos));
        }
        Ok(value)
    }
}

struct Parser<'a> {
    input: &'a [u8],
    pos: usize,
}

impl Parser<'_> {
    fn peek(&self) -> Result<u8, BencodeError> {
        self.input
            .get(self.pos)
            .copied()
            .ok_or(BencodeError::Truncated)
    }

    fn value(&mut self, depth: usize) -> Result<Value, BencodeError> {
        if depth > MAX_DEPTH {
            return Err(BencodeError::TooDeep);
        }
        match self.peek()? {
            b'i' => {
                self.pos += 1;
                let n = self.number(b'e')?;
                Ok(Value::Int(n))
            }
            b'l' => {
                self.pos += 1;
                let mut items = Vec::new();
                while self.peek()? != b'e' {
                    items.push(self.value(depth + 1)?);
                }
                self.pos += 1;
                Ok(Value::List(items))
            }
            b'd' => {
                self.pos += 1;
                let mut map = BTreeMap::new();
                while self.peek()? != b'e' {
                    let key = self.bytes()?;
                    let value = self.value(depth + 1)?;
                    map.insert(key, value);
                }
                self.pos += 1;
                Ok(Value::Dict(map))
            }
            b'0'..=b'9' => Ok(Value::Bytes(self.bytes()?)),
            _ => Err(BencodeError::Unexpected(self.pos)),
        }
    }

    fn bytes(&mut self) -> Result<Vec<u8>, BencodeError> {
        let start = self.pos;
        let len = usize::try_from(self.number(b':')?).map_err(|_| BencodeError::Number(start))?;
        let end = self
            .pos
            .checked_add(len)
            .ok_or(BencodeError::Number(start))?;
        let bytes = self
            .input
            .get(self.pos..end)
            .ok_or(BencodeError::Truncated)?;
        self.pos = end;
        Ok(bytes.to_vec())
    }

    /// Digits (with an optional leading `-`) up to `terminator`, which is consumed.
    fn number(&mut self, terminator: u8) -> Result<i64, BencodeError> {
        let start = self.pos;
        let rest = self.input.get(start..).unwrap_or_default();
        let len = rest
            .iter()
            .position(|&b| b == terminator)
            .ok_or(BencodeError::Truncated)?;
        let digits = rest.get(..len).unwrap_or_default();
        let valid = !digits.is_empty()
            && digits
                .iter()
                .enumerate()
                .all(|(i, &b)| b.is_ascii_digit() || (i == 0 && b == b'-' && digits.len() > 1));
        if !valid {
            return Err(BencodeError::Unexpected(start));
        }
        let text = std::str::from_utf8(digits).map_err(|_| BencodeError::Unexpected(start))?;
        let n = text.parse().map_err(|_| BencodeError::Number(start))?;
        self.pos = start + len + 1;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn decodes_an_ng_offer() {
        let text = b"d7:call-id3:abc7:command5:offer3:sdp4:v=0\ne";
        let value = Value::decode(text).unwrap();
        assert_eq!(value.get("command").and_then(Value::as_str), Some("offer"));
        assert_eq!(value.get("sdp").and_then(Value::as_str), Some("v=0\n"));
        let mut out = Vec::new();
        value.encode(&mut out);
        assert_eq!(out, text);
    }

    #[test]
    fn rejects_bad_input() {
        for bad in [
            &b""[..],
            b"i12",
            b"ie",
            b"i-e",
            b"i1x2e",
            b"5:abc",
            b"d3:abce",
            b"l",
            b"x",
            b"i1ei2e",
            b"99999999999999999999:",
        ] {
            assert!(Value::decode(bad).is_err(), "{bad:?} accepted");
        }
        let deep = [b"l".repeat(100), b"e".repeat(100)].concat();
        assert_eq!(Value::decode(&deep), Err(BencodeError::TooDeep));
    }

    fn values() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            any::<i64>().prop_map(Value::Int),
            proptest::collection::vec(any::<u8>(), 0..20).prop_map(Value::Bytes),
        ];
        leaf.prop_recursive(4, 32, 5, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..5).prop_map(Value::List),
                proptest::collection::btree_map(
                    proptest::collection::vec(any::<u8>(), 0..8),
                    inner,
                    0..5
                )
                .prop_map(Value::Dict),
            ]
        })
    }

    proptest! {
        #[test]
        fn round_trips(value in values()) {
            let mut out = Vec::new();
            value.encode(&mut out);
            prop_assert_eq!(Value::decode(&out).unwrap(), value);
        }

        #[test]
        fn never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
            let _ = Value::decode(&bytes);
        }
    }
}
