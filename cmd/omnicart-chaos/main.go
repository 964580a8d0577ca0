package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/omnicart/omnicart/internal/chaos"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("omnicart-chaos", flag.ContinueOnError)
	fs.SetOutput(stderr)
	kills := fs.Int("kills", 50, "how many times to kill the server with SIGKILL")
	duration := fs.Duration("duration", 2*time.Minute, "how long the clients drive carts; the kills are spread over it")
	clients := fs.Int("clients", 8, "concurrent clients")
	seed := fs.Uint64("seed", uint64(time.Now().UnixNano()), "random seed (printed, to repeat a campaign's choices)")
	stuckAfter := fs.Duration("stuck-after", 5*time.Second, "how long after a restart an Idempotency-Key may still answer 124191")
	settle := fs.Duration("settle", 20*time.Second, "how long the server may take after its last restart to leave no item ongoing")
	drain := fs.Duration("drain", 30*time.Second, "how long clients may take to finish their request in flight after the kills")
	bursts := fs.Int("bursts", 200, "bursts of identical requests with one Idempotency-Key after the kills (-1: none)")
	burstWidth := fs.Int("burst-width", 32, "requests sent at once in each burst")
	wrongKeys := fs.Int("wrong-keys", 10000, "requests with wrong API keys in the flood (-1: no flood)")
	baseline := fs.Duration("baseline", 10*time.Second, "how long legitimate requests are timed without the flood")
	hostile := fs.Int("hostile", 100, "random hostile requests per endpoint, besides the fixed ones (-1: no hostile phase)")
	walLimit := fs.Int64("wal-limit", 0, "pause the clients whenever the server's WAL holds more than this many MB, until its checkpointer has copied it (0: never)")
	bin := fs.String("bin", "", "omnicart binary (default: go build ./cmd/omnicart)")
	dir := fs.String("dir", "", "work directory for the database and server.log (default: a temporary one)")
	keep := fs.Bool("keep", false, "keep the work directory")
	maxShown := fs.Int("show", 20, "failures shown per check (0: all)")
	quiet := fs.Bool("q", false, "no progress lines")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	work := *dir
	if work == "" {
		d, err := os.MkdirTemp("", "omnicart-chaos-")
		if err != nil {
			fmt.Fprintln(stderr, err)
			return 2
		}
		work = d
		if !*keep {
			defer os.RemoveAll(work)
		}
	} else if err := os.MkdirAll(work, 0o755); err != nil {
		fmt.Fprintln(stderr, err)
		return 2
	}
	if *bin == "" {
		*bin = filepath.Join(work, "omnicart")
		if out, err := exec.Command("go", "build", "-o", *bin, "./cmd/omnicart").CombinedOutput(); err != nil {
			fmt.Fprintf(stderr, "go build ./cmd/omnicart: %v\n%s", err, out)
			return 2
		}
	}
	cfg := chaos.Config{Binary: *bin, Dir: work, Clients: *clients, Kills: *kills, Duration: *duration, Seed: *seed,
		StuckAfter: *stuckAfter, Settle: *settle, Drain: *drain, Log: stdout,
		Bursts: *bursts, BurstWidth: *burstWidth, WrongKeys: *wrongKeys, Baseline: *baseline, Hostile: *hostile, WALLimit: *walLimit << 20}
	if *quiet {
		cfg.Log = nil
	}
	rep, err := chaos.Run(ctx, cfg)
	if err != nil {
		fmt.Fprintf(stderr, "omnicart-chaos: %v\n", err)
		return 2
	}
	fmt.Fprint(stdout, "\n"+rep.Summary(*maxShown))
	if *keep || *dir != "" {
		fmt.Fprintf(stdout, "work directory: %s\n", work)
	}
	if rep.Failed() {
		fmt.Fprintln(stdout, "FAIL")
		return 1
	}
	fmt.Fprintln(stdout, "PASS")
	return 0
}
