//! The invariants every call must leave behind once everything settled.

use std::collections::HashMap;

use cec_acd::Phase;
use cec_core::CallRecord;

use super::World;

impl World {
    /// Checks what every call must leave behind once everything settled: no call, leg,
    /// timer, dialog, queued call or busy agent left; the fake engine saw no misuse; every
    /// admitted call has exactly one final record, its last.
    pub fn check_invariants(&self) -> Result<(), String> {
        self.check_invariants_with(true)
    }

    /// [`World::check_invariants`], with the platform's dialog count checked only when
    /// `dialogs` (see the property test for why lossy runs leave it out).
    pub fn check_invariants_with(&self, dialogs: bool) -> Result<(), String> {
        let p = self.platform_ref();
        let s = &p.switch;
        let mut problems = Vec::new();
        if s.call_count() != 0 {
            problems.push(format!("{} calls left", s.call_count()));
        }
        if s.leg_count() != 0 {
            problems.push(format!("{} legs left in the Switch", s.leg_count()));
        }
        if s.timer_count() != 0 {
            problems.push(format!("{} call timers left", s.timer_count()));
        }
        if !p.media.live.is_empty() {
            problems.push(format!("media legs left: {:?}", p.media.live.keys()));
        }
        if !p.media.errors.is_empty() {
            problems.push(format!("media misuse: {:?}", p.media.errors));
        }
        if s.acd().queue_state().total() != 0 {
            problems.push(format!(
                "{} calls still queued",
                s.acd().queue_state().total()
            ));
        }
        for agent in s.acd().agents() {
            if matches!(agent.phase, Phase::Ringing { .. } | Phase::Talking { .. }) {
                problems.push(format!("agent {} is {:?}", agent.agent, agent.phase));
            }
        }
        if dialogs && p.ep.dialog_count() != 0 {
            problems.push(format!(
                "{} dialogs left on the platform",
                p.ep.dialog_count()
            ));
        }
        let events = self.events();
        let admitted: Vec<String> = events
            .iter()
            .filter(|e| e.kind == "CallEvent_Arrived")
            .filter_map(|e| e.call_id.clone())
            .collect();
        if admitted.len() as u64 != s.stats().calls_admitted {
            problems.push(format!(
                "{} arrivals reported, {} admitted",
                admitted.len(),
                s.stats().calls_admitted
            ));
        }
        let mut by_id: HashMap<String, Vec<CallRecord>> = HashMap::new();
        for record in self.records() {
            by_id.entry(record.id.clone()).or_default().push(record);
        }
        for id in &admitted {
            let records = by_id.get(id).map(Vec::as_slice).unwrap_or_default();
            let finals = records.iter().filter(|r| r.ended_ms.is_some()).count();
            if finals != 1 {
                problems.push(format!("call {id}: {finals} final records"));
            } else if records.last().is_some_and(|r| r.ended_ms.is_none()) {
                problems.push(format!("call {id}: a running record after the final one"));
            }
            let released = events
                .iter()
                .filter(|e| e.kind == "CallEvent_Released" && e.call_id.as_deref() == Some(id))
                .count();
            if released != 1 {
                problems.push(format!("call {id}: released {released} times"));
            }
        }
        for (id, records) in &by_id {
            if records.iter().filter(|r| r.ended_ms.is_some()).count() != 1 {
                problems.push(format!("record {id}: not exactly one final record"));
            }
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(problems.join("\n"))
        }
    }

    /// Asserts [`World::check_invariants`], printing the trace on failure.
    pub fn assert_clean(&self) {
        if let Err(problems) = self.check_invariants() {
            panic!("{problems}\n{}", self.trace());
        }
    }
}
