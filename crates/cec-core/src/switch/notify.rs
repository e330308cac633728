//! Events and records: call steps, agent state changes in the CEC vocabulary, and the
//! running and final call records.

use std::time::Instant;

use cec_acd::{BusyCause, Phase};

use super::Switch;
use crate::call::{Call, CallNo};
use crate::output::{CallRecord, Output, SwitchEvent, Value};

/// The CEC event for entering `phase` (`None`: no state event of its own).
fn state_event(phase: &Phase) -> Option<&'static str> {
    Some(match phase {
        Phase::SignedOut => "AgentOther_ShutdownService",
        Phase::Idle => "AgentState_Ready",
        Phase::Busy { .. } => "AgentState_SetNotReady_Success",
        Phase::Rest { .. } => "AgentState_SetRest_Success",
        Phase::Work => "AgentState_SetWork_Success",
        Phase::Ringing { .. } => "AgentState_Busy",
        Phase::Talking { .. } => "AgentEvent_Talking",
        Phase::WrapUp { .. } => "AgentState_Work",
    })
}

impl Switch {
    /// An event about a call that is not (or no longer) in the table.
    pub(crate) fn emit_call(
        &mut self,
        now: Instant,
        call: &Call,
        kind: &'static str,
        data: Vec<(&'static str, Value)>,
    ) {
        let event = self.call_event(now, call, kind, data);
        self.outputs.push_back(event);
    }

    /// An event about call `no`.
    pub(crate) fn emit_call_no(
        &mut self,
        now: Instant,
        no: CallNo,
        kind: &'static str,
        data: Vec<(&'static str, Value)>,
    ) {
        if let Some(event) = self
            .calls
            .get(&no)
            .map(|c| self.call_event(now, c, kind, data))
        {
            self.outputs.push_back(event);
        }
    }

    fn call_event(
        &self,
        now: Instant,
        call: &Call,
        kind: &'static str,
        mut data: Vec<(&'static str, Value)>,
    ) -> Output {
        data.push(("caller", Value::Text(call.record.caller.clone())));
        data.push(("called", Value::Text(call.record.called.clone())));
        Output::Event(SwitchEvent {
            tenant: call.tenant.clone(),
            kind,
            time_ms: self.settings.wall.ms(now),
            call_id: Some(call.id.clone()),
            agent: call.agent.as_ref().map(|a| a.agent.work_no.clone()),
            data,
        })
    }

    pub(crate) fn emit_agent(
        &mut self,
        now: Instant,
        tenant: &str,
        work_no: &str,
        kind: &'static str,
        call_id: Option<&str>,
        data: Vec<(&'static str, Value)>,
    ) {
        self.outputs.push_back(Output::Event(SwitchEvent {
            tenant: tenant.to_owned(),
            kind,
            time_ms: self.settings.wall.ms(now),
            call_id: call_id.map(str::to_owned),
            agent: Some(work_no.to_owned()),
            data,
        }));
    }

    pub(crate) fn emit_record(&mut self, record: &CallRecord) {
        self.outputs
            .push_back(Output::Record(Box::new(record.clone())));
    }

    /// Turns the ACD's state changes into events.
    pub(crate) fn report_agent_changes(&mut self) {
        while let Some(change) = self.acd.poll_change() {
            let tenant = change.agent.tenant.clone();
            let work_no = change.agent.work_no.clone();
            let call_id = change
                .to
                .call()
                .or_else(|| change.from.call())
                .and_then(|no| self.calls.get(&no))
                .map(|c| c.id.clone());
            let mut data = vec![
                ("state", Value::Text(change.to.name().to_owned())),
                ("previous", Value::Text(change.from.name().to_owned())),
            ];
            if change.from == Phase::SignedOut {
                self.emit_agent(
                    change.at,
                    &tenant,
                    &work_no,
                    "AgentOther_InService",
                    None,
                    vec![],
                );
            }
            match change.to {
                Phase::Busy { reason, cause } => {
                    if let Some(reason) = reason {
                        data.push(("reason", Value::Int(i64::from(reason))));
                    }
                    let cause = match cause {
                        BusyCause::Requested => "requested",
                        BusyCause::NoAnswer => "no answer",
                        BusyCause::Rejected => "rejected",
                    };
                    data.push(("cause", Value::Text(cause.to_owned())));
                }
                Phase::Rest {
                    reason: Some(reason),
                    ..
                } => data.push(("reason", Value::Int(i64::from(reason)))),
                _ => {}
            }
            if let Some(kind) = state_event(&change.to) {
                self.emit_agent(change.at, &tenant, &work_no, kind, call_id.as_deref(), data);
            }
            if let Phase::Ringing { call } = change.to
                && let Some(call) = self.calls.get(&call)
            {
                let auto = self.acd.agent(&change.agent).is_some_and(|a| a.auto_answer);
                let kind = if auto {
                    "AgentEvent_Auto_Answer"
                } else {
                    "AgentEvent_Ringing"
                };
                let data = vec![
                    ("caller", Value::Text(call.record.caller.clone())),
                    ("called", Value::Text(call.record.called.clone())),
                    ("queue", Value::Text(call.queue.clone().unwrap_or_default())),
                ];
                let id = call.id.clone();
                self.emit_agent(change.at, &tenant, &work_no, kind, Some(&id), data);
            }
        }
    }
}
