package chaos

import (
	"encoding/binary"
	"os"
	"time"
)

// The WAL guard. Under the campaign's load the server's WAL never starts
// over: its checkpointer copies the frames into the database file
// (PASSIVE, every 0.5 s), but SQLite rewinds a WAL only when a write finds
// every frame copied and no reader still on an older snapshot, which
// never happens while requests keep coming. The WAL file then grows by
// about 10 MB/s, and each restart after a kill reads all of it (about
// 1 s per GB). With Config.WALLimit set, a guard pauses every request of
// the campaign whenever the frames in use exceed it, until the
// checkpointer has copied them all, so that the server's next write starts
// the WAL over. The pauses are counted in the report (WAL).

// walState reads, from the WAL index (the -shm file) and the WAL header,
// how many bytes of frames the WAL holds and whether the checkpointer has
// copied them all into the database file. ok is false when either cannot
// be read.
func walState(dbPath string) (inUse int64, copied, ok bool) {
	shm, err := os.Open(dbPath + "-shm")
	if err != nil {
		return 0, false, false
	}
	defer shm.Close()
	var idx [100]byte
	if _, err := shm.ReadAt(idx[:], 0); err != nil {
		return 0, false, false
	}
	// WalIndexHdr (native byte order): szPage u16 at 14, mxFrame u32 at
	// 16; WalCkptInfo after the two copies of the header: nBackfill u32
	// at 96.
	page := int64(binary.NativeEndian.Uint16(idx[14:]))
	if page == 1 {
		page = 65536
	}
	mxFrame := binary.NativeEndian.Uint32(idx[16:])
	nBackfill := binary.NativeEndian.Uint32(idx[96:])
	return int64(mxFrame) * (page + 24), nBackfill >= mxFrame, page > 0
}

// walGuard runs until quit is closed.
func (c *campaign) walGuard(quit <-chan struct{}) {
	if c.cfg.WALLimit <= 0 {
		return
	}
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-quit:
			return
		case <-t.C:
		}
		inUse, _, ok := walState(c.srv.dbPath)
		if !ok || inUse <= c.cfg.WALLimit {
			continue
		}
		t0 := time.Now()
		c.gate.Lock()
		copied := false
		for time.Since(t0) < 10*time.Second && !copied {
			time.Sleep(50 * time.Millisecond)
			_, copied, _ = walState(c.srv.dbPath)
		}
		c.gate.Unlock()
		c.stats.count("WAL", "pauses of the clients")
		c.stats.add("WAL", "pauses: ms in all", int(time.Since(t0).Milliseconds()))
		if !copied {
			c.stats.count("WAL", "pauses ended before every frame was copied")
		}
		c.logf("WAL: %d MB of frames; clients paused %s for the checkpointer", inUse>>20, time.Since(t0).Round(time.Millisecond))
	}
}
