//! A fake call core for the agent, call and event routes, and a tenant seeded for them:
//! agents 1001..=1004, a busy reason code 201, and tokens of each kind of caller.

#![allow(dead_code, reason = "each test binary uses a part")]

use std::sync::{Arc, Mutex};

use cec_api::{
    AgentCommand, AgentPhase, AgentStatus, CallControl, ControlError, ControlFuture, LiveCall,
    PrincipalKind, Role, WorkState,
};
use cec_store::model::{AgentSpec, ReasonCodeSpec};
use cec_store::{Actor, KeyRole};
use serde_json::json;

use crate::store_fixture::StoreFixture;

/// Records every command; answers by work number: 1002 invalid transition, 1003 unavailable,
/// 1004 unknown to the core, others succeed. Two live calls: `call-1` (agent 1001) and
/// `call-2` (agent 1002).
#[derive(Default)]
pub struct FakeControl {
    pub log: Mutex<Vec<String>>,
}

impl FakeControl {
    pub fn commands(&self) -> Vec<String> {
        self.log.lock().unwrap().clone()
    }
}

fn phase(state: WorkState) -> AgentPhase {
    match state {
        WorkState::Idle => AgentPhase::Idle,
        WorkState::Busy => AgentPhase::Busy,
        WorkState::Rest => AgentPhase::Rest,
        WorkState::Work => AgentPhase::Work,
    }
}

pub fn live_calls() -> Vec<LiveCall> {
    ["1001", "1002"]
        .iter()
        .enumerate()
        .map(|(i, agent)| LiveCall {
            call_id: format!("call-{}", i + 1),
            state: "talking".into(),
            caller: "5551000".into(),
            called: "4001".into(),
            queue: Some("support".into()),
            agent: Some((*agent).into()),
            arrived_ms: 1_000,
            answered_ms: Some(2_000),
        })
        .collect()
}

impl CallControl for FakeControl {
    fn agent(
        &self,
        tenant: &str,
        work_no: &str,
        command: AgentCommand,
    ) -> ControlFuture<AgentStatus> {
        self.log
            .lock()
            .unwrap()
            .push(format!("{tenant}/{work_no}/{command:?}"));
        let (phase, reason) = match &command {
            AgentCommand::SignIn(s) => (phase(s.state.unwrap_or(WorkState::Idle)), None),
            AgentCommand::SignOut => (AgentPhase::SignedOut, None),
            AgentCommand::SetState(s) => (phase(s.state), s.reason),
            AgentCommand::Get => (AgentPhase::Idle, None),
        };
        let result = match work_no {
            "1002" => Err(ControlError::InvalidTransition(
                "agent is signed out".into(),
            )),
            "1003" => Err(ControlError::Unavailable(
                "the call core is stopping".into(),
            )),
            "1004" => Err(ControlError::NotFound("agent 1004".into())),
            _ => Ok(AgentStatus {
                work_no: work_no.to_owned(),
                phase,
                reason,
                since_ms: 42,
                phone: Some(work_no.to_owned()),
                call_id: None,
                queues: vec!["support".into()],
            }),
        };
        Box::pin(async move { result })
    }

    fn live_calls(&self, tenant: &str) -> ControlFuture<Vec<LiveCall>> {
        self.log.lock().unwrap().push(format!("{tenant}/calls"));
        Box::pin(async { Ok(live_calls()) })
    }

    fn release_call(&self, tenant: &str, call_id: &str) -> ControlFuture<()> {
        self.log
            .lock()
            .unwrap()
            .push(format!("{tenant}/release/{call_id}"));
        let known = live_calls().iter().any(|c| c.call_id == call_id);
        let call_id = call_id.to_owned();
        Box::pin(async move {
            if known {
                Ok(())
            } else {
                Err(ControlError::NotFound(format!("call {call_id:?}")))
            }
        })
    }
}

/// The tenant's id and tokens of each kind of caller.
pub struct Callers {
    pub tenant_id: String,
    pub supervisor: String,
    pub admin: String,
    pub agent_1001: String,
    pub agent_1002: String,
}

/// Seeds tenant `tenant` of `fixture` (agents 1001..=1004 without passwords, busy reason
/// code 201, an API key per role) and returns tokens.
pub async fn seed(fixture: &StoreFixture, tenant: &str) -> Callers {
    let store = fixture.store();
    let actor = Actor::system("test");
    let tenant_id = store.get_tenant(tenant).await.unwrap().id;
    for work_no in ["1001", "1002", "1003", "1004"] {
        let spec: AgentSpec =
            serde_json::from_value(json!({"work_no": work_no, "name": format!("A{work_no}")}))
                .unwrap();
        store.create(&actor, &tenant_id, spec).await.unwrap();
    }
    let reason: ReasonCodeSpec =
        serde_json::from_value(json!({"kind": "busy", "code": 201, "name": "Meeting"})).unwrap();
    store.create(&actor, &tenant_id, reason).await.unwrap();
    let key = async |role| {
        let key = store
            .create_api_key(&actor, Some(&tenant_id), role, "tests")
            .await
            .unwrap();
        let role = match role {
            KeyRole::Supervisor => Role::Supervisor,
            _ => Role::Admin,
        };
        fixture.token_for(
            &key.key.access_key,
            Some(&tenant_id),
            role,
            PrincipalKind::ApiKey,
        )
    };
    let supervisor = key(KeyRole::Supervisor).await;
    let admin = key(KeyRole::Admin).await;
    let agent = |work_no: &str| {
        fixture.token_for(work_no, Some(&tenant_id), Role::Agent, PrincipalKind::Agent)
    };
    Callers {
        agent_1001: agent("1001"),
        agent_1002: agent("1002"),
        tenant_id: tenant_id.clone(),
        supervisor,
        admin,
    }
}

/// Installs a fresh fake control in the fixture's state and returns it.
pub fn install(fixture: &mut StoreFixture) -> Arc<FakeControl> {
    let control = Arc::new(FakeControl::default());
    fixture.state = fixture.state.clone().with_call_control(control.clone());
    control
}
