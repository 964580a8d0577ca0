package pgserver

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Server is a private PostgreSQL server.
type Server struct {
	tb   testing.TB
	bin  string // directory of the PostgreSQL binaries
	dir  string // data directory
	log  string
	Port int
	// URL is the admin URL of the server's "postgres" database.
	URL string
}

// Available reports the directory of the PostgreSQL server binaries, or ""
// when they are not installed.
func Available() string {
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Strings(dirs)
	for i := len(dirs) - 1; i >= 0; i-- {
		if _, err := os.Stat(filepath.Join(dirs[i], "initdb")); err == nil {
			return dirs[i]
		}
	}
	return ""
}

// Start initialises and starts a private server; it is stopped (immediate
// mode) when the test ends. The test is skipped when PostgreSQL's binaries
// are missing, unless CI is set.
func Start(tb testing.TB) *Server {
	tb.Helper()
	bin := Available()
	if bin == "" {
		if os.Getenv("CI") != "" {
			tb.Fatal("PostgreSQL server binaries are missing (apt-get install postgresql)")
		}
		tb.Skip("PostgreSQL server binaries are missing")
	}
	root, err := os.MkdirTemp("", "omnicart-pg-")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { os.RemoveAll(root) })
	s := &Server{tb: tb, bin: bin, dir: filepath.Join(root, "data"), log: filepath.Join(root, "server.log"), Port: freePort(tb)}
	if err := os.Chmod(root, 0o777); err != nil {
		tb.Fatal(err)
	}
	s.run("initdb", "-D", s.dir, "-U", "postgres", "--auth=trust", "--no-sync", "-E", "UTF8")
	conf := fmt.Sprintf("\nport = %d\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = '%s'\nmax_connections = 200\nfsync = on\nsynchronous_commit = on\n",
		s.Port, root)
	f, err := os.OpenFile(filepath.Join(s.dir, "postgresql.conf"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		tb.Fatal(err)
	}
	_, _ = f.WriteString(conf)
	f.Close()
	s.URL = fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", s.Port)
	s.Start()
	tb.Cleanup(func() { s.ctl("stop", "-m", "immediate") })
	return s
}

// Start starts the (stopped) server and waits until it accepts
// connections.
func (s *Server) Start() {
	s.tb.Helper()
	s.ctl("start", "-w", "-t", "60", "-l", s.log)
}

// Stop stops the server: fast mode closes connections, immediate mode is
// a crash (recovery at the next start).
func (s *Server) Stop(mode string) {
	s.tb.Helper()
	s.ctl("stop", "-w", "-m", mode)
}

// Restart stops the server in fast mode and starts it again.
func (s *Server) Restart() {
	s.tb.Helper()
	s.Stop("fast")
	s.Start()
}

func (s *Server) ctl(args ...string) {
	s.tb.Helper()
	s.run("pg_ctl", append([]string{"-D", s.dir}, args...)...)
}

// run runs a PostgreSQL binary, as the postgres user when we are root.
func (s *Server) run(name string, args ...string) {
	s.tb.Helper()
	path := filepath.Join(s.bin, name)
	var cmd *exec.Cmd
	if os.Geteuid() == 0 {
		if _, err := user.Lookup("postgres"); err != nil {
			s.tb.Fatalf("running as root needs the postgres user: %v", err)
		}
		cmd = exec.Command("runuser", append([]string{"-u", "postgres", "--", path}, args...)...)
	} else {
		cmd = exec.Command(path, args...)
	}
	out, err := cmd.CombinedOutput()
	if err != nil {
		logs, _ := os.ReadFile(s.log)
		s.tb.Fatalf("%s %s: %v\n%s\n%s", name, strings.Join(args, " "), err, out, logs)
	}
}

func freePort(tb testing.TB) int {
	tb.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	defer l.Close()
	_, p, _ := net.SplitHostPort(l.Addr().String())
	n, _ := strconv.Atoi(p)
	return n
}

// WaitReady waits until the server accepts TCP connections again.
func (s *Server) WaitReady(d time.Duration) bool {
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", s.Port), time.Second)
		if err == nil {
			c.Close()
			return true
		}
		time.Sleep(50 * time.Millisecond)
	}
	return false
}
