package e2e

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
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

	"github.com/jackc/pgx/v5"
	_ "github.com/jackc/pgx/v5/stdlib" // database/sql driver "pgx" (Server.SQL)
	_ "modernc.org/sqlite"             // database/sql driver "sqlite" (Server.SQL)

	"github.com/omnicart/omnicart/client"
	"github.com/omnicart/omnicart/postgres/pgtest"
)

// binaryEnv names the environment variable that carries the path of the
// binary built by Main, so every test of the process reuses it.
const binaryEnv = "OMNICART_E2E_BINARY"

// EngineEnv names the environment variable that chooses the storage engine
// of the servers the suite starts: unset or "sqlite", a new SQLite file per
// server (the default); "postgres", a new PostgreSQL database per server on
// the server that OMNICART_TEST_POSTGRES names (an administrator's URL,
// such as postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable),
// created with a random name and dropped when the test ends.
const EngineEnv = "OMNICART_E2E_ENGINE"

// Postgres reports whether the suite runs on PostgreSQL (EngineEnv is
// "postgres").
func Postgres() bool { return os.Getenv(EngineEnv) == "postgres" }

// checkEngine returns why EngineEnv cannot be used, or nil.
func checkEngine() error {
	switch e := os.Getenv(EngineEnv); e {
	case "", "sqlite":
		return nil
	case "postgres":
		if os.Getenv(pgtest.EnvVar) == "" {
			return fmt.Errorf("%s=postgres needs %s (an administrator's URL of a PostgreSQL server)", EngineEnv, pgtest.EnvVar)
		}
		return nil
	default:
		return fmt.Errorf("%s=%q: unknown engine (sqlite or postgres)", EngineEnv, e)
	}
}

// SkipOnPostgres skips tb when the suite runs on PostgreSQL, with the
// reason.
func SkipOnPostgres(tb testing.TB, why string) {
	tb.Helper()
	if Postgres() {
		tb.Skipf("skipped on PostgreSQL: %s", why)
	}
}

// Main builds the binary once, runs the tests and removes it. Call it from
// TestMain.
func Main(m *testing.M) {
	if err := checkEngine(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
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
	tb  testing.TB
	bin string
	// DBPath is the server's SQLite database file. On PostgreSQL no such
	// file exists: the path names the database (StartOn with it starts
	// another server on the same database), and the answer key file is
	// DBPath+".key" on either engine.
	DBPath string
	// Database is what --database says: sqlite:DBPath, or the URL of the
	// PostgreSQL database.
	Database string
	URL      string
	args     []string

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
// processes sharing one database. On PostgreSQL the path names a database
// created by the first server started with it.
func StartOn(tb testing.TB, dbPath string, extra ...string) *Server {
	tb.Helper()
	s := &Server{tb: tb, bin: Binary(tb), DBPath: dbPath, Database: database(tb, dbPath), args: extra}
	s.start()
	tb.Cleanup(func() { s.Stop() })
	return s
}

// pgDatabases maps the DBPath of a server on PostgreSQL to its database's
// URL, while the test that created it runs.
var pgDatabases = struct {
	sync.Mutex
	urls map[string]string
}{urls: map[string]string{}}

// database returns the --database value for the database named by dbPath:
// sqlite:dbPath, or on PostgreSQL the URL of the database created for
// dbPath (the first time, for the test tb: dropped when it ends).
func database(tb testing.TB, dbPath string) string {
	tb.Helper()
	if !Postgres() {
		return "sqlite:" + dbPath
	}
	if err := checkEngine(); err != nil {
		tb.Fatal(err)
	}
	pgDatabases.Lock()
	defer pgDatabases.Unlock()
	if url, ok := pgDatabases.urls[dbPath]; ok {
		return url
	}
	url := pgtest.URL(tb) // CREATE DATABASE; DROP ... WITH (FORCE) at the end
	pgDatabases.urls[dbPath] = url
	tb.Cleanup(func() {
		pgDatabases.Lock()
		delete(pgDatabases.urls, dbPath)
		pgDatabases.Unlock()
	})
	return url
}

// serveArgs are the flags of `omnicart serve` naming the database
// (dbPath, url as database returns them) and, on PostgreSQL, the answer
// key file beside dbPath (on SQLite, the server's default place).
func serveArgs(dbPath, url string) []string {
	args := []string{"--database", url}
	if Postgres() {
		args = append(args, "--answer-key-file", dbPath+".key")
	}
	return args
}

// DatabaseArgs returns the flags of `omnicart serve` naming a new, empty
// database for the engine of the suite (--database, and on PostgreSQL
// --answer-key-file), for a test that runs the binary itself.
func DatabaseArgs(tb testing.TB) []string {
	tb.Helper()
	dbPath := filepath.Join(tb.TempDir(), "omnicart.db")
	return serveArgs(dbPath, database(tb, dbPath))
}

func (s *Server) start() {
	s.tb.Helper()
	args := append(append([]string{"serve", "--listen", "127.0.0.1:0"}, serveArgs(s.DBPath, s.Database)...), s.args...)
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
	cmd := exec.CommandContext(ctx, s.bin, append(args, "--database", s.Database)...)
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

// SQL opens the server's database for a test that looks inside it (or
// edits it while the server is stopped): the SQLite file through the
// pure-Go driver, waiting up to 10 s for a lock, or the PostgreSQL
// database through pgx. Queries number their parameters ($1, $2, ...),
// which both engines read. The handle is closed when the test ends.
func (s *Server) SQL(tb testing.TB) *sql.DB {
	tb.Helper()
	driver, dsn := "sqlite", "file:"+s.DBPath+"?_pragma=busy_timeout(10000)"
	if Postgres() {
		driver, dsn = "pgx", s.Database
	}
	db, err := sql.Open(driver, dsn)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	return db
}

// Stored returns what the server's database holds, as bytes to search, by
// where it was read: on SQLite the database file and those of its WAL,
// shared memory and rollback journal that exist, read whole; on PostgreSQL
// every table's column names and the values of its rows (text and bytea
// as stored, other values printed), one per line. (PostgreSQL's own WAL
// and data files are the server's, not readable here.)
func (s *Server) Stored(tb testing.TB) map[string][]byte {
	tb.Helper()
	if Postgres() {
		return s.pgTables(tb)
	}
	out := map[string][]byte{}
	for _, suffix := range []string{"", "-wal", "-shm", "-journal"} {
		data, err := os.ReadFile(s.DBPath + suffix)
		if os.IsNotExist(err) && suffix != "" {
			continue
		}
		if err != nil {
			tb.Fatal(err)
		}
		out[filepath.Base(s.DBPath+suffix)] = data
	}
	return out
}

// pgTables reads every table of the server's PostgreSQL database (Stored).
func (s *Server) pgTables(tb testing.TB) map[string][]byte {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	conn, err := pgx.Connect(ctx, s.Database)
	if err != nil {
		tb.Fatal(err)
	}
	defer conn.Close(context.Background())
	rows, err := conn.Query(ctx, `SELECT table_name FROM information_schema.tables
		WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' ORDER BY table_name`)
	if err != nil {
		tb.Fatal(err)
	}
	tables, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		tb.Fatal(err)
	}
	if len(tables) == 0 {
		tb.Fatalf("database %s has no tables", s.Database)
	}
	out := map[string][]byte{}
	for _, table := range tables {
		rows, err := conn.Query(ctx, `SELECT * FROM `+pgx.Identifier{table}.Sanitize())
		if err != nil {
			tb.Fatal(err)
		}
		var b bytes.Buffer
		for _, f := range rows.FieldDescriptions() {
			b.WriteString(f.Name + "\n")
		}
		for rows.Next() {
			vals, err := rows.Values()
			if err != nil {
				tb.Fatal(err)
			}
			for _, v := range vals {
				switch v := v.(type) {
				case nil:
				case []byte:
					b.Write(v)
				case string:
					b.WriteString(v)
				default:
					fmt.Fprint(&b, v)
				}
				b.WriteByte('\n')
			}
		}
		if err := rows.Err(); err != nil {
			tb.Fatal(err)
		}
		out["table "+table] = b.Bytes()
	}
	return out
}

type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
