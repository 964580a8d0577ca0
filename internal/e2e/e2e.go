package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/omnicart/omnicart/client"
)

// binaryEnv names the environment variable that carries the path of the
// binary built by Main, so every test of the process reuses it.
const binaryEnv = "OMNICART_E2E_BINARY"

// Main builds the binary once, runs the tests and removes it. Call it from
// TestMain.
func Main(m *testing.M) {
	dir, err := os.MkdirTemp("", "omnicart-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	bin, err := build(dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	os.Setenv(binaryEnv, bin)
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

func build(dir string) (string, error) {
	_, file, _, _ := runtime.Caller(0)
	root := filepath.Join(filepath.Dir(file), "..", "..")
	bin := filepath.Join(dir, "omnicart")
	cmd := exec.Command("go", "build", "-o", bin, "./cmd/omnicart")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("build omnicart: %v\n%s", err, out)
	}
	return bin, nil
}

// Binary returns the path of the omnicart binary, building it if Main did
// not.
func Binary(tb testing.TB) string {
	tb.Helper()
	if b := os.Getenv(binaryEnv); b != "" {
		return b
	}
	bin, err := build(tb.TempDir())
	if err != nil {
		tb.Fatal(err)
	}
	return bin
}

// Server is a running omnicart server process.
type Server struct {
	tb     testing.TB
	bin    string
	DBPath string
	URL    string
	args   []string

	mu     sync.Mutex
	cmd    *exec.Cmd
	logs   bytes.Buffer
	stdout bytes.Buffer
	done   chan struct{}
}

// Start runs `omnicart serve` on a new temporary database with extra flags
// and waits until it listens. The server is stopped when the test ends.
func Start(tb testing.TB, extra ...string) *Server {
	tb.Helper()
	return StartOn(tb, filepath.Join(tb.TempDir(), "omnicart.db"), extra...)
}

// StartOn is Start on a given SQLite database file, for several server
// processes sharing one database.
func StartOn(tb testing.TB, dbPath string, extra ...string) *Server {
	tb.Helper()
	s := &Server{tb: tb, bin: Binary(tb), DBPath: dbPath, args: extra}
	s.start()
	tb.Cleanup(func() { s.Stop() })
	return s
}

func (s *Server) start() {
	s.tb.Helper()
	args := append([]string{"serve", "--listen", "127.0.0.1:0", "--database", "sqlite:" + s.DBPath}, s.args...)
	cmd := exec.Command(s.bin, args...)
	cmd.Env = append(os.Environ(), "OMNICART_LISTEN=", "OMNICART_DATABASE=", "OMNICART_PUBLIC_URL=")
	out, err := cmd.StdoutPipe()
	if err != nil {
		s.tb.Fatal(err)
	}
	cmd.Stderr = &lockedWriter{mu: &s.mu, w: &s.logs}
	if err := cmd.Start(); err != nil {
		s.tb.Fatal(err)
	}
	addr := make(chan string, 1)
	done := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			line := sc.Text()
			s.mu.Lock()
			s.stdout.WriteString(line + "\n")
			s.mu.Unlock()
			if rest, ok := strings.CutPrefix(line, "OmniCart listening on "); ok {
				a, _, _ := strings.Cut(rest, " ")
				select {
				case addr <- a:
				default:
				}
			}
		}
		_ = cmd.Wait()
		close(done)
	}()
	select {
	case a := <-addr:
		s.URL = "http://" + a
	case <-done:
		s.tb.Fatalf("omnicart serve exited before listening:\n%s", s.Logs())
	case <-time.After(60 * time.Second):
		_ = cmd.Process.Kill()
		s.tb.Fatalf("omnicart serve did not start in time:\n%s", s.Logs())
	}
	s.cmd, s.done = cmd, done
}

// Stop sends SIGTERM and waits for the server to exit.
func (s *Server) Stop() {
	s.signal(syscall.SIGTERM)
}

// Kill stops the server with SIGKILL, as a crash would.
func (s *Server) Kill() {
	s.signal(syscall.SIGKILL)
}

func (s *Server) signal(sig syscall.Signal) {
	if s.cmd == nil {
		return
	}
	_ = s.cmd.Process.Signal(sig)
	select {
	case <-s.done:
	case <-time.After(40 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.done
	}
	s.cmd = nil
}

// Restart stops the server and starts it again on the same database.
func (s *Server) Restart() {
	s.tb.Helper()
	s.Stop()
	s.start()
}

// Logs returns what the server wrote to stderr (its JSON log).
func (s *Server) Logs() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.logs.String()
}

// WaitForLog waits up to d for the server's log to contain substr (the log
// reaches the test through a pipe, a moment after the server wrote it).
func (s *Server) WaitForLog(substr string, d time.Duration) bool {
	deadline := time.Now().Add(d)
	for !strings.Contains(s.Logs(), substr) {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(20 * time.Millisecond)
	}
	return true
}

// Stdout returns what the server printed to stdout.
func (s *Server) Stdout() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stdout.String()
}

// Admin runs an operator subcommand against the server's database and
// returns its standard output. It fails the test when the command fails.
func (s *Server) Admin(args ...string) string {
	s.tb.Helper()
	out, err := s.TryAdmin(args...)
	if err != nil {
		s.tb.Fatalf("omnicart %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

// TryAdmin runs an operator subcommand and returns its combined output and
// error.
func (s *Server) TryAdmin(args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, s.bin, append(args, "--database", "sqlite:"+s.DBPath)...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if err != nil {
		return stdout.String() + stderr.String(), err
	}
	return stdout.String(), nil
}

// Merchant creates a merchant with the given catalog items and extra flags
// (such as "--all-privileges") and returns its id and a client with its key.
func (s *Server) Merchant(items string, extra ...string) (string, *client.Client) {
	s.tb.Helper()
	args := append([]string{"merchant", "create", "--name", "Test Shop", "--items", items, "--json"}, extra...)
	out := s.Admin(args...)
	var res struct {
		MerchantID string `json:"merchantId"`
		APIKey     string `json:"apiKey"`
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		s.tb.Fatalf("merchant create printed %q: %v", out, err)
	}
	return res.MerchantID, client.New(s.URL, res.APIKey)
}

// Client returns a client of the server with the given key.
func (s *Server) Client(key string) *client.Client { return client.New(s.URL, key) }

type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
