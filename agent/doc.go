// Package agent is the update engine: it polls the configured OTA API,
// applies the policy, downloads and verifies, hands verified images to the
// component targets, resolves A/B installs after the reboot, and queues
// reports until the server has them. It connects transport (where bytes come
// from) to flasher (where bytes go) and decides on the digest.
//
// # State
//
// Every phase change is written to state.json (agent/state) before the step
// it announces. After a crash or power cut, Resume maps each persisted phase
// to the next safe step (see nextStep).
//
// # Concurrency
//
// One Agent serves one state directory. Installs, commits and rollbacks run
// one at a time (Agent.op); the local API reads status and records approvals
// concurrently with them under Agent.mu.
package agent
