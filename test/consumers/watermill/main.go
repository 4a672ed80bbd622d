// A real Watermill consumer for the replay tests (test/replay/consumer-layouts.test.ts): it reads
// a Redis stream with watermill-redisstream's Subscriber in a consumer group, exactly as a
// Watermill service would, and prints what its handler was given.
//
//	watermill-consumer STREAM GROUP WANT [--append-valid]
//
// The group is created at 0 (the entries already in the stream are delivered). With
// --append-valid, one well-formed message (uuid "appended-valid") is published first through
// watermill's own Publisher, after the entries under test: a subscriber that stopped on an
// entry it could not read never delivers it. It stops once WANT messages arrived, or after 15 s.
// Output (stdout, JSON): {"received": [{"uuid", "metadata": {name: base64}, "payload": base64}],
// "loggedErrors": {text: count}, "pending": n}. Base64 because metadata and payload are bytes.
// Redis at $DLQ_REDIS_ADDR (host:port), 127.0.0.1:16379 by default.
package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill-redisstream/pkg/redisstream"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/redis/go-redis/v9"
)

func must(err error, what string) {
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", what, err)
		os.Exit(1)
	}
}

func client() *redis.Client {
	addr := os.Getenv("DLQ_REDIS_ADDR")
	if addr == "" {
		addr = "127.0.0.1:16379"
	}
	return redis.NewClient(&redis.Options{Addr: addr})
}

// errorLog keeps what the subscriber logs: the reason when an entry is not delivered.
type errorLog struct {
	watermill.LoggerAdapter
	mu     sync.Mutex
	errors []string
}

func (l *errorLog) Error(msg string, err error, fields watermill.LogFields) {
	l.mu.Lock()
	l.errors = append(l.errors, fmt.Sprintf("%s: %v", msg, err))
	l.mu.Unlock()
}

func (l *errorLog) With(fields watermill.LogFields) watermill.LoggerAdapter { return l }

type got struct {
	UUID     string            `json:"uuid"`
	Metadata map[string]string `json:"metadata"`
	Payload  string            `json:"payload"`
}

func main() {
	if len(os.Args) < 4 {
		fmt.Fprintln(os.Stderr, "usage: watermill-consumer STREAM GROUP WANT [--append-valid]")
		os.Exit(2)
	}
	stream, group := os.Args[1], os.Args[2]
	want, err := strconv.Atoi(os.Args[3])
	must(err, "WANT")
	appendValid := len(os.Args) > 4 && os.Args[4] == "--append-valid"

	rc := client()
	defer rc.Close()
	if err := rc.XGroupCreateMkStream(context.Background(), stream, group, "0").Err(); err != nil && !strings.Contains(err.Error(), "BUSYGROUP") {
		must(err, "xgroup create")
	}
	logger := &errorLog{LoggerAdapter: watermill.NopLogger{}}
	if appendValid {
		pub, err := redisstream.NewPublisher(redisstream.PublisherConfig{Client: rc}, logger)
		must(err, "publisher")
		valid := message.NewMessage("appended-valid", []byte(`{"appended":true}`))
		valid.Metadata.Set("appended", "after the replayed entries")
		must(pub.Publish(stream, valid), "publish")
	}
	sub, err := redisstream.NewSubscriber(redisstream.SubscriberConfig{Client: rc, ConsumerGroup: group, Consumer: "consumer-1",
		BlockTime: 200 * time.Millisecond, DisableIndefiniteInitialBlock: true}, logger)
	must(err, "subscriber")
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	ch, err := sub.Subscribe(ctx, stream)
	must(err, "subscribe")
	received := []got{}
	for len(received) < want {
		select {
		case m, ok := <-ch:
			if !ok {
				cancel()
				continue
			}
			md := map[string]string{}
			for k, v := range m.Metadata {
				md[k] = base64.StdEncoding.EncodeToString([]byte(v))
			}
			received = append(received, got{m.UUID, md, base64.StdEncoding.EncodeToString(m.Payload)})
			m.Ack()
			continue
		case <-ctx.Done():
		}
		break
	}
	// Acks are sent by the subscriber's goroutine (not once its context is done): give the last
	// one a moment before stopping it.
	rc2 := client() // Close closes the subscriber's client
	defer rc2.Close()
	var pending *redis.XPending
	for i := 0; ; i++ {
		pending, err = rc2.XPending(context.Background(), stream, group).Result()
		must(err, "xpending")
		if pending.Count == 0 || i >= 20 {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	cancel()
	sub.Close()
	logger.mu.Lock()
	defer logger.mu.Unlock()
	errs := map[string]int{}
	for _, e := range logger.errors {
		errs[e]++
	}
	out, _ := json.Marshal(map[string]any{"received": received, "loggedErrors": errs, "pending": pending.Count})
	fmt.Println(string(out))
}
