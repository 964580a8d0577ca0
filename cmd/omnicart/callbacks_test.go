package main

import (
	"errors"
	"flag"
	"io"
	"testing"
	"time"
)

// TestCallbackFlags checks how serve reads its callback settings: private
// addresses are refused unless the flag, the environment or --demo allow
// them, and the retry schedule comes from the flag or the environment.
func TestCallbackFlags(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		args    []string
		env     map[string]string
		demo    bool
		private bool
		sched   string
		bad     bool
	}{
		{name: "default", private: false},
		{name: "demo", demo: true, private: true},
		{name: "flag", args: []string{"--allow-private-callbacks"}, private: true},
		{name: "env", env: map[string]string{"OMNICART_ALLOW_PRIVATE_CALLBACKS": "true"}, private: true},
		{name: "schedule flag", args: []string{"--callback-retry-schedule", "50ms,1s"}, sched: "50ms,1s"},
		{name: "schedule env", env: map[string]string{"OMNICART_CALLBACK_RETRY_SCHEDULE": "2s"}, sched: "2s"},
		{name: "bad schedule", args: []string{"--callback-retry-schedule", "soon"}, bad: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fs := flag.NewFlagSet("serve", flag.ContinueOnError)
			fs.SetOutput(io.Discard)
			read := callbackFlags(fs, func(k string) string { return tc.env[k] })
			if err := fs.Parse(tc.args); err != nil {
				t.Fatal(err)
			}
			cfg, err := read(tc.demo)
			var ue usageError
			if tc.bad {
				if !errors.As(err, &ue) {
					t.Fatalf("want a usage error, got %v", err)
				}
				return
			}
			if err != nil || cfg.allowPrivate != tc.private {
				t.Fatalf("config %+v, err %v", cfg, err)
			}
			if got := cfg.schedule.String(); tc.sched != "" {
				want := ""
				for i, p := range splitList(tc.sched) {
					d, _ := time.ParseDuration(p)
					if i > 0 {
						want += ","
					}
					want += d.String()
				}
				if got != want {
					t.Fatalf("schedule %q, want %q", got, want)
				}
			} else if cfg.schedule != nil {
				t.Fatalf("schedule %q, want the default", got)
			}
		})
	}
}
