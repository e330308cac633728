//! Reading a REGISTER: Call-ID, CSeq and the contacts with their expiry, all validated
//! before any binding changes (RFC 3261 §10.3: all updates or none).

use cec_sip_msg::{Contact, Message, NameAddr, Print, Uri};

use crate::registrar::RegistrarConfig;

/// Why a REGISTER is refused before any change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// 400 with this reason phrase.
    BadRequest(&'static str),
    /// 423: an expiry below the minimum.
    IntervalTooBrief,
}

/// One contact to add, refresh or remove.
#[derive(Debug, Clone)]
pub(crate) struct RequestedContact {
    pub(crate) uri: Uri,
    pub(crate) text: String,
    pub(crate) q: Option<f32>,
    /// Seconds, already clamped to the maximum; 0 removes.
    pub(crate) expires: u32,
    pub(crate) instance_id: Option<String>,
    pub(crate) reg_id: Option<u32>,
}

/// What a REGISTER asks for.
#[derive(Debug, Clone)]
pub(crate) enum Requested {
    /// No Contact: list the bindings.
    Query,
    /// `Contact: *` with `Expires: 0`.
    RemoveAll,
    /// Contacts to apply, in order.
    Update(Vec<RequestedContact>),
}

/// The validated REGISTER.
#[derive(Debug, Clone)]
pub(crate) struct RegisterRequest {
    pub(crate) call_id: String,
    pub(crate) cseq: u32,
    pub(crate) requested: Requested,
}

fn param_text<'a>(address: &'a NameAddr, name: &str) -> Option<Option<&'a [u8]>> {
    address.param(name).map(|p| p.value.as_deref())
}

fn read_contact(
    address: &NameAddr,
    header_expires: Option<u32>,
    config: &RegistrarConfig,
) -> Result<RequestedContact, Refusal> {
    let expires = match param_text(address, "expires") {
        None => header_expires.unwrap_or(config.default_expires),
        Some(_) => address
            .expires()
            .ok_or(Refusal::BadRequest("Invalid Contact expires"))?,
    };
    if expires != 0 && expires < config.min_expires {
        return Err(Refusal::IntervalTooBrief);
    }
    let q = match param_text(address, "q") {
        None => None,
        Some(_) => Some(
            address
                .q()
                .filter(|q| (0.0..=1.0).contains(q))
                .ok_or(Refusal::BadRequest("Invalid Contact q"))?,
        ),
    };
    let instance_id = match param_text(address, "+sip.instance") {
        None => None,
        Some(value) => {
            let value = value.ok_or(Refusal::BadRequest("Invalid +sip.instance"))?;
            let inner = value
                .strip_prefix(b"\"")
                .and_then(|v| v.strip_suffix(b"\""))
                .unwrap_or(value);
            let text = std::str::from_utf8(inner)
                .map_err(|_| Refusal::BadRequest("Invalid +sip.instance"))?;
            if text.is_empty() || text.contains(['"', '\\']) {
                return Err(Refusal::BadRequest("Invalid +sip.instance"));
            }
            Some(text.to_owned())
        }
    };
    let reg_id = match param_text(address, "reg-id") {
        None => None,
        Some(value) => Some(
            value
                .and_then(|v| std::str::from_utf8(v).ok())
                .and_then(|v| v.parse::<u32>().ok())
                .ok_or(Refusal::BadRequest("Invalid reg-id"))?,
        ),
    };
    Ok(RequestedContact {
        text: String::from_utf8_lossy(&address.uri.to_vec()).into_owned(),
        uri: address.uri.clone(),
        q,
        expires: expires.min(config.max_expires),
        instance_id,
        reg_id,
    })
}

impl RegisterRequest {
    pub(crate) fn read(request: &Message, config: &RegistrarConfig) -> Result<Self, Refusal> {
        let call_id = request
            .call_id()
            .map_err(|_| Refusal::BadRequest("Invalid Call-ID"))?;
        let call_id = String::from_utf8_lossy(&call_id).into_owned();
        let cseq = request
            .cseq()
            .map_err(|_| Refusal::BadRequest("Invalid CSeq"))?
            .seq;
        let contacts = request
            .contacts()
            .map_err(|_| Refusal::BadRequest("Invalid Contact"))?;
        let header_expires = request
            .expires()
            .map_err(|_| Refusal::BadRequest("Invalid Expires"))?;
        let requested = if contacts.is_empty() {
            Requested::Query
        } else if contacts.iter().any(|c| matches!(c, Contact::Star)) {
            if contacts.len() != 1 {
                return Err(Refusal::BadRequest("Contact * Mixed With Other Contacts"));
            }
            if header_expires != Some(0) {
                return Err(Refusal::BadRequest("Contact * Requires Expires: 0"));
            }
            Requested::RemoveAll
        } else {
            let list = contacts
                .iter()
                .filter_map(Contact::address)
                .map(|a| read_contact(a, header_expires, config))
                .collect::<Result<Vec<_>, _>>()?;
            Requested::Update(list)
        };
        Ok(RegisterRequest {
            call_id,
            cseq,
            requested,
        })
    }
}
