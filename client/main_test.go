package client_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
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

// The tests and examples of this package run against a real `omnicart
// serve`, built from this module and started once by TestMain on a new
// SQLite database. (internal/e2e cannot start it here: its Start needs a
// testing.TB, and TestMain and examples have none.)

var (
	// serverURL is the running server's base URL.
	serverURL string
	// apiKey is the key of a test-mode merchant with every privilege and
	// the documentation's items, used by the examples.
	apiKey string

	testServer *server
)

// exampleItems are the catalog of the merchants the tests create.
const exampleItems = "pegasus,naga,lich,wight,griffin"

func TestMain(m *testing.M) {
	os.Exit(runMain(m))
}

func runMain(m *testing.M) int {
	dir, err := os.MkdirTemp("", "omnicart-client-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	srv, err := startServer(dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer srv.stop()
	testServer, serverURL = srv, srv.url
	_, apiKey, err = srv.merchant(exampleItems, "--all-privileges")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return m.Run()
}

type server struct {
	bin, db, url string
	cmd          *exec.Cmd
	logs         *lockedBuffer
	done         chan struct{}
}

func startServer(dir string) (*server, error) {
	_, file, _, _ := runtime.Caller(0)
	root := filepath.Join(filepath.Dir(file), "..")
	bin := filepath.Join(dir, "omnicart")
	build := exec.Command("go", "build", "-o", bin, "./cmd/omnicart")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("build omnicart: %v\n%s", err, out)
	}
	s := &server{bin: bin, db: filepath.Join(dir, "omnicart.db"), logs: &lockedBuffer{}, done: make(chan struct{})}
	s.cmd = exec.Command(bin, "serve", "--listen", "127.0.0.1:0", "--database", "sqlite:"+s.db,
		"--allow-private-callbacks", "--callback-retry-schedule", "50ms,100ms,200ms")
	s.cmd.Env = append(os.Environ(), "OMNICART_LISTEN=", "OMNICART_DATABASE=", "OMNICART_PUBLIC_URL=")
	s.cmd.Stderr = s.logs
	out, err := s.cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := s.cmd.Start(); err != nil {
		return nil, err
	}
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if rest, ok := strings.CutPrefix(sc.Text(), "OmniCart listening on "); ok {
				a, _, _ := strings.Cut(rest, " ")
				select {
				case addr <- a:
				default:
				}
			}
		}
		_ = s.cmd.Wait()
		close(s.done)
	}()
	select {
	case a := <-addr:
		s.url = "http://" + a
		return s, nil
	case <-s.done:
		return nil, fmt.Errorf("omnicart serve exited before listening:\n%s", s.logs.String())
	case <-time.After(60 * time.Second):
		_ = s.cmd.Process.Kill()
		return nil, fmt.Errorf("omnicart serve did not start in time:\n%s", s.logs.String())
	}
}

func (s *server) stop() {
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.done:
	case <-time.After(30 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.done
	}
}

// admin runs an operator subcommand on the server's database.
func (s *server) admin(args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, s.bin, append(args, "--database", "sqlite:"+s.db)...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("omnicart %s: %v\n%s%s", strings.Join(args, " "), err, stdout.String(), stderr.String())
	}
	return stdout.String(), nil
}

// merchant creates a merchant and returns its id and API key.
func (s *server) merchant(items string, extra ...string) (string, string, error) {
	out, err := s.admin(append([]string{"merchant", "create", "--name", "Example Shop", "--items", items, "--json"}, extra...)...)
	if err != nil {
		return "", "", err
	}
	var res struct {
		MerchantID string `json:"merchantId"`
		APIKey     string `json:"apiKey"`
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		return "", "", fmt.Errorf("merchant create printed %q: %v", out, err)
	}
	return res.MerchantID, res.APIKey, nil
}

// newMerchant creates a test-mode merchant with every privilege for one
// test and returns its id and a client.
func newMerchant(tb testing.TB, extra ...string) (string, *client.Client) {
	tb.Helper()
	id, key, err := testServer.merchant(exampleItems, append([]string{"--all-privileges"}, extra...)...)
	if err != nil {
		tb.Fatal(err)
	}
	return id, client.New(serverURL, key)
}

type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
