package spec

import "time"

// EnvDefaults are the durations the generated service falls back to when
// its environment leaves one of these variables unset or empty: the
// config package's Defaults, which the templates render from this plan.
// A Deployment that drops one of them runs the service on this value, not
// on 0.
func (p *Plan) EnvDefaults() map[string]time.Duration {
	env := map[string]time.Duration{
		"DRAIN_DELAY":      seconds(p.DrainDelaySeconds),
		"SHUTDOWN_TIMEOUT": seconds(p.ShutdownTimeoutSeconds),
		"WORK_MAX":         seconds(p.WorkMaxSeconds),
	}
	if p.TraceFlushSeconds > 0 {
		env["TRACE_FLUSH_TIMEOUT"] = seconds(p.TraceFlushSeconds)
	}
	return env
}
