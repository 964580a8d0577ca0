package webhook

import (
	"fmt"
	"strings"
	"time"
)

// Schedule is the retry schedule: the delay before each retry of a failed
// delivery. A delivery is attempted at most len(Schedule)+1 times.
type Schedule []time.Duration

// DefaultSchedule is the production retry schedule: 5 s, 5 min, 30 min,
// 2 h, 5 h, 10 h, 14 h, 20 h, 20 h — ten attempts over 71 h 35 min, so a
// delivery is given up within three days of its event (jitter only makes
// retries earlier).
func DefaultSchedule() Schedule {
	return Schedule{5 * time.Second, 5 * time.Minute, 30 * time.Minute, 2 * time.Hour, 5 * time.Hour,
		10 * time.Hour, 14 * time.Hour, 20 * time.Hour, 20 * time.Hour}
}

// ParseSchedule reads a comma-separated list of Go durations
// ("50ms,100ms,1s"). Every delay must be positive.
func ParseSchedule(s string) (Schedule, error) {
	var out Schedule
	for _, p := range strings.Split(s, ",") {
		p = strings.TrimSpace(p)
		if p == "" {
			continue
		}
		d, err := time.ParseDuration(p)
		if err != nil || d <= 0 {
			return nil, fmt.Errorf("retry schedule %q: %q is not a positive duration", s, p)
		}
		out = append(out, d)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("retry schedule %q is empty", s)
	}
	return out, nil
}

// String formats the schedule as ParseSchedule reads it.
func (s Schedule) String() string {
	parts := make([]string, len(s))
	for i, d := range s {
		parts[i] = d.String()
	}
	return strings.Join(parts, ",")
}

// Attempts is the most attempts a delivery gets.
func (s Schedule) Attempts() int { return len(s) + 1 }

// JitterFraction is the largest share of a delay that jitter takes off.
const JitterFraction = 0.2

// Next returns the delay before the next attempt after `attempts` failed
// ones, with jitter: the scheduled delay less up to JitterFraction of it,
// chosen by r (a number in [0, 1)), so that receivers coming back up are
// not hit by every delivery at once and no retry is later than scheduled.
// ok is false when the schedule is exhausted.
func (s Schedule) Next(attempts int, r float64) (time.Duration, bool) {
	if attempts < 1 || attempts > len(s) {
		return 0, false
	}
	d := s[attempts-1]
	if r < 0 || r >= 1 {
		r = 0
	}
	return d - time.Duration(float64(d)*JitterFraction*r), true
}
