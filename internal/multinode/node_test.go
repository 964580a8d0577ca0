package multinode

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// buildBinary builds ./cmd/omnicart into a temporary directory.
func buildBinary(tb testing.TB) string {
	tb.Helper()
	_, file, _, _ := runtime.Caller(0)
	root := filepath.Join(filepath.Dir(file), "..", "..")
	bin := filepath.Join(tb.TempDir(), "omnicart")
	cmd := exec.Command("go", "build", "-o", bin, "./cmd/omnicart")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		tb.Fatalf("build omnicart: %v\n%s", err, out)
	}
	return bin
}

// freePort returns a TCP port free at the moment on 127.0.0.1: a node
// keeps its port across restarts, as behind a load balancer.
func freePort(tb testing.TB) int {
	tb.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// cleanEnv is the environment of the processes the test runs: none of the
// OMNICART_ variables of the test's own environment.
func cleanEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "OMNICART_") {
			env = append(env, kv)
		}
	}
	return env
}

// node is one `omnicart serve` process on a fixed port.
type node struct {
	tb   testing.TB
	name string
	bin  string
	port int
	args []string

	mu     sync.Mutex
	cmd    *exec.Cmd
	done   chan struct{}
	logs   bytes.Buffer // stderr of every run, in order
	starts int
}

func newNode(tb testing.TB, name, bin string, args ...string) *node {
	n := &node{tb: tb, name: name, bin: bin, port: freePort(tb), args: args}
	tb.Cleanup(func() { n.signal(syscall.SIGTERM) })
	return n
}

// URL is the node's base URL.
func (n *node) URL() string { return "http://127.0.0.1:" + strconv.Itoa(n.port) }

// start runs the node and waits until it listens. It reports an error
// rather than failing, so that it may run in a goroutine.
func (n *node) start() error {
	args := append([]string{"serve", "--listen", "127.0.0.1:" + strconv.Itoa(n.port)}, n.args...)
	cmd := exec.Command(n.bin, args...)
	cmd.Env = cleanEnv()
	out, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	n.mu.Lock()
	n.starts++
	fmt.Fprintf(&n.logs, "--- start %d\n", n.starts)
	n.mu.Unlock()
	cmd.Stderr = writerFunc(func(p []byte) (int, error) {
		n.mu.Lock()
		defer n.mu.Unlock()
		return n.logs.Write(p)
	})
	if err := cmd.Start(); err != nil {
		return err
	}
	listening := make(chan struct{})
	done := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(out)
		once := false
		for sc.Scan() {
			if !once && strings.HasPrefix(sc.Text(), "OmniCart listening on ") {
				once = true
				close(listening)
			}
		}
		_ = cmd.Wait()
		close(done)
	}()
	select {
	case <-listening:
	case <-done:
		return fmt.Errorf("%s exited before listening:\n%s", n.name, n.Logs())
	case <-time.After(60 * time.Second):
		_ = cmd.Process.Kill()
		<-done
		return fmt.Errorf("%s did not listen within a minute:\n%s", n.name, n.Logs())
	}
	n.mu.Lock()
	n.cmd, n.done = cmd, done
	n.mu.Unlock()
	return nil
}

// kill stops the node with SIGKILL, as a crash would.
func (n *node) kill() { n.signal(syscall.SIGKILL) }

func (n *node) signal(sig syscall.Signal) {
	n.mu.Lock()
	cmd, done := n.cmd, n.done
	n.cmd = nil
	n.mu.Unlock()
	if cmd == nil {
		return
	}
	_ = cmd.Process.Signal(sig)
	select {
	case <-done:
	case <-time.After(40 * time.Second):
		_ = cmd.Process.Kill()
		<-done
	}
}

// Logs returns what the node wrote to stderr (its JSON log), over all its
// runs.
func (n *node) Logs() string {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.logs.String()
}

// ready asks /readyz once: its HTTP status, or 0 when unanswered.
func (n *node) ready(ctx context.Context) int {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, n.URL()+"/readyz", nil)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0
	}
	defer res.Body.Close()
	_, _ = io.Copy(io.Discard, res.Body)
	return res.StatusCode
}

// waitReady polls /readyz until it answers want, and returns how long
// that took, or an error after d.
func (n *node) waitReady(ctx context.Context, want int, d time.Duration) (time.Duration, error) {
	start := time.Now()
	last := 0
	for time.Since(start) < d {
		if last = n.ready(ctx); last == want {
			return time.Since(start), nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	return 0, fmt.Errorf("%s: /readyz still answers %d after %v, want %d", n.name, last, d, want)
}

// admin runs an operator subcommand against the database and returns its
// standard output.
func admin(tb testing.TB, bin, dbURL string, args ...string) string {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, append(args, "--database", dbURL)...)
	cmd.Env = cleanEnv()
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		tb.Fatalf("omnicart %s: %v\n%s%s", strings.Join(args, " "), err, stdout.String(), stderr.String())
	}
	return stdout.String()
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }
