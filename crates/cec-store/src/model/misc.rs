//! Prompts, work calendars, reason codes and IVR flow documents.

use serde::{Deserialize, Serialize};

use super::{name, time_zone};
use crate::error::Problems;
use crate::resource::{Kind, Resource};

/// The audio of a prompt, set by the upload (8 kHz mono 16-bit WAV under the data dir).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PromptAudio {
    /// Length in milliseconds.
    pub duration_ms: u64,
    /// SHA-256 of the stored WAV file.
    pub sha256: String,
    /// Size of the stored WAV file in bytes.
    pub bytes: u64,
    /// What was uploaded (`A-law 8000 Hz 1 ch`, …).
    pub source_format: String,
    /// When it was uploaded, epoch milliseconds.
    pub uploaded_ms: i64,
}

/// A voice prompt.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PromptSpec {
    /// Unique name, at most 100 characters.
    pub name: String,
    /// Language tag (`en`, `de-CH`); default `en`.
    #[serde(default = "english")]
    pub language: String,
    /// Free text.
    #[serde(default)]
    pub description: String,
    /// Set by `PUT …/prompts/{id}/audio`; ignored on input.
    #[serde(default)]
    pub audio: Option<PromptAudio>,
}

fn english() -> String {
    "en".to_owned()
}

impl Resource for PromptSpec {
    const KIND: Kind = Kind::Prompt;

    fn validate(&self, p: &mut Problems) {
        name(p, "name", &self.name, 100);
        let lang_ok = (2..=35).contains(&self.language.len())
            && self
                .language
                .split('-')
                .all(|part| !part.is_empty() && part.bytes().all(|b| b.is_ascii_alphanumeric()));
        p.check(
            lang_ok,
            "language",
            "must be a language tag such as en or de-CH",
        );
        p.length("description", &self.description, 0, 200);
    }

    fn natural_key(&self) -> String {
        self.name.clone()
    }

    fn reset_managed(&mut self) {
        self.audio = None;
    }

    fn carry_over(&mut self, previous: &Self) {
        self.audio.clone_from(&previous.audio);
    }
}

/// Day of the week.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
#[expect(missing_docs, reason = "the names say it")]
pub enum Weekday {
    Mon,
    Tue,
    Wed,
    Thu,
    Fri,
    Sat,
    Sun,
}

/// Opening hours on one weekday.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DayHours {
    /// The day.
    pub day: Weekday,
    /// Opens at `HH:MM`.
    pub open: String,
    /// Closes at `HH:MM` (after `open`; `24:00` for midnight).
    pub close: String,
}

/// A closed day.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Holiday {
    /// `YYYY-MM-DD`.
    pub date: String,
    /// What it is.
    #[serde(default)]
    pub name: String,
}

/// A day with other opening hours.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SpecialDay {
    /// `YYYY-MM-DD`.
    pub date: String,
    /// Opens at `HH:MM`.
    pub open: String,
    /// Closes at `HH:MM`.
    pub close: String,
}

/// A work calendar.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CalendarSpec {
    /// Unique name.
    pub name: String,
    /// IANA time zone of the hours.
    #[serde(default = "utc")]
    pub time_zone: String,
    /// Weekly opening hours (several spans per day allowed).
    #[serde(default)]
    pub weekly: Vec<DayHours>,
    /// Closed days.
    #[serde(default)]
    pub holidays: Vec<Holiday>,
    /// Days with other hours.
    #[serde(default)]
    pub special_days: Vec<SpecialDay>,
}

fn utc() -> String {
    "UTC".to_owned()
}

/// Minutes since midnight of `HH:MM` (00:00..=24:00).
fn minutes(value: &str) -> Option<u32> {
    let (h, m) = value.split_once(':')?;
    if h.len() != 2 || m.len() != 2 {
        return None;
    }
    let (h, m): (u32, u32) = (h.parse().ok()?, m.parse().ok()?);
    (m < 60 && (h < 24 || (h == 24 && m == 0))).then_some(h * 60 + m)
}

fn date_ok(value: &str) -> bool {
    let parts: Vec<&str> = value.split('-').collect();
    let [y, m, d] = parts.as_slice() else {
        return false;
    };
    let days_in = |y: u32, m: u32| match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if (y.is_multiple_of(4) && !y.is_multiple_of(100)) || y.is_multiple_of(400) => 29,
        2 => 28,
        _ => 0,
    };
    y.len() == 4
        && m.len() == 2
        && d.len() == 2
        && matches!((y.parse::<u32>(), m.parse::<u32>(), d.parse::<u32>()),
            (Ok(y), Ok(m), Ok(d)) if (1970..=2200).contains(&y) && d >= 1 && d <= days_in(y, m))
}

fn span(p: &mut Problems, field: &str, open: &str, close: &str) {
    match (minutes(open), minutes(close)) {
        (Some(o), Some(c)) => p.check(o < c, format!("{field}.close"), "must be after open"),
        (None, _) => p.add(format!("{field}.open"), "must be HH:MM"),
        (_, None) => p.add(
            format!("{field}.close"),
            "must be HH:MM (24:00 for midnight)",
        ),
    }
}

impl Resource for CalendarSpec {
    const KIND: Kind = Kind::Calendar;

    fn validate(&self, p: &mut Problems) {
        name(p, "name", &self.name, 100);
        time_zone(p, "time_zone", &self.time_zone);
        if self.weekly.len() > 70 || self.holidays.len() > 1000 || self.special_days.len() > 1000 {
            p.add(
                "weekly",
                "too many entries (70 spans, 1000 holidays, 1000 special days at most)",
            );
        }
        for (i, h) in self.weekly.iter().enumerate() {
            span(p, &format!("weekly[{i}]"), &h.open, &h.close);
        }
        for (i, h) in self.holidays.iter().enumerate() {
            p.check(
                date_ok(&h.date),
                format!("holidays[{i}].date"),
                "must be a date YYYY-MM-DD",
            );
            p.length(&format!("holidays[{i}].name"), &h.name, 0, 100);
        }
        for (i, d) in self.special_days.iter().enumerate() {
            p.check(
                date_ok(&d.date),
                format!("special_days[{i}].date"),
                "must be a date YYYY-MM-DD",
            );
            span(p, &format!("special_days[{i}]"), &d.open, &d.close);
        }
    }

    fn natural_key(&self) -> String {
        self.name.clone()
    }
}

/// Busy or rest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ReasonKind {
    /// Busy reasons: codes 200..=250.
    Busy,
    /// Rest reasons: codes 1..=255.
    Rest,
}

/// A reason code agents give when going busy or resting.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReasonCodeSpec {
    /// Busy or rest.
    pub kind: ReasonKind,
    /// The code (busy 200..=250, rest 1..=255); unique per kind.
    pub code: u32,
    /// What it means.
    pub name: String,
}

impl Resource for ReasonCodeSpec {
    const KIND: Kind = Kind::ReasonCode;

    fn validate(&self, p: &mut Problems) {
        match self.kind {
            ReasonKind::Busy => p.range("code", self.code, 200, 250),
            ReasonKind::Rest => p.range("code", self.code, 1, 255),
        }
        name(p, "name", &self.name, 50);
    }

    fn natural_key(&self) -> String {
        let kind = match self.kind {
            ReasonKind::Busy => "busy",
            ReasonKind::Rest => "rest",
        };
        format!("{kind}-{}", self.code)
    }
}

/// A published version of a flow.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PublishedFlow {
    /// 1, 2, … per publication.
    pub version: u32,
    /// The document as published.
    #[schema(value_type = Object)]
    pub document: serde_json::Value,
    /// When, epoch milliseconds.
    pub published_ms: i64,
}

/// An IVR flow: a draft document edited freely and the published version calls run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FlowSpec {
    /// Unique name.
    pub name: String,
    /// Free text.
    #[serde(default)]
    pub description: String,
    /// The draft document (a JSON object; deep validation comes with the IVR).
    #[schema(value_type = Object)]
    pub draft: serde_json::Value,
    /// Set by `POST …/flows/{id}/publish`; ignored on input.
    #[serde(default)]
    pub published: Option<PublishedFlow>,
}

/// Largest flow document accepted (serialized).
pub const MAX_FLOW_BYTES: usize = 512 * 1024;

impl Resource for FlowSpec {
    const KIND: Kind = Kind::Flow;

    fn validate(&self, p: &mut Problems) {
        name(p, "name", &self.name, 100);
        p.length("description", &self.description, 0, 200);
        p.check(self.draft.is_object(), "draft", "must be a JSON object");
        if self.draft.to_string().len() > MAX_FLOW_BYTES {
            p.add("draft", format!("must be at most {MAX_FLOW_BYTES} bytes"));
        }
    }

    fn natural_key(&self) -> String {
        self.name.clone()
    }

    fn reset_managed(&mut self) {
        self.published = None;
    }

    fn carry_over(&mut self, previous: &Self) {
        self.published.clone_from(&previous.published);
    }
}
