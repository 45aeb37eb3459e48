// The Raft core lives here: a pure state machine driven by messages and ticks.
