package chaos

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"unicode/utf8"
)

// The card-data check: no card number and no CVC in the database, its WAL
// (also as each kill left it) or the server's output.
//
// Card numbers are found as the digits of a run of digits, spaces and
// dashes that contains the digits of a number typed during the campaign,
// however it was grouped. The CVC is found as a token (set apart from
// letters, digits, '.', '-' and '_'), and the word "cvc" in any case (a
// stored card field) as a word (set apart from letters and digits). In the database file and the WAL, which
// hold random bytes (sealed answers, hashes, secrets) where three given
// characters turn up by chance, a CVC or "cvc" counts only amid printable
// text; the rows themselves are also read through SQL, every text value
// in full (scanDatabase).

// cardContext is how many printable bytes must surround a CVC found in a
// binary file for it to count.
const cardContext = 12

// leak is card data found in a file.
type leak struct {
	what    string
	off     int
	context string
}

// cardDigits returns the digits of every card number typed so far.
func (c *campaign) cardDigits() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []string
	for _, n := range cards {
		out = append(out, keepDigits([]byte(n)))
	}
	for n := range c.typed {
		if d := keepDigits([]byte(n)); len(d) >= 12 && !slices.Contains(out, d) {
			out = append(out, d)
		}
	}
	slices.Sort(out)
	return out
}

// noteTyped records a card number typed outside the lifecycles (the
// hostile phase).
func (c *campaign) noteTyped(n string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.typed[n] = true
}

func keepDigits(b []byte) string {
	var sb strings.Builder
	for _, x := range b {
		if x >= '0' && x <= '9' {
			sb.WriteByte(x)
		}
	}
	return sb.String()
}

// scanBytes looks for card data in data (see above); binary says whether
// data is a database file or WAL.
func scanBytes(data []byte, numbers []string, binary bool) []leak {
	var out []leak
	add := func(what string, i, j int) {
		if len(out) < 20 {
			out = append(out, leak{what: what, off: i, context: fmt.Sprintf("%q", data[max(0, i-40):min(len(data), j+40)])})
		}
	}
	// Runs of digits, spaces and dashes that hold a typed number, found
	// from the numbers' first four digits (every way of typing a number
	// keeps them together).
	prefixes := map[string]bool{}
	for _, num := range numbers {
		prefixes[num[:4]] = true
	}
	seen := map[int]bool{}
	for p := range prefixes {
		for off := 0; ; {
			k := bytes.Index(data[off:], []byte(p))
			if k < 0 {
				break
			}
			i, j := off+k, off+k+4
			off = j
			for i > 0 && runByte[data[i-1]] {
				i--
			}
			for j < len(data) && runByte[data[j]] {
				j++
			}
			if j-i < 12 || seen[i] {
				continue
			}
			seen[i] = true
			if d := keepDigits(data[i:j]); len(d) >= 12 {
				for _, num := range numbers {
					if strings.Contains(d, num) {
						add("card number "+num, i, j)
					}
				}
			}
		}
	}
	// The CVC, and the word cvc in any case.
	find := func(needle, what string, isToken bool) {
		for off := 0; ; {
			k := bytes.Index(data[off:], []byte(needle))
			if k < 0 {
				return
			}
			i := off + k
			if (!isToken || token(data, i, i+len(needle))) && (!binary || printableAround(data, i, i+len(needle))) {
				add(what, i, i+len(needle))
			}
			off = i + 1
		}
	}
	find(cvc, "CVC "+cvc, true)
	for _, v := range []byte{'v', 'V'} {
		for off := 0; ; {
			k := bytes.IndexByte(data[off:], v)
			if k < 0 {
				break
			}
			i := off + k - 1
			off += k + 1
			if i >= 0 && i+3 <= len(data) && data[i]|0x20 == 'c' && data[i+2]|0x20 == 'c' && word(data, i, i+3) && (!binary || printableAround(data, i, i+3)) {
				add("the word cvc (a card field)", i, i+3)
			}
		}
	}
	return out
}

// runByte tells the bytes a typed card number is made of.
var runByte = func() (t [256]bool) {
	for b := '0'; b <= '9'; b++ {
		t[b] = true
	}
	t[' '], t['-'] = true, true
	return t
}()

// token reports whether data[i:j] is set apart from what could continue
// a number or an identifier.
func token(data []byte, i, j int) bool {
	word := func(b byte) bool {
		return b >= '0' && b <= '9' || b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' || b == '_' || b == '-'
	}
	return (i == 0 || (!word(data[i-1]) && data[i-1] != '.')) && (j == len(data) || !word(data[j]))
}

// word reports whether data[i:j] is not part of a longer run of letters
// and digits ("cvc" as a field name: "cvc", cvc=, card_cvc; not the end of
// a hexadecimal id followed by bytes of an SQLite record header).
func word(data []byte, i, j int) bool {
	alnum := func(b byte) bool { return b >= '0' && b <= '9' || b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' }
	return (i == 0 || !alnum(data[i-1])) && (j == len(data) || !alnum(data[j]))
}

// printableAround reports whether cardContext bytes on each side of
// data[i:j] are printable text.
func printableAround(data []byte, i, j int) bool {
	ok := func(b []byte) bool {
		for _, x := range b {
			if (x < 0x20 || x > 0x7e) && x != '\n' && x != '\r' && x != '\t' {
				return false
			}
		}
		return true
	}
	return ok(data[max(0, i-cardContext):i]) && ok(data[j:min(len(data), j+cardContext)])
}

// walCopy is the part of the WAL (and its index) a kill left that the
// scanner has not seen yet.
type walCopy struct {
	label string
	files map[string][]byte
	base  map[string]int64 // the offset of each copy in its file
}

// startWALScanner scans, one after the other, the WAL copies the killer
// hands it; c.walDone is closed when the channel is closed and every copy
// scanned.
func (c *campaign) startWALScanner() chan walCopy {
	ch := make(chan walCopy, 1)
	c.walDone = make(chan struct{})
	go func() {
		defer close(c.walDone)
		numbers := c.cardDigits()
		for w := range ch {
			for name, data := range w.files {
				for _, l := range scanBytes(data, numbers, true) {
					c.fail(checkCardData, "%s: %s in the %s at offset %d: %s", w.label, l.what, name, w.base[name]+int64(l.off), l.context)
				}
				c.stats.add("card data", "MB of WAL scanned after kills", len(data)>>20)
			}
			c.stats.count("card data", "WALs scanned after kills")
			c.walBusy.Store(false)
		}
	}()
	return ch
}

// walCopyMax bounds what is copied of the WAL at one kill.
const walCopyMax = 256 << 20

// copyWAL reads what the WAL holds since the last copy (the server is
// down) and hands it and the WAL index to the scanner, unless it is still
// busy with the last ones. The WAL only grows until SQLite restarts it
// from its beginning with new salts: then what is new starts at its
// beginning. A copy is at most walCopyMax (the first frames of a restarted
// WAL, the latest of a grown one). It records the WAL's size.
func (c *campaign) copyWAL(ch chan<- walCopy, label string) {
	f, err := os.Open(c.srv.dbPath + "-wal")
	if err != nil {
		return
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return
	}
	size := fi.Size()
	c.mu.Lock()
	c.walSizes = append(c.walSizes, size)
	c.mu.Unlock()
	var salts [8]byte
	if _, err := f.ReadAt(salts[:], 16); err != nil {
		return
	}
	from := int64(0)
	if salts == c.walSalts && size >= c.walSeen {
		from = max(0, c.walSeen-scanOverlap) // the same WAL, grown
	}
	to := size
	if salts != c.walSalts {
		to = min(size, walCopyMax) // restarted: its new frames are at its beginning
	}
	if to-from > walCopyMax {
		c.stats.add("card data", "MB of WAL left unscanned after kills (over 256 MB new)", int((to-from-walCopyMax)>>20))
		from = to - walCopyMax
	}
	if c.walBusy.Load() || len(ch) > 0 {
		c.stats.count("card data", "WALs not scanned (scanner busy)")
		return
	}
	w := walCopy{label: label, files: map[string][]byte{}, base: map[string]int64{}}
	buf := make([]byte, to-from)
	if _, err := f.ReadAt(buf, from); err != nil {
		return
	}
	w.files["database-wal"], w.base["database-wal"] = buf, from
	if shm, err := os.ReadFile(c.srv.dbPath + "-shm"); err == nil {
		w.files["database-shm"] = shm
	}
	c.walSalts, c.walSeen = salts, size
	c.walBusy.Store(true)
	ch <- w
}

// scanOverlap is how much of a file two consecutive pieces share, so that
// card data across their border is seen: longer typed numbers are looked
// for in whole text values only (scanDatabase).
const scanOverlap = 8 << 10

// scanFile scans a file piece by piece. It reports whether the file holds
// want (a sign that the scan sees what it should).
func (c *campaign) scanFile(path string, numbers []string, binary bool, want []byte) (size int64, found bool, leaks []leak, err error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, false, nil, err
	}
	defer f.Close()
	const piece = 64 << 20
	buf := make([]byte, piece+scanOverlap)
	seen := map[int64]bool{}
	for off := int64(0); ; off += piece {
		n, err := f.ReadAt(buf, off)
		if n > 0 {
			size = off + int64(n)
			data := buf[:n]
			found = found || (want != nil && bytes.Contains(data, want))
			for _, l := range scanBytes(data, numbers, binary) {
				if at := off + int64(l.off); !seen[at] {
					seen[at] = true
					l.off = int(at)
					leaks = append(leaks, l)
				}
			}
		}
		if err != nil || n < len(buf) {
			if err == io.EOF {
				err = nil
			}
			return size, found, leaks, err
		}
	}
}

// scanFiles scans the database file, its WAL and index, and the server's
// output.
func (c *campaign) scanFiles(when string) {
	var numbers []string
	for _, n := range c.cardDigits() {
		if len(n) <= scanOverlap/2 {
			numbers = append(numbers, n)
		}
	}
	files := map[string]bool{c.srv.dbPath: true, c.srv.dbPath + "-wal": true, c.srv.dbPath + "-shm": true,
		filepath.Join(c.cfg.Dir, serverLog): false, filepath.Join(c.cfg.Dir, serverStdout): false}
	var total int64
	sees := false
	for path, binary := range files {
		var want []byte
		if path == c.srv.dbPath || path == c.srv.dbPath+"-wal" {
			want = []byte(`"brand":"visa","last4":"1111"`)
		}
		size, found, leaks, err := c.scanFile(path, numbers, binary, want)
		if os.IsNotExist(err) && path != c.srv.dbPath {
			continue
		}
		if err != nil {
			c.fail(checkCardData, "%s: %v", when, err)
			continue
		}
		total += size
		sees = sees || found
		for _, l := range leaks {
			c.fail(checkCardData, "%s: %s in %s at offset %d: %s", when, l.what, filepath.Base(path), l.off, l.context)
		}
	}
	// The scan sees the carts: what is kept of a card is there.
	if !sees {
		c.fail(checkCardData, "%s: no \"brand\":\"visa\",\"last4\":\"1111\" in the database files: the scan does not see the carts", when)
	}
	c.stats.set("card data", "MB scanned "+when, int(total>>20))
	if fi, err := os.Stat(c.srv.dbPath + "-wal"); err == nil {
		c.stats.set("WAL", "MB "+when, int(fi.Size()>>20))
	}
	c.logf("card data: %d MB scanned %s (database, WAL, index, logs)", total>>20, when)
}

// scanDatabase reads every row of every table of the stopped server's
// database and scans each text value (and each blob that is text) in full.
func (c *campaign) scanDatabase(ctx context.Context) error {
	db, err := sql.Open("sqlite", "file:"+c.srv.dbPath+"?mode=ro&_pragma=busy_timeout(30000)")
	if err != nil {
		return err
	}
	defer db.Close()
	var tables []string
	rows, err := db.QueryContext(ctx, `SELECT name FROM sqlite_master WHERE type = 'table'`)
	if err != nil {
		return err
	}
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			rows.Close()
			return err
		}
		tables = append(tables, name)
	}
	rows.Close()
	numbers := c.cardDigits()
	values := 0
	for _, t := range tables {
		rows, err := db.QueryContext(ctx, `SELECT * FROM "`+strings.ReplaceAll(t, `"`, `""`)+`"`)
		if err != nil {
			return err
		}
		cols, _ := rows.Columns()
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		for rows.Next() {
			if err := rows.Scan(ptrs...); err != nil {
				rows.Close()
				return err
			}
			for i, v := range vals {
				var text []byte
				switch v := v.(type) {
				case string:
					text = []byte(v)
				case []byte:
					if !utf8.Valid(v) || bytes.ContainsFunc(v, func(r rune) bool { return r < 0x20 && r != '\n' && r != '\t' && r != '\r' }) {
						continue // sealed, hashed or random: not text
					}
					text = v
				default:
					continue
				}
				values++
				for _, l := range scanBytes(text, numbers, false) {
					c.fail(checkCardData, "database table %s column %s: %s: %s", t, cols[i], l.what, l.context)
				}
			}
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return err
		}
	}
	c.stats.set("card data", "database text values scanned", values)
	return nil
}

// checkServerLog reads the server's log: no panic, no error, no 5xx, and
// nothing but JSON lines.
func (c *campaign) checkServerLog() {
	f, err := os.Open(filepath.Join(c.cfg.Dir, serverLog))
	if err != nil {
		c.fail(checkLog, "%v", err)
		return
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	lines, requests, shown := 0, 0, 0
	show := func(check, why, line string) {
		if len(line) > 600 {
			line = line[:600] + "…"
		}
		c.fail(check, "server log line %d: %s: %s", lines, why, line)
		shown++
	}
	for sc.Scan() {
		lines++
		line := sc.Text()
		var rec struct {
			Level  string `json:"level"`
			Msg    string `json:"msg"`
			Status int    `json:"status"`
			Path   string `json:"path"`
		}
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			why := "not a JSON log line"
			for _, p := range []string{"panic", "fatal error", "SIGSEGV", "DATA RACE", "goroutine "} {
				if strings.Contains(line, p) {
					why = "runtime output (" + p + ")"
				}
			}
			show(checkLog, why, line)
			continue
		}
		switch {
		case strings.Contains(strings.ToLower(rec.Msg), "panic") || strings.Contains(line, "panicked"):
			show(checkLog, "a panic", line)
		case rec.Level == "ERROR":
			show(checkLog, "an error", line)
		case rec.Level == "WARN":
			c.stats.count("server log", "WARN: "+rec.Msg)
		}
		if rec.Msg == "request" {
			requests++
			if rec.Status >= 500 {
				show(check5xx, "a 5xx answer", line)
			}
		}
	}
	if err := sc.Err(); err != nil {
		c.fail(checkLog, "reading the log: %v", err)
	}
	c.stats.set("server log", "lines", lines)
	c.stats.set("server log", "requests logged", requests)
}
