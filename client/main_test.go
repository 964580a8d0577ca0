package client_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	neturl "net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/omnicart/omnicart/client"
)

// The tests and examples of this package run against a real `omnicart
// serve`, built from this module and started once by TestMain on a new
// SQLite database (with OMNICART_E2E_ENGINE=postgres, a new PostgreSQL
// database on the server OMNICART_TEST_POSTGRES names). (internal/e2e cannot start it here: its Start needs a
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
	database, answerKey := "sqlite:"+filepath.Join(dir, "omnicart.db"), ""
	if os.Getenv("OMNICART_E2E_ENGINE") == "postgres" {
		url, drop, err := newPostgresDatabase()
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		defer drop()
		database, answerKey = url, filepath.Join(dir, "answers.key")
	}
	srv, err := startServer(dir, database, answerKey)
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

// newPostgresDatabase creates a database with a random name on the
// PostgreSQL server that OMNICART_TEST_POSTGRES names (an administrator's
// URL), for OMNICART_E2E_ENGINE=postgres (as internal/e2e), and returns
// its URL and a function that drops it.
func newPostgresDatabase() (string, func(), error) {
	admin := os.Getenv("OMNICART_TEST_POSTGRES")
	if admin == "" {
		return "", nil, errors.New("OMNICART_E2E_ENGINE=postgres needs OMNICART_TEST_POSTGRES (an administrator's URL of a PostgreSQL server)")
	}
	u, err := neturl.Parse(admin)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		return "", nil, fmt.Errorf("OMNICART_TEST_POSTGRES: not a postgres:// URL")
	}
	var b [8]byte
	rand.Read(b[:])
	name := "omnicart_client_" + hex.EncodeToString(b[:])
	run := func(stmt string) error {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		conn, err := pgx.Connect(ctx, admin)
		if err != nil {
			return err
		}
		defer conn.Close(context.Background())
		_, err = conn.Exec(ctx, stmt)
		return err
	}
	if err := run("CREATE DATABASE " + name); err != nil {
		return "", nil, fmt.Errorf("create the test database: %w", err)
	}
	u.Path = "/" + name
	q := u.Query()
	q.Del("dbname")
	u.RawQuery = q.Encode()
	return u.String(), func() {
		if err := run("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)"); err != nil {
			fmt.Fprintf(os.Stderr, "drop the test database %s: %v\n", name, err)
		}
	}, nil
}

type server struct {
	bin, db, url string // db: the --database value
	cmd          *exec.Cmd
	logs         *lockedBuffer
	done         chan struct{}
}

// startServer builds the binary into dir and serves database (a --database
// value) with the answer key in answerKey (empty: the default).
func startServer(dir, database, answerKey string) (*server, error) {
	_, file, _, _ := runtime.Caller(0)
	root := filepath.Join(filepath.Dir(file), "..")
	bin := filepath.Join(dir, "omnicart")
	build := exec.Command("go", "build", "-o", bin, "./cmd/omnicart")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("build omnicart: %v\n%s", err, out)
	}
	s := &server{bin: bin, db: database, logs: &lockedBuffer{}, done: make(chan struct{})}
	args := []string{"serve", "--listen", "127.0.0.1:0", "--database", s.db,
		"--allow-private-callbacks", "--callback-retry-schedule", "50ms,100ms,200ms"}
	if answerKey != "" {
		args = append(args, "--answer-key-file", answerKey)
	}
	s.cmd = exec.Command(bin, args...)
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
	cmd := exec.CommandContext(ctx, s.bin, append(args, "--database", s.db)...)
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
