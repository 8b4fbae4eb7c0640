// Package spool is the agent's durable FIFO of deliveries waiting for the
// fleet: a single bbolt file in which every Put and Ack is a committed
// (fsynced) transaction, so a crash or kill -9 at any point neither loses
// nor duplicates a delivery.
//
// Layout: bucket "q" maps an 8-byte big-endian sequence (NextSequence) to
// one byte of kind ('h' heartbeat only, 'f' anything else) followed by the
// delivery's JSON; bucket "keys" maps a Delivery.Key to its sequence, so
// the same key Put twice is stored once; bucket "done" remembers the keys
// of the last acknowledged deliveries (sequence → key), so a Put repeated
// after its delivery was sent (the agent crashed between Send and saving
// its state) is not sent again.
package spool

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/banwatch/banwatch/agent"
)

// ErrFull is returned by Put when the delivery does not fit even after the
// heartbeats in the spool are dropped. Findings are never dropped.
var ErrFull = errors.New("spool full")

// ErrLocked is returned by Open when another process (the running agent)
// holds the spool.
var ErrLocked = errors.New("spool is in use by another process")

// RememberAcked is how many acknowledged keys the spool remembers to
// ignore a repeated Put of a delivery already sent.
const RememberAcked = 1024

const (
	kindHeartbeat = 'h'
	kindFindings  = 'f'
)

var (
	bucketQueue = []byte("q")
	bucketKeys  = []byte("keys")
	bucketDone  = []byte("done")
)

// Spool is a durable, bounded FIFO of deliveries. Its methods are safe for
// concurrent use.
type Spool struct {
	db       *bolt.DB
	maxBytes int64

	mu    sync.Mutex // serialises writes and guards n and bytes
	n     int
	bytes int64
}

// Dropped says which heartbeats a Put dropped to make room.
type Dropped struct {
	Keys  []string
	Bytes int64
}

// String is the note for the log.
func (d Dropped) String() string {
	if len(d.Keys) == 0 {
		return ""
	}
	return fmt.Sprintf("spool full: dropped %d heartbeat(s) (%d bytes): %s", len(d.Keys), d.Bytes, strings.Join(d.Keys, ", "))
}

// Open opens (creating if needed) the spool at path, bounded to maxBytes
// of queued deliveries (0 or less: unbounded). bbolt holds an exclusive
// file lock for as long as the spool is open; Open gives up after a
// second with ErrLocked rather than hang behind the running agent.
func Open(path string, maxBytes int64) (*Spool, error) {
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: time.Second})
	if err != nil {
		if errors.Is(err, bolt.ErrTimeout) {
			return nil, fmt.Errorf("open spool %s: %w", path, ErrLocked)
		}
		return nil, fmt.Errorf("open spool %s: %w", path, err)
	}
	s := &Spool{db: db, maxBytes: maxBytes}
	err = db.Update(func(tx *bolt.Tx) error {
		for _, name := range [][]byte{bucketQueue, bucketKeys, bucketDone} {
			if _, err := tx.CreateBucketIfNotExists(name); err != nil {
				return err
			}
		}
		return tx.Bucket(bucketQueue).ForEach(func(_, v []byte) error {
			s.n++
			s.bytes += int64(len(v))
			return nil
		})
	})
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("open spool %s: %w", path, err)
	}
	return s, nil
}

// Close closes the spool and releases its lock.
func (s *Spool) Close() error {
	return s.db.Close()
}

// Len is the number of queued deliveries.
func (s *Spool) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.n
}

// Bytes is the size of the queued deliveries (their stored records), the
// figure bounded by maxBytes. The file itself is larger and does not
// shrink: bbolt reuses freed pages.
func (s *Spool) Bytes() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.bytes
}

func seqKey(seq uint64) []byte {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], seq)
	return b[:]
}

// Put stores d at the end of the queue and returns once the transaction
// is committed to disk. A delivery whose key is queued, or was
// acknowledged recently, is not stored again. When d does not fit, the
// oldest heartbeat-only deliveries are dropped to make room (returned in
// Dropped, for the caller to log); if that is not enough, nothing is
// dropped and Put returns ErrFull.
func (s *Spool) Put(d *agent.Delivery) (Dropped, error) {
	if d == nil || d.Key == "" {
		return Dropped{}, errors.New("spool: delivery without a key")
	}
	body, err := json.Marshal(d)
	if err != nil {
		return Dropped{}, fmt.Errorf("spool: encode delivery %s: %w", d.Key, err)
	}
	kind := byte(kindFindings)
	if d.Heartbeat() {
		kind = kindHeartbeat
	}
	val := make([]byte, 0, len(body)+1)
	val = append(append(val, kind), body...)
	size := int64(len(val))

	s.mu.Lock()
	defer s.mu.Unlock()
	var dropped Dropped
	stored := false
	err = s.db.Update(func(tx *bolt.Tx) error {
		q, keys := tx.Bucket(bucketQueue), tx.Bucket(bucketKeys)
		if keys.Get([]byte(d.Key)) != nil {
			return nil // queued or recently sent: stored once
		}
		if s.maxBytes > 0 && s.bytes+size > s.maxBytes {
			if size > s.maxBytes {
				return fmt.Errorf("%w: delivery %s is %d bytes, the spool holds %d", ErrFull, d.Key, size, s.maxBytes)
			}
			need := s.bytes + size - s.maxBytes
			var drop [][]byte
			var freed int64
			c := q.Cursor()
			for k, v := c.First(); k != nil && freed < need; k, v = c.Next() {
				if len(v) > 0 && v[0] == kindHeartbeat {
					drop = append(drop, bytes.Clone(k))
					freed += int64(len(v))
				}
			}
			if freed < need {
				return fmt.Errorf("%w: %d bytes queued of %d, delivery %s needs %d and no heartbeat is left to drop", ErrFull, s.bytes, s.maxBytes, d.Key, size)
			}
			for _, k := range drop {
				v := q.Get(k)
				var old agent.Delivery
				if err := json.Unmarshal(v[1:], &old); err == nil && old.Key != "" {
					dropped.Keys = append(dropped.Keys, old.Key)
					if err := keys.Delete([]byte(old.Key)); err != nil {
						return err
					}
				}
				dropped.Bytes += int64(len(v))
				if err := q.Delete(k); err != nil {
					return err
				}
			}
		}
		seq, err := q.NextSequence()
		if err != nil {
			return err
		}
		if err := q.Put(seqKey(seq), val); err != nil {
			return err
		}
		stored = true
		return keys.Put([]byte(d.Key), seqKey(seq))
	})
	if err != nil {
		if errors.Is(err, ErrFull) {
			return Dropped{}, err
		}
		return Dropped{}, fmt.Errorf("spool: put %s: %w", d.Key, err)
	}
	if stored {
		s.n += 1 - len(dropped.Keys)
		s.bytes += size - dropped.Bytes
	}
	return dropped, nil
}

// Peek returns the oldest queued delivery and its sequence; ok is false
// when the spool is empty.
func (s *Spool) Peek() (seq uint64, d *agent.Delivery, ok bool, err error) {
	err = s.db.View(func(tx *bolt.Tx) error {
		k, v := tx.Bucket(bucketQueue).Cursor().First()
		if k == nil {
			return nil
		}
		seq = binary.BigEndian.Uint64(k)
		if len(v) < 1 {
			return fmt.Errorf("spool: record %d is empty", seq)
		}
		d = new(agent.Delivery)
		if err := json.Unmarshal(v[1:], d); err != nil {
			return fmt.Errorf("spool: decode record %d: %w", seq, err)
		}
		ok = true
		return nil
	})
	if err != nil {
		return 0, nil, false, err
	}
	return seq, d, ok, nil
}

// Ack removes the delivery seq after it was delivered, and remembers its
// key so that a repeated Put of it is ignored. Acking a sequence no
// longer queued (acked before, or dropped) does nothing.
func (s *Spool) Ack(seq uint64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	var size int64
	err := s.db.Update(func(tx *bolt.Tx) error {
		q, keys, done := tx.Bucket(bucketQueue), tx.Bucket(bucketKeys), tx.Bucket(bucketDone)
		k := seqKey(seq)
		v := q.Get(k)
		if v == nil {
			return nil
		}
		size = int64(len(v))
		var d agent.Delivery
		if len(v) > 0 && json.Unmarshal(v[1:], &d) == nil && d.Key != "" {
			if err := done.Put(k, []byte(d.Key)); err != nil {
				return err
			}
		}
		if err := q.Delete(k); err != nil {
			return err
		}
		// Forget the oldest acknowledged keys beyond RememberAcked.
		c := done.Cursor()
		extra := -RememberAcked
		for k, _ := c.First(); k != nil; k, _ = c.Next() {
			extra++
		}
		for dk, key := c.First(); dk != nil && extra > 0; dk, key = c.First() {
			if sk := keys.Get(key); sk != nil && bytes.Equal(sk, dk) {
				if err := keys.Delete(key); err != nil {
					return err
				}
			}
			if err := c.Delete(); err != nil {
				return err
			}
			extra--
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("spool: ack %d: %w", seq, err)
	}
	if size > 0 {
		s.n--
		s.bytes -= size
	}
	return nil
}
