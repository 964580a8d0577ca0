package cartdoc

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"reflect"
	"sync"
	"testing"

	"github.com/omnicart/omnicart"
)

// TestCacheAnswersWhatDecodeAnswers decodes random documents through a
// small cache, each several times and interleaved with others (hits,
// misses and evictions), and checks every answer against Decode, that a
// caller's change to an answer never reaches a later one, and that the
// cache keeps to its size.
func TestCacheAnswersWhatDecodeAnswers(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	var docs [][]byte
	for range 40 {
		c := randomCart(r)
		doc, err := json.Marshal(&c)
		if err != nil {
			t.Fatal(err)
		}
		docs = append(docs, doc)
	}
	cache := NewCache(32 << 10) // keeps documents of up to 2 KiB, about 20 of them
	for i := range 2000 {
		doc := docs[r.IntN(len(docs))]
		got, err := cache.Decode(doc)
		if err != nil {
			t.Fatalf("read %d: %v", i, err)
		}
		var want omnicart.Cart
		if err := Decode(doc, &want); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(&want, got) {
			t.Fatalf("read %d: the cache answered\n%+v\nDecode\n%+v", i, *got, want)
		}
		// The caller owns its answer: spoil it, the next read must not see it.
		got.ID, got.Sequence = "spoiled", -1
		for j := range got.Items {
			got.Items[j].Full = -1
			if got.Items[j].Timer != nil {
				got.Items[j].Timer.Left = -1
			}
			if len(got.Items[j].Reached) > 0 {
				got.Items[j].Reached[0] = "spoiled"
			}
		}
		if got.Card != nil {
			got.Card.Last4 = "spoiled"
		}
		if cache.bytes > cache.maxBytes {
			t.Fatalf("read %d: the cache holds %d bytes of documents, more than %d", i, cache.bytes, cache.maxBytes)
		}
	}
	if len(cache.entries) == 0 || len(cache.entries) >= len(docs) {
		t.Fatalf("the cache holds %d of %d documents: it should hold some and have forgotten others", len(cache.entries), len(docs))
	}
}

// TestCacheRefusesWhatDecodeRefuses: a damaged document is an error,
// each time it is read.
func TestCacheRefusesWhatDecodeRefuses(t *testing.T) {
	cache := NewCache(1 << 20)
	for i := range 2 {
		if c, err := cache.Decode([]byte(`{"items":{}}`)); err == nil {
			t.Errorf("read %d: a damaged document decoded as %+v", i, c)
		}
	}
}

// BenchmarkCache reads one document again and again (a status polled).
func BenchmarkCache(b *testing.B) {
	doc := []byte(statusDoc)
	cache := NewCache(1 << 20)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := cache.Decode(doc); err != nil {
			b.Fatal(fmt.Sprint(err))
		}
	}
}

// TestCacheCountsWhatItHolds enters documents into a cache with room for
// few, some under a hash already held (the same document decoded by two
// requests at once, or two documents whose hashes collide), and checks
// that its byte count stays the sum of what it holds.
func TestCacheCountsWhatItHolds(t *testing.T) {
	cache := NewCache(100)
	for i, e := range []struct {
		h uint64
		n int
	}{{1, 30}, {2, 60}, {1, 50}, {3, 40}, {3, 40}, {2, 10}, {1, 90}, {4, 100}, {4, 20}, {5, 30}} {
		cache.keep(e.h, bytes.Repeat([]byte{'x'}, e.n), &omnicart.Cart{})
		sum := 0
		for _, e := range cache.entries {
			sum += len(e.doc)
		}
		if sum != cache.bytes || sum > cache.maxBytes {
			t.Fatalf("entry %d: the cache counts %d bytes, holds %d (at most %d)", i, cache.bytes, sum, cache.maxBytes)
		}
	}
}

// TestCacheConcurrentDecodes decodes a few documents from several
// goroutines at once (run with -race) and checks every answer.
func TestCacheConcurrentDecodes(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	var docs [][]byte
	var want []omnicart.Cart
	for range 6 {
		c := randomCart(r)
		doc, _ := json.Marshal(&c)
		var w omnicart.Cart
		if err := Decode(doc, &w); err != nil {
			t.Fatal(err)
		}
		docs, want = append(docs, doc), append(want, w)
	}
	cache := NewCache(64 << 10) // room for all six
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := range 300 {
				k := (g + i) % len(docs)
				got, err := cache.Decode(append([]byte(nil), docs[k]...)) // a fresh copy, as a scan gives
				if err != nil || !reflect.DeepEqual(got, &want[k]) {
					t.Errorf("document %d: %v", k, err)
					return
				}
				got.Sequence = -1 // the caller's to change
			}
		})
	}
	wg.Wait()
	if len(cache.entries) != len(docs) {
		t.Fatalf("the cache holds %d of the %d documents", len(cache.entries), len(docs))
	}
}
