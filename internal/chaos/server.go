package chaos

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// server is the omnicart process under test: always the same binary,
// database and address, so that a restart keeps the clients' URLs valid.
type server struct {
	bin    string
	dbPath string
	addr   string // host:port, fixed for every incarnation
	logs   io.Writer
	stdout io.Writer // what the server prints to stdout, besides the listening line

	// life serializes kills, restarts and the restart after a crash, so
	// that two incarnations never compete for the port.
	life sync.Mutex
	// crashed is called, on its own goroutine, when an incarnation exits
	// although nobody signalled it (a panic, a fatal error, an OOM kill).
	crashed func(incarnation int, err error, stderrTail string)

	mu          sync.Mutex
	cmd         *exec.Cmd
	done        chan struct{}
	readyAt     time.Time // when the current incarnation printed its address
	incarnation int
	startTimes  []time.Duration // start-to-listening of every incarnation
}

// freePort returns a TCP address on 127.0.0.1 that was free a moment ago.
// The port lies outside the kernel's ephemeral range when it can: while the
// server is down, no outgoing connection (of this process or another) can
// then take it as its source port, which would keep the restart from
// listening on it.
func freePort() (string, error) {
	lo, hi := 32768, 60999
	if b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range"); err == nil {
		if f := strings.Fields(string(b)); len(f) == 2 {
			l, err1 := strconv.Atoi(f[0])
			h, err2 := strconv.Atoi(f[1])
			if err1 == nil && err2 == nil {
				lo, hi = l, h
			}
		}
	}
	var ranges [][2]int
	if lo > 11000 {
		ranges = append(ranges, [2]int{10000, lo})
	}
	if hi < 64000 {
		ranges = append(ranges, [2]int{hi + 1, 65536})
	}
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), uint64(os.Getpid())))
	for i := 0; i < 200 && len(ranges) > 0; i++ {
		r := ranges[rng.IntN(len(ranges))]
		addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(r[0]+rng.IntN(r[1]-r[0])))
		if ln, err := net.Listen("tcp", addr); err == nil {
			return addr, ln.Close()
		}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	addr := ln.Addr().String()
	return addr, ln.Close()
}

// env is the environment of every omnicart process: the variables that
// would override the flags are cleared.
func env() []string {
	return append(os.Environ(), "OMNICART_LISTEN=", "OMNICART_DATABASE=", "OMNICART_PUBLIC_URL=")
}

// admin runs an operator subcommand on the database and returns its stdout.
func (s *server) admin(ctx context.Context, args ...string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, s.bin, append(args, "--database", "sqlite:"+s.dbPath)...)
	cmd.Env = env()
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("omnicart %s: %v\n%s%s", strings.Join(args, " "), err, stdout.Bytes(), stderr.Bytes())
	}
	return stdout.Bytes(), nil
}

// createMerchant creates a test-mode merchant: every privilege, capture
// windows from 1 s, an auto-action lead of leadTime, the given catalog.
func (s *server) createMerchant(ctx context.Context, name string, items []string) (id, key string, err error) {
	// The merchants are created before the first start: merchant create
	// works on an existing database only, migrate creates it.
	if _, err := s.admin(ctx, "migrate"); err != nil {
		return "", "", err
	}
	out, err := s.admin(ctx, "merchant", "create", "--name", name, "--items", strings.Join(items, ","),
		"--all-privileges", "--capture-window", "1-604800", "--auto-action-lead", strconv.Itoa(int(leadTime/time.Second)),
		"--cart-expiry", strconv.Itoa(int(cartExpiry/time.Second)), "--json")
	if err != nil {
		return "", "", err
	}
	var res struct {
		MerchantID string `json:"merchantId"`
		APIKey     string `json:"apiKey"`
	}
	if err := json.Unmarshal(out, &res); err != nil || res.MerchantID == "" || res.APIKey == "" {
		return "", "", fmt.Errorf("merchant create printed %q: %v", out, err)
	}
	return res.MerchantID, res.APIKey, nil
}

// start runs `omnicart serve` and waits until it listens. The port may
// still be held for a moment by the incarnation just killed: start tries
// again for a few seconds.
func (s *server) start() error {
	var err error
	for range 50 {
		if err = s.startOnce(); err == nil || !strings.Contains(err.Error(), "address already in use") {
			return err
		}
		time.Sleep(100 * time.Millisecond)
	}
	return err
}

func (s *server) startOnce() error {
	t0 := time.Now()
	cmd := exec.Command(s.bin, "serve", "--listen", s.addr, "--database", "sqlite:"+s.dbPath)
	cmd.Env = env()
	out, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	var stderr lockedBuffer
	cmd.Stderr = io.MultiWriter(&stderr, s.logs)
	if err := cmd.Start(); err != nil {
		return err
	}
	listening := make(chan struct{})
	done := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(out)
		seen := false
		for sc.Scan() {
			if !seen && strings.HasPrefix(sc.Text(), "OmniCart listening on ") {
				seen = true
				close(listening)
				continue
			}
			if s.stdout != nil {
				fmt.Fprintln(s.stdout, sc.Text())
			}
		}
		err := cmd.Wait()
		close(done)
		s.mu.Lock()
		mine := s.cmd == cmd // nobody signalled this incarnation
		inc := s.incarnation
		if mine {
			s.cmd, s.done, s.readyAt = nil, nil, time.Time{}
		}
		s.mu.Unlock()
		if mine && s.crashed != nil {
			tail := stderr.String()
			if len(tail) > 4000 {
				tail = tail[len(tail)-4000:]
			}
			go s.crashed(inc, err, tail)
		}
	}()
	select {
	case <-listening:
	case <-done:
		return fmt.Errorf("omnicart serve exited before listening: %s", stderr.String())
	case <-time.After(60 * time.Second):
		_ = cmd.Process.Kill()
		<-done
		return errors.New("omnicart serve did not listen within 60 s")
	}
	s.mu.Lock()
	s.cmd, s.done = cmd, done
	s.readyAt = time.Now()
	s.incarnation++
	s.startTimes = append(s.startTimes, time.Since(t0))
	s.mu.Unlock()
	select {
	case <-done: // exited between listening and here: its watcher did not see it as ours
		s.mu.Lock()
		if s.cmd == cmd {
			s.cmd, s.done, s.readyAt = nil, nil, time.Time{}
		}
		s.mu.Unlock()
		return fmt.Errorf("omnicart serve exited just after it started listening: %s", stderr.String())
	default:
	}
	return nil
}

// kill stops the server with SIGKILL, as a crash would, and waits for the
// process to be gone.
func (s *server) kill() { s.signal(syscall.SIGKILL) }

// running reports whether an incarnation is up.
func (s *server) running() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cmd != nil
}

// restartIfDown starts the server unless an incarnation is up (after a
// crash: the killer may have restarted it already).
func (s *server) restartIfDown() error {
	s.life.Lock()
	defer s.life.Unlock()
	if s.running() {
		return nil
	}
	return s.start()
}

// stop sends SIGTERM and waits for a clean exit (at most 40 s, then
// SIGKILL).
func (s *server) stop() { s.signal(syscall.SIGTERM) }

func (s *server) signal(sig syscall.Signal) {
	s.mu.Lock()
	cmd, done := s.cmd, s.done
	s.cmd, s.done = nil, nil
	s.readyAt = time.Time{}
	s.mu.Unlock()
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

// uptime is how long the current incarnation has been listening (0 while
// the server is down).
func (s *server) uptime() time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.readyAt.IsZero() {
		return 0
	}
	return time.Since(s.readyAt)
}

// lockedBuffer keeps the last 64 KiB written to it, safe for one writer
// and other readers.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

const tailBytes = 64 << 10

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.b.Len()+len(p) > 2*tailBytes {
		keep := l.b.Bytes()[max(0, l.b.Len()-tailBytes):]
		var nb bytes.Buffer
		nb.Write(keep)
		l.b = nb
	}
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
