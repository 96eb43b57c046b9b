package raft

// StateTraceDeployed reports whether this build emits state-machine trace
// events (for checking runs against a formal specification). It never does:
// TraceLogger and TracingEvent exist so that code written for builds with
// tracing compiles unchanged.
const StateTraceDeployed = false

// TraceLogger receives trace events in builds with tracing deployed. It is
// never called in this build.
type TraceLogger interface{}

// TracingEvent is one trace event. Without tracing deployed it carries
// nothing.
type TracingEvent struct{}
